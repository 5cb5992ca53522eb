import { getEntry } from './source/tree';
import type { Resource } from './resource';
import type { PreparedFile } from './workspace';

/**
 * The text of a prepared file with one resource changed as a user's edit would change it: a
 * letter added to the name of a resource whose name is written as a plain or quoted scalar, and
 * an empty line added above that name, so that the resources after it move down a line (the
 * edit path of a new line, which keeps their compiled forms and moves what was filed there). The
 * editor runs its edit path on this text, then on the file's own text, before the user's first
 * edit (see `lsp/editRehearsal.ts`). Undefined when no resource has such a name.
 *
 * Which resource: without `reach`, the first such one. With it (how many loaded calls a change to
 * a resource would decide again), the one among the first `REHEARSAL_CANDIDATES` that reaches the
 * fewest calls but some, as a user's edit to one policy does; the first on a tie, and the first
 * when none reaches a call. A file often opens with a policy for the whole mesh (a root-namespace
 * policy, a Consul `*` intention): changing it decides every call again, twice per rehearsal,
 * which is no rehearsal of an edit and holds the server for seconds with 1M lines.
 */
export function rehearsalText(prepared: PreparedFile, reach?: (resource: Resource) => number): string | undefined {
  const { text } = prepared.file;
  let chosen: { at: number; reached: number } | undefined;
  let candidates = 0;
  for (const resource of prepared.recognition.resources) {
    const at = letterPlace(resource, text);
    if (at === undefined) continue;
    if (!reach) return withLetter(text, at);
    const reached = reach(resource);
    if (!chosen || (reached > 0 && (chosen.reached === 0 || reached < chosen.reached))) chosen = { at, reached };
    if (chosen.reached === 1 || ++candidates >= REHEARSAL_CANDIDATES) break;
  }
  return chosen && withLetter(text, chosen.at);
}

/** How many named resources `rehearsalText` weighs at most: the reach of each is a pass over the load's destination groups. */
export const REHEARSAL_CANDIDATES = 64;

/** Where the added letter goes in `resource`'s name: after a plain name, or inside the closing quote of a quoted one. */
function letterPlace(resource: Resource, text: string): number | undefined {
  const name = getEntry(getEntry(resource.node, 'metadata')?.value, 'name')?.value;
  if (name?.type !== 'scalar' || typeof name.value !== 'string' || !name.value) return undefined;
  const written = text.slice(name.span.start, name.span.end);
  if (name.style === 'plain' && written === name.value) return name.span.end;
  if ((name.style === 'double' || name.style === 'single') && written === quoted(name.value, name.style)) return name.span.end - 1;
  return undefined;
}

function withLetter(text: string, at: number): string {
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  // (on the first line, no empty line: it would go before a byte order mark or a JSON file's only line)
  const newLine = lineStart === 0 ? '' : '\n';
  return `${text.slice(0, lineStart)}${newLine}${text.slice(lineStart, at)}${REHEARSAL_LETTER}${text.slice(at)}`;
}

/** A letter a Kubernetes name may end with, so the changed resource stays valid. */
const REHEARSAL_LETTER = 'r';

/** How a name without escapes is written in quotes (a name with escapes is left alone). */
function quoted(value: string, style: 'double' | 'single'): string {
  return style === 'double' ? `"${value}"` : `'${value}'`;
}
