/** FNV-1a step over a value; strings over 128 characters contribute their length, both ends and a
 * middle sample, which is enough for a hash that is always verified (shapes by `sameShape`, line
 * keys by their parts). */
export function mix(x: number, value: string | number | undefined | null): number {
  if (value === undefined) return Math.imul(x ^ 0x55, 16777619);
  if (value === null) return Math.imul(x ^ 0xaa, 16777619);
  if (typeof value === 'number') return Math.imul(x ^ (value | 0), 16777619);
  const n = value.length;
  x = Math.imul(x ^ n, 16777619);
  if (n <= 128) {
    for (let i = 0; i < n; i++) x = Math.imul(x ^ value.charCodeAt(i), 16777619);
  } else x = mixLongTail(x, value);
  return x;
}

/** The characters `mix` takes from a value over 128 characters (after its length). */
export function mixLongTail(x: number, value: string): number {
  const n = value.length;
  for (let i = 0; i < 48; i++) x = Math.imul(x ^ value.charCodeAt(i), 16777619);
  const mid = (n >> 1) - 16;
  for (let i = mid; i < mid + 32; i++) x = Math.imul(x ^ value.charCodeAt(i), 16777619);
  for (let i = n - 48; i < n; i++) x = Math.imul(x ^ value.charCodeAt(i), 16777619);
  return x;
}
