import type { Mesh } from '../../meshes';
import type { Resource } from '../../resource';
import type { SourceFile } from '../../source/sourceFile';
import { admittedValue, locate, type Span } from '../../source/tree';
import { rangeMovedBy, type Range } from '../../findings';
import { RULE_OUTLINERS as OUTLINERS } from '../../policyRules';
import type { CompiledForms } from '../../simulate/compiledForms';
import { keyMovedBy, positionKey } from '../decidedIndex';

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

/** A file's outline, with each item's span as position keys (see `PositionIndex`). */
export interface FileOutline {
  file: SourceFile;
  /** The items, in the order written (built when first asked for: only hovers and lenses need their spans). */
  readonly items: OutlineItem[];
  /** The same items with their spans measured from their resource's start (kept from outline
   * to outline): all but the span as in `items`. */
  local: OutlineItem[];
  keys: { from: number; to: number }[];
  policyLabels: Set<string>;
  /** Per item: a policy with a rule item inside (its rules get the unused-rule hints, not it). */
  hasRules: boolean[];
}

/** One resource's outline as kept in the compiled forms: spans from the resource's start, and the
 * position keys and first lines (a form is found by start line and character and text; a form
 * taken over by the same text at another line is moved: `moveOutline`). */
interface ResourceOutline {
  relative: OutlineItem[];
  keys: { from: number; to: number }[];
  hasRules: boolean;
  /** The items at the offset last asked for: a resource before the edited one keeps its offset. */
  placed?: { base: number; items: OutlineItem[] };
}

/** Policies and rules of one file, in the order written, with position keys. A resource whose
 * text and place (line, character) are as in the last outline keeps its items, moved to its
 * offset when asked for (the same objects while the offset is the same too). */
export function outlineWithKeys(file: SourceFile, resources: readonly Resource[], forms: CompiledForms): FileOutline {
  const placedForms: { form: ResourceOutline; base: number }[] = [];
  const local: OutlineItem[] = [];
  const keys: { from: number; to: number }[] = [];
  const policyLabels = new Set<string>();
  const hasRules: boolean[] = [];
  for (const resource of resources) {
    const base = resource.node.span.start;
    const form = forms.get(file, resource, 'outline', (): ResourceOutline => {
      const items = outlineResource(file, resource);
      return {
        relative: items.map((item) => moved(item, -base)),
        keys: items.map((item) => ({ from: positionKey(file.lines.position(item.span.start)), to: positionKey(file.lines.position(item.span.end)) })),
        hasRules: items.some((item) => item.kind === 'rule'),
      };
    }, moveOutline);
    placedForms.push({ form, base });
    // The policy comes first, then its rules, which lie inside it.
    form.relative.forEach((item, i) => {
      local.push(item);
      hasRules.push(i === 0 && form.hasRules);
    });
    for (const key of form.keys) keys.push(key);
    policyLabels.add(form.relative[0]!.label);
  }
  let items: OutlineItem[] | undefined;
  return {
    file, local, keys, policyLabels, hasRules,
    get items() {
      if (items) return items;
      items = [];
      for (const { form, base } of placedForms) {
        let placed = form.placed;
        if (placed?.base !== base) form.placed = placed = { base, items: form.relative.map((item) => moved(item, base)) };
        for (const item of placed.items) items.push(item);
      }
      return items;
    },
  };
}

/** A kept outline taken over by the same text `lines` further down: new keys and items (earlier outlines keep theirs). */
function moveOutline(form: ResourceOutline, lines: number): void {
  form.keys = form.keys.map(({ from, to }) => ({ from: keyMovedBy(from, lines), to: keyMovedBy(to, lines) }));
  form.relative = form.relative.map((item) => withHead(item, rangeMovedBy(item.head, lines)));
  form.placed = undefined;
}

/** The item with its span moved by `by`. */
function moved(item: OutlineItem, by: number): OutlineItem {
  return itemWith(item, { start: item.span.start + by, end: item.span.end + by }, item.head);
}

function withHead(item: OutlineItem, head: Range): OutlineItem {
  return itemWith(item, item.span, head);
}

/** A copy of the item with another span and first line, written out field by field (a spread of every resource's items on each edit cost more). */
function itemWith(item: OutlineItem, span: Span, head: Range): OutlineItem {
  return item.policyLabel === undefined
    ? { kind: item.kind, mesh: item.mesh, file: item.file, label: item.label, span, head }
    : { kind: item.kind, mesh: item.mesh, file: item.file, label: item.label, span, head, policyLabel: item.policyLabel };
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
