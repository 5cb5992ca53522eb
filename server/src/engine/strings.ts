/**
 * A copy of a string that does not refer to the text it was cut from. Strings cut out of a line
 * are V8 "sliced strings" that keep the whole chunk of input they were cut from alive. V8 copies
 * strings under 13 characters; for longer ones the concatenation is flattened into a new string
 * before slicing.
 */
export function copyString(value: string): string {
  return value.length < 13 ? value : (` ${value}`).slice(1);
}
