import { kubernetesName, numberedName } from '../audit/generate/yaml';
import type { WorkspaceView } from '../checks/check';
import type { Engine } from '../engine';
import type { Fix, Range } from '../findings';
import type { Mesh } from '../meshes';
import type { Resource } from '../resource';
import type { ShapeOutcome } from '../simulate';
import type { Decision, SourceRef } from '../simulate/types';
import type { SourceFile } from '../source/sourceFile';
import { admittedValue, locate, nodeAt as treeNodeAt, type NodePath, type SourceNode } from '../source/tree';
import type { AccessRecord } from '../traffic/accessRecord';
import { decideWithFix } from './verify';

export type TrafficFixKind = 'allow' | 'narrow' | 'deny' | 'dry-run' | 'enforce' | 'audit' | 'create-authentication' | 'add-source';

/** A fix that edits one file (not necessarily the one the cursor is in). */
export interface TrafficFix extends Fix {
  kind: TrafficFixKind;
  /** The file the edits apply to. */
  file: string;
  /** The resources the fix adds (`newResource`). */
  creates?: NewResource[];
}

/** A resource a fix adds: what its name must not collide with (same mesh, kind and namespace). */
export interface NewResource {
  mesh: Mesh;
  kind: string;
  namespace: string | undefined;
  name: string;
  /** The name before `newResource` numbered it (`-2`, `-3`…): fixes that differ only in that number are the same fix. */
  unnumbered?: string;
}

/** What a per-fix function found: the fixes that work, and why others are not offered. */
export interface TrafficFixResult {
  fixes: TrafficFix[];
  notOffered: string[];
}

export interface FixContext {
  engine: Engine;
  workspace: WorkspaceView;
  /** Every simulated call: narrowing looks at what a wildcard matched. */
  outcomes: readonly ShapeOutcome[];
  /** The resources that fixes already offered in the same list add: a later fix names its own otherwise. */
  offered?: NewResource[];
}

export interface Located {
  file: SourceFile;
  resource: Resource;
}

/** One mesh's way to build each traffic fix; the shared entry point picks the module by mesh. */
export interface MeshTrafficFixes {
  mesh: Mesh;
  /** Allow a denied call: widen the closest rule, or add a rule/policy. */
  allowCall(context: FixContext, outcome: ShapeOutcome): TrafficFixResult;
  /** Deny one allowed call. */
  denyCall(context: FixContext, outcome: ShapeOutcome): TrafficFixResult;
  /** Replace the wildcard at `range` by the values observed through it. */
  narrowWildcard(context: FixContext, file: SourceFile, range: Range): TrafficFixResult;
  /** Dry-run (Istio) or audit (Linkerd) for the policy at `range`. */
  shadowPolicy(context: FixContext, file: SourceFile, range: Range): TrafficFixResult;
}

export const empty = (): TrafficFixResult => ({ fixes: [], notOffered: [] });

export function notOffered(reason: string): TrafficFixResult {
  return { fixes: [], notOffered: [reason] };
}

export function merge(...results: TrafficFixResult[]): TrafficFixResult {
  return { fixes: results.flatMap((r) => r.fixes), notOffered: results.flatMap((r) => r.notOffered) };
}

/** The plain value at a path inside a resource (null fields dropped). */
export function valueAt(resource: Resource, path: NodePath): unknown {
  const found = locate(resource.node, path);
  return found.complete && found.node ? admittedValue(found.node) : undefined;
}

export function nodeAt(resource: Resource, path: NodePath): SourceNode | undefined {
  const found = locate(resource.node, path);
  return found.complete ? found.node : undefined;
}

export function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function resourcesOf(workspace: WorkspaceView, mesh: Mesh, ...kinds: string[]): Located[] {
  return workspace.resources.filter((r) => r.resource.mesh === mesh && kinds.includes(r.resource.kind)).map((r) => ({ file: r.file, resource: r.resource }));
}

/** The resource a SourceRef points into. */
export function resourceAtRef(workspace: WorkspaceView, ref: SourceRef | undefined): Located | undefined {
  if (!ref) return undefined;
  return resourceAtRange(workspace, ref.file, ref.range);
}

export function resourceAtRange(workspace: WorkspaceView, path: string, range: Range): Located | undefined {
  let best: Located | undefined;
  for (const r of workspace.resources) {
    if (r.file.path !== path) continue;
    const offset = r.file.lines.offset(range.start);
    const { start, end } = r.resource.node.span;
    if (offset < start || offset > end) continue;
    if (!best || start >= best.resource.node.span.start) best = { file: r.file, resource: r.resource };
  }
  return best;
}

export function contains(outer: Range, inner: Range): boolean {
  const before = (a: Range['start'], b: Range['start']) => a.line < b.line || (a.line === b.line && a.character <= b.character);
  return before(outer.start, inner.start) && before(inner.end, outer.end);
}

export function overlaps(a: Range, b: Range): boolean {
  const before = (x: Range['start'], y: Range['start']) => x.line < y.line || (x.line === y.line && x.character < y.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}

/** The request path as policies compare it: without the query string. */
export function pathOf(record: AccessRecord): string | undefined {
  const path = record.request?.path;
  return path === undefined ? undefined : path.split('?')[0]!;
}

export function isHttp(record: AccessRecord): boolean {
  return record.protocol !== 'tcp' && record.request?.method !== undefined;
}

/** A short description of a call for fix titles. */
/** `caller → destination METHOD path` (or `:port`); a mesh may name the caller its own way. */
export function describeCall(record: AccessRecord, source = record.source?.principal ?? record.source?.service ?? (record.source?.workload ? `${record.source.namespace ?? '?'}/${record.source.workload}` : record.source?.ip ?? 'an unknown caller')): string {
  const destination = record.destination?.workload ?? record.destination?.service ?? record.destination?.ip ?? '?';
  const request = record.request?.method ? ` ${record.request.method} ${pathOf(record) ?? ''}`.trimEnd() : record.destination?.port ? `:${record.destination.port}` : '';
  return `${source} → ${destination}${request}`;
}

/** The fix if the calls, decided again with it applied, come out as `expect` says. */
export function verified(context: FixContext, file: SourceFile, fix: TrafficFix, calls: AccessRecord[], expect: (after: Decision, index: number) => boolean): TrafficFix | undefined {
  try {
    const after = decideWithFix(context.engine, context.workspace, file, fix, calls);
    return after.every(expect) ? fix : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A name for a resource a fix adds: `wanted` as a Kubernetes name (lower case, `-`, at most 50
 * characters), with `-2`, `-3`… when the workspace has a resource of that mesh, kind and namespace
 * by that name, or a fix offered in the same list adds one (`context.offered`).
 */
export function freshName(context: Pick<FixContext, 'workspace' | 'offered'>, resource: Omit<NewResource, 'name'>, wanted: string): string {
  return newResource(context, resource, wanted).name;
}

/** The resource a fix adds, named by `freshName`'s rule: what the fix's `creates` lists. */
export function newResource(context: Pick<FixContext, 'workspace' | 'offered'>, resource: Omit<NewResource, 'name' | 'unnumbered'>, wanted: string): NewResource {
  const same = (r: { mesh: Mesh; kind: string; namespace?: string | undefined }) => r.mesh === resource.mesh && r.kind === resource.kind && r.namespace === resource.namespace;
  const taken = new Set(context.workspace.resources.filter((r) => same(r.resource)).map((r) => r.resource.name));
  for (const offered of context.offered ?? []) if (same(offered)) taken.add(offered.name);
  const unnumbered = kubernetesName(wanted);
  return { ...resource, name: numberedName(unnumbered, taken), unnumbered };
}

/**
 * The whole node a SourceRef names. Refs point at a key or a name (a rule's first key, a
 * policy's metadata.name); the rule is the list item around it, the policy the resource.
 */
export function refExtent(workspace: WorkspaceView, ref: SourceRef): Range {
  const located = resourceAtRef(workspace, ref);
  if (!located) return ref.range;
  const { file, resource } = located;
  const { path } = treeNodeAt(resource.node, file.lines.offset(ref.range.start));
  let last = -1;
  path.forEach((segment, i) => { if (typeof segment === 'number') last = i; });
  const node = last < 0 ? resource.node : nodeAt(resource, path.slice(0, last + 1));
  return node ? file.lines.range(node.span) : ref.range;
}

/** Outcomes that a rule or policy decided. */
export function decidedBy(outcomes: readonly ShapeOutcome[], file: string, range: Range): ShapeOutcome[] {
  return outcomes.filter((o) => {
    const ref = o.decision.rule ?? o.decision.policy;
    return ref?.file === file && (contains(ref.range, range) || contains(range, ref.range));
  });
}

export function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}
