type Json = Record<string, unknown>;

/** Deep merge of an upstream table's base call and a case's call: plain objects merge, arrays and
 * scalars in `over` replace, and `null` deletes a key (except `principal`, where null means a
 * plaintext client). */
export function mergeCall(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = out[key];
    if (value === null && key !== 'principal') delete out[key];
    else if (value && typeof value === 'object' && !Array.isArray(value) && prior && typeof prior === 'object' && !Array.isArray(prior)) out[key] = mergeCall(prior as Json, value as Json);
    else out[key] = value;
  }
  return out;
}
