import { replaceScalar } from '../edits';
import type { Fix } from '../findings';
import type { NodePath, SourceNode } from '../source/tree';
import type { CheckContext } from './check';

/** Names that are plausible typos of names the workspace has, and the fix that writes the right one. */

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** The one candidate that is a plausible typo of `name` (case, or at most two edits for names
 * of five letters or more), or undefined when there is none or more than one. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const unique = [...new Set(candidates)].filter((c) => c !== name);
  const sameCase = unique.filter((c) => c.toLowerCase() === name.toLowerCase());
  if (sameCase.length === 1) return sameCase[0];
  if (sameCase.length > 1) return undefined;
  const limit = name.length >= 5 ? 2 : name.length >= 3 ? 1 : 0;
  if (limit === 0) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  let tie = false;
  const lower = name.toLowerCase();
  for (const candidate of unique) {
    // The distance is at least the difference in length: most candidates need no table.
    if (Math.abs(candidate.length - name.length) > limit) continue;
    const d = editDistance(lower, candidate.toLowerCase());
    if (d > limit) continue;
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
      tie = false;
    } else if (d === bestDistance) {
      tie = true;
    }
  }
  return tie ? undefined : best;
}

export function nodeAt(context: CheckContext, path: NodePath): SourceNode | undefined {
  return context.locate(path).node;
}

/** A fix that replaces the scalar at `path` (keeping its quoting). */
export function replaceFix(context: CheckContext, path: NodePath, value: unknown, title: string, preferred = true): Fix[] {
  const node = nodeAt(context, path);
  if (node?.type !== 'scalar') return [];
  return [{ title, edits: [replaceScalar(context.file, node, value)], ...(preferred ? { preferred: true } : {}) }];
}
