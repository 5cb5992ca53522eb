import { sep } from 'node:path';

/**
 * A listing's places (`<absolute path>:<line>`) inside a workspace folder written relative to the
 * folder (`policy/servers.yaml:3`), as the editor's other views name files. Not links: the
 * markdown preview these listings open in renders no `file:` link (it shows the markdown source
 * of one). A place inside a code span stays as it is.
 */
export function relativePlaces(markdown: string, roots: readonly string[]): string {
  if (!roots.length) return markdown;
  const prefixes = roots.map((root) => (root.endsWith(sep) ? root : root + sep)).sort((a, b) => b.length - a.length);
  const pattern = new RegExp(`(\`[^\`\\n]*\`)|(?<![\\w.~/-])(?:${prefixes.map(escapeRegExp).join('|')})([^\\s()\\[\\]|\`<>]+?:\\d+)(?![\\w/])`, 'g');
  return markdown.replace(pattern, (whole: string, code: string | undefined, place: string) => (code !== undefined ? whole : place));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
