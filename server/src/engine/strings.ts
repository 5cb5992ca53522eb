/**
 * A copy of a string that does not refer to the text it was cut from. Strings cut out of a line
 * are V8 "sliced strings" that keep the whole chunk of input they were cut from alive. V8 copies
 * strings under 13 characters; for longer ones the concatenation is flattened into a new string
 * before slicing.
 */
export function copyString(value: string): string {
  return value.length < 13 ? value : (` ${value}`).slice(1);
}

/** Whether two lists of strings hold the same strings in the same order (both absent alike). */
export function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const DNS_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** Whether `text` is a DNS name in lower case (dot-separated labels): a trust domain, and without dots a namespace. */
export function isDnsName(text: string): boolean {
  return DNS_NAME.test(text);
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** The text with its control characters written as `\xHH`: what a log line says is shown, never
 * acted on by a terminal (an escape sequence in a path) or split over lines. */
export function visibleText(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
