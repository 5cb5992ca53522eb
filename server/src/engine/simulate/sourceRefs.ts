import type { Resource } from '../resource';
import type { SourceFile } from '../source/sourceFile';
import { getEntry, locate, type SourceNode } from '../source/tree';
import type { SourceRef } from './types';

/** The line a node starts on, as a range (rules are shown by their first line). */
export function firstLineRange(file: SourceFile, node: SourceNode): SourceRef['range'] {
  const start = file.lines.position(node.span.start);
  const lineEnd = file.lines.lineEnd(start.line);
  return { start, end: file.lines.position(Math.min(node.span.end, lineEnd)) };
}

/** A resource's place: its `metadata.name` value, else its `kind` value, else its first line. */
export function resourceRef(file: SourceFile, resource: Resource, label: string): SourceRef {
  const name = locate(resource.node, ['metadata', 'name']);
  const kindEntry = getEntry(resource.node, 'kind');
  const node = name.complete && name.node ? name.node : kindEntry?.value ?? resource.node;
  const range = node === resource.node ? firstLineRange(file, node) : file.lines.range(node.span);
  return { file: file.path, range, label };
}

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
