import { getEntry } from './source/tree';
import type { PreparedFile } from './workspace';

/**
 * The text of a prepared file with one resource changed as a user's edit would change it: a
 * letter added to the name of its first resource whose name is written as a plain or quoted
 * scalar. The editor runs its edit path on this text, then on the file's own text, before the
 * user's first edit (see `lsp/editRehearsal.ts`). Undefined when no resource has such a name.
 */
export function rehearsalText(prepared: PreparedFile): string | undefined {
  const { text } = prepared.file;
  for (const resource of prepared.recognition.resources) {
    const name = getEntry(getEntry(resource.node, 'metadata')?.value, 'name')?.value;
    if (name?.type !== 'scalar' || typeof name.value !== 'string' || !name.value) continue;
    const written = text.slice(name.span.start, name.span.end);
    // Where the added letter goes: after a plain name, or inside the closing quote of a quoted one.
    const at = name.style === 'plain' && written === name.value ? name.span.end
      : (name.style === 'double' || name.style === 'single') && written === quoted(name.value, name.style) ? name.span.end - 1
        : undefined;
    if (at !== undefined) return `${text.slice(0, at)}${REHEARSAL_LETTER}${text.slice(at)}`;
  }
  return undefined;
}

/** A letter a Kubernetes name may end with, so the changed resource stays valid. */
const REHEARSAL_LETTER = 'r';

/** How a name without escapes is written in quotes (a name with escapes is left alone). */
function quoted(value: string, style: 'double' | 'single'): string {
  return style === 'double' ? `"${value}"` : `'${value}'`;
}
