import type { SourceRef } from './types';

/** Whether two refs name the same policy or rule, written at the same place (a recompile makes new ref objects). */
export function sameRef(a: SourceRef | undefined, b: SourceRef | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.file !== b.file || a.label !== b.label) return false;
  const r = a.range;
  const s = b.range;
  return r.start.line === s.start.line && r.start.character === s.start.character && r.end.line === s.end.line && r.end.character === s.end.character;
}

interface Deciders {
  policy?: SourceRef;
  rule?: SourceRef;
  passed?: { policy: SourceRef; rule?: SourceRef };
}

/** Whether two decisions (or charges) name the same policy and rule (and passed the same one before), written at the same place. */
export function sameDeciders(a: Deciders, b: Deciders): boolean {
  return sameRef(a.policy, b.policy) && sameRef(a.rule, b.rule) && sameRef(a.passed?.policy, b.passed?.policy) && sameRef(a.passed?.rule, b.passed?.rule);
}
