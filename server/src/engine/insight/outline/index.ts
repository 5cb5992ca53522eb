import type { Mesh } from '../../meshes';
import type { Resource } from '../../resource';
import type { SourceFile } from '../../source/sourceFile';
import { admittedValue, locate, type Span } from '../../source/tree';
import type { Range } from '../../findings';
import { RULE_OUTLINERS as OUTLINERS } from '../../policyRules';
import type { CompiledForms } from '../../simulate/compiledForms';

/** A policy resource or one of its rules, where a lens goes and what text it covers. */
export interface OutlineItem {
  kind: 'policy' | 'rule';
  mesh: Mesh;
  file: string;
  label: string;
  /** The whole resource or rule. */
  span: Span;
  /** Its first line: where lenses and diagnostics go. */
  head: Range;
  /** For rules: the policy they belong to. */
  policyLabel?: string;
}

function firstLine(file: SourceFile, span: Span): Range {
  const start = file.lines.position(span.start);
  return { start, end: file.lines.position(Math.min(span.end, file.lines.lineEnd(start.line))) };
}

/** Policies and rules of one file, in the order written. With `forms`, a resource whose text
 * and place (line, character) are as in the last outline keeps its items, moved to its offset. */
export function outlineFile(file: SourceFile, resources: readonly Resource[], forms?: CompiledForms): OutlineItem[] {
  const items: OutlineItem[] = [];
  for (const resource of resources) {
    if (!forms) {
      items.push(...outlineResource(file, resource));
      continue;
    }
    const base = resource.node.span.start;
    const relative = forms.get(file, resource, 'outline', () => outlineResource(file, resource).map((item) => ({ ...item, span: { start: item.span.start - base, end: item.span.end - base } })));
    for (const item of relative) items.push({ ...item, span: { start: item.span.start + base, end: item.span.end + base } });
  }
  return items;
}

function outlineResource(file: SourceFile, resource: Resource): OutlineItem[] {
  const items: OutlineItem[] = [];
  const value = admittedValue(resource.node);
  const record = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const policyLabel = `${resource.kind} ${resource.namespace ? `${resource.namespace}/` : ''}${resource.name ?? '(unnamed)'}`;
  items.push({ kind: 'policy', mesh: resource.mesh, file: file.path, label: policyLabel, span: resource.node.span, head: firstLine(file, resource.node.span) });
  for (const rule of OUTLINERS[resource.mesh](resource, record)) {
    const node = locate(resource.node, rule.path).node;
    if (!node) continue;
    items.push({ kind: 'rule', mesh: resource.mesh, file: file.path, label: rule.label, span: node.span, head: firstLine(file, node.span), policyLabel });
  }
  return items;
}
