/**
 * Table rows that read the same become one: call shapes also differ by what a table does not
 * show (pod IPs, headers, ids in paths), and a person wants one row per thing they can tell
 * apart. `key` is what the row shows; `add` folds a later row into the first one with that key.
 * The editor's call lists and the audit report both merge their rows here, in first-seen order.
 */
export function mergeRows<T>(rows: Iterable<T>, key: (row: T) => string, add: (into: T, row: T) => void): T[] {
  const merged = new Map<string, T>();
  for (const row of rows) {
    const k = key(row);
    const seen = merged.get(k);
    if (seen) add(seen, row);
    else merged.set(k, row);
  }
  return [...merged.values()];
}
