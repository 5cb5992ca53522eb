import type { Range } from '../../findings';
import type { Mesh } from '../../meshes';
import type { Resource } from '../../resource';
import type { SourceFile } from '../../source/sourceFile';
import { admittedValue, locate, type ObjectNode, type SourceNode, type Span } from '../../source/tree';
import { RULE_OUTLINERS } from '../../policyRules';

/** A rule, intention source, permission or authorization that can decide a call. */
export interface RuleCandidate {
  mesh: Mesh;
  file: string;
  /** The node's whole extent: a decision whose policy or rule starts inside it used it. */
  span: Span;
  range: Range;
  /** e.g. "AuthorizationPolicy shop/cart-from-frontend rules[1]". */
  label: string;
}

export type RiskKind = 'allow-all' | 'wildcard' | 'plaintext';

/** A risky pattern found in a policy's text (traffic-based risks are added by the model). */
export interface StaticRisk {
  kind: RiskKind;
  mesh: Mesh;
  file: string;
  range: Range;
  /** The policy, e.g. "AuthorizationPolicy shop/allow-all". */
  label: string;
  message: string;
}

/** What the audit needs to know of one mesh's policies, beyond the simulator's decisions. */
export interface AuditMeshModule {
  mesh: Mesh;
  /** The parts of a resource that decide calls, to find the ones no observed call used. */
  rules(file: SourceFile, resource: Resource): RuleCandidate[];
  risks(file: SourceFile, resource: Resource): StaticRisk[];
}

/** The child of an object node, by key, ignoring case (Consul accepts any key case). */
export function child(node: SourceNode | undefined, key: string): SourceNode | undefined {
  if (node?.type !== 'object') return undefined;
  const lower = key.toLowerCase();
  return node.entries.find((e) => e.key.toLowerCase() === lower)?.value;
}

export function items(node: SourceNode | undefined): SourceNode[] {
  return node?.type === 'array' ? node.items : [];
}

export function scalar(node: SourceNode | undefined): string | undefined {
  return node?.type === 'scalar' && node.value !== null ? String(node.value) : undefined;
}

export function strings(node: SourceNode | undefined): string[] {
  return items(node).map(scalar).filter((s): s is string => s !== undefined);
}

export function isEmptyObject(node: SourceNode | undefined): boolean {
  return node?.type === 'object' && node.entries.length === 0;
}

/** "Kind namespace/name" as the simulators label policies. */
export function policyLabel(resource: Resource): string {
  return `${resource.kind} ${resource.namespace ?? 'default'}/${resource.name ?? ''}`;
}

export function at(file: SourceFile, node: SourceNode | ObjectNode): { span: Span; range: Range } {
  return { span: node.span, range: file.lines.range(node.span) };
}

/** The resource's rules (`RULE_OUTLINERS`, shared with the editor), labelled after `label`. */
export function outlinedRules(file: SourceFile, resource: Resource, label: string): RuleCandidate[] {
  const value = admittedValue(resource.node) as Record<string, unknown>;
  const out: RuleCandidate[] = [];
  for (const rule of RULE_OUTLINERS[resource.mesh](resource, value)) {
    const node = locate(resource.node, rule.path).node;
    if (node) out.push({ mesh: resource.mesh, file: file.path, ...at(file, node), label: `${label} ${rule.label}` });
  }
  return out;
}
