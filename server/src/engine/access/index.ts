import { MESH_NAME, workspaceAuthz } from '../authz';
import type { WorkspaceView } from '../checks/check';
import type { WorkloadInfo } from '../inventory/inventory';
import type { Mesh } from '../meshes';
import type { Simulation } from '../simulate';
import type { Verdict } from '../simulate/types';
import { consulAccessSpace } from './consul';
import { istioAccessSpace } from './istio';
import { linkerdAccessSpace } from './linkerd';
import type { Pace } from '../pace';
import type { AccessRecord } from '../traffic/accessRecord';
import type { AccessCaller, AccessCell, AccessFilter, AccessMap, AccessRequest, AccessRow, MeshAccess, MeshAccessSpace } from './types';

export * from './types';
export { accessMarkdown, accessText, cellWhy, changesMarkdown, changesText } from './render';
export { observedCallers, unmappedNote, withObserved, type UnmappedCalls } from './observed';
import { observedCallers, unmappedNote, withObserved } from './observed';
import type { TrafficShape } from '../traffic/ingest/types';

/**
 * The access map of the workspace: per mesh with policies in it, every caller against every
 * destination port, decided by `simulation` (built from the same workspace). The workloads of
 * the inventory that no mesh with policies here enrolls (no proxy injected, not ambient, not
 * connect-injected) are listed in the notes: nothing checks the calls they receive.
 */
export function accessMap(workspace: WorkspaceView, simulation: Simulation, filter: AccessFilter = {}): AccessMap {
  const steps = mapSteps(workspace, simulation, filter);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** `accessMap` for the language server: the event loop gets turns between rows, and a cancelled `pace` stops it. */
export async function accessMapPaced(workspace: WorkspaceView, simulation: Simulation, filter: AccessFilter, pace: Pace): Promise<AccessMap> {
  const steps = mapSteps(workspace, simulation, filter);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await pace.turn();
  }
}

/** The largest access map the audit report builds for its "granted and never used" section (a few seconds). */
export const REPORT_MAX_ACCESS_CELLS = 250_000;

/**
 * The map set against observed traffic (`access --traffic`, the editor with traffic loaded, the
 * audit report): the callers the calls show (`filter.moreCallers`, else read from `shapes`) are mapped besides the inventory's, each cell counts
 * its calls, and the calls in no cell are named in a note. With `pace`, built in slices.
 */
export async function accessAgainstTraffic(workspace: WorkspaceView, simulation: Simulation, shapes: readonly TrafficShape[], filter: AccessFilter = {}, pace?: Pace): Promise<AccessMap> {
  const meshOf = (record: AccessRecord) => simulation.meshOf(record);
  const withCallers = { ...filter, moreCallers: filter.moreCallers ?? observedCallers(shapes, meshOf) };
  const map = pace ? await accessMapPaced(workspace, simulation, withCallers, pace) : accessMap(workspace, simulation, withCallers);
  if (map.tooLarge) return map;
  const observed = withObserved(map, shapes, meshOf);
  if (observed.unmapped.calls) observed.map.notes.push(unmappedNote(observed.unmapped));
  return observed.map;
}

/**
 * The map, built in steps: everything it reads of the workspace (enrollment, callers,
 * destinations) is read before the first step, so a map built in slices is of one workspace
 * state; it yields after each row decided (by `simulation`, compiled before).
 */
function* mapSteps(workspace: WorkspaceView, simulation: Simulation, filter: AccessFilter): Generator<void, AccessMap> {
  const notes: string[] = [];
  // Which mesh enrolls a workload is what its `authz` listings say (kept per workspace state, as
  // the editor's policy lenses read them).
  const authz = workspaceAuthz(workspace);
  const meshesWithPolicies = authz.meshes;
  const enrolled = new Map<Mesh, WorkloadInfo[]>();
  const outside: string[] = [];
  const seen = new Set<string>();
  for (const w of authz.workloads()) {
    const key = `${w.namespace}/${w.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const meshes = authz.list({ namespace: w.namespace, name: w.name }).listings.filter((l) => l.enrolled).map((l) => l.mesh);
    for (const mesh of meshes) {
      if (mesh === 'consul') continue;
      let list = enrolled.get(mesh);
      if (!list) enrolled.set(mesh, (list = []));
      list.push(w);
    }
    if (!meshes.length && meshesWithPolicies.some((m) => m !== 'consul')) outside.push(key);
  }
  if (outside.length) notes.push(`not in a mesh (no proxy injected, not ambient): nothing checks the calls to ${outside.join(', ')}`);

  const spaces: MeshAccessSpace[] = [];
  for (const mesh of meshesWithPolicies) {
    if (filter.meshes && !filter.meshes.includes(mesh)) continue;
    if (mesh === 'istio') spaces.push(istioAccessSpace(workspace, simulation, enrolled.get('istio') ?? []));
    if (mesh === 'linkerd') spaces.push(linkerdAccessSpace(workspace, simulation, enrolled.get('linkerd') ?? []));
    if (mesh === 'consul') spaces.push(consulAccessSpace(workspace, simulation));
  }
  const meshes: MeshAccess[] = [];
  const chosen = spaces.map((space) => ({
    space,
    callers: withMoreCallers(space, filter.moreCallers?.[space.mesh]).filter((c) => matchesFilter(filter.from, c.key, c.identity)),
    destinations: space.destinations().filter((d) => matchesFilter(filter.to, d.key, d)),
  }));
  const cells = chosen.reduce((sum, c) => sum + c.callers.length * c.destinations.length, 0);
  if (filter.maxCells !== undefined && cells > filter.maxCells) {
    return { meshes, notes: [...notes, `${cells} cells (callers × destination ports) is more than ${filter.maxCells}: narrow the map to some callers or destinations`], tooLarge: true };
  }
  // Calls the policies cannot tell apart (the same destination view, the same values of what its
  // policies read: often every caller of a port no policy names) are decided once (`Simulation.folded`).
  const decide = simulation.folded();
  for (const { space, callers, destinations } of chosen) {
    if (!callers.length || !destinations.length) {
      const none = !callers.length ? (filter.from ? `no caller matches --from ${filter.from}` : 'no caller identity in the inventory') : filter.to ? `no destination matches --to ${filter.to}` : 'no workload of the inventory is in the mesh';
      notes.push(`${MESH_NAME[space.mesh]}: ${none}`);
      continue;
    }
    const rows: AccessRow[] = [];
    for (const destination of destinations) {
      rows.push({ destination, cells: callers.map((caller): AccessCell => {
        const decision = decide(space.call(caller, destination, filter.request));
        return {
          caller: caller.key, verdict: decision.verdict, reason: decision.reason,
          ...(decision.verdict === 'unknown' && decision.missing?.length ? { needs: [...decision.missing] } : {}),
          ...(decision.policy ? { policy: decision.policy } : {}),
          ...(decision.rule ? { rule: decision.rule } : {}),
        };
      }) });
      yield;
    }
    meshes.push({ mesh: space.mesh, callers, rows });
  }
  return { meshes, notes, ...(filter.request ? { request: filter.request } : {}) };
}

/** The space's callers and the identities given besides, each once, sorted, `-` last. */
function withMoreCallers(space: MeshAccessSpace, more: ReadonlyArray<{ namespace: string; name: string }> | undefined): AccessCaller[] {
  const callers = space.callers();
  if (!more?.length) return callers;
  const byKey = new Map(callers.map((c) => [c.key, c]));
  for (const identity of more) {
    const caller = space.caller(identity);
    if (!byKey.has(caller.key)) byKey.set(caller.key, caller);
  }
  return [...byKey.values()].sort((a, b) => (a.key === '-' ? 1 : b.key === '-' ? -1 : a.key.localeCompare(b.key)));
}

/** `GET /admin`, `/admin` or `DELETE`: the method in upper case, the path from its /; or what is wrong, as a phrase. */
export function parseAccessRequest(text: string): AccessRequest | string {
  const request: AccessRequest = {};
  for (const token of text.trim().split(/\s+/).filter((t) => t !== '')) {
    if (token.startsWith('/') && request.path === undefined) request.path = token;
    else if (/^[A-Z]+$/.test(token) && request.method === undefined && request.path === undefined) request.method = token;
    else return `must be [METHOD] [/path], e.g. "GET /admin" (got "${text}")`;
  }
  if (request.method === undefined && request.path === undefined) return 'needs a method, a path or both, e.g. "GET /admin"';
  return request;
}

/** `namespace` matches a namespace (or a Consul service named so without namespaces), `namespace/name` one workload or service, `-` the caller without identity. */
function matchesFilter(filter: string | undefined, key: string, named: { namespace: string; name: string } | undefined): boolean {
  if (filter === undefined) return true;
  if (filter === '-') return key === '-';
  if (!named) return false;
  if (filter.includes('/')) return filter === `${named.namespace}/${named.name}` || filter === key;
  return filter === named.namespace || (!key.includes('/') && filter === key);
}

/** How a change of one cell moves access: `opened` (more calls may pass), `closed` (fewer), `changed` (as open, decided otherwise). */
export type AccessDirection = 'opened' | 'closed' | 'changed';

export interface AccessChange {
  mesh: Mesh;
  caller: string;
  destination: string;
  before: AccessCell | undefined;
  after: AccessCell | undefined;
  direction: AccessDirection;
}

// deny passes nothing, allow everything; a verdict that depends on the request or on a provider lies between
const OPENNESS: Record<Verdict, number> = { deny: 0, unknown: 1, external: 1, allow: 2 };

/**
 * The cells whose verdict differs between two maps of the same inventory (`before`: the policies
 * at a git ref), opened first. A cell on one side only (a destination or caller that exists at
 * one side) counts as denied on the other.
 */
export function compareAccess(before: AccessMap, after: AccessMap): AccessChange[] {
  const cells = (map: AccessMap) => {
    const out = new Map<string, { mesh: Mesh; caller: string; destination: string; cell: AccessCell }>();
    for (const m of map.meshes) for (const row of m.rows) for (const cell of row.cells) out.set(`${m.mesh}\u0000${cell.caller}\u0000${row.destination.key}`, { mesh: m.mesh, caller: cell.caller, destination: row.destination.key, cell });
    return out;
  };
  const was = cells(before);
  const now = cells(after);
  const changes: AccessChange[] = [];
  for (const key of new Set([...was.keys(), ...now.keys()])) {
    const a = was.get(key);
    const b = now.get(key);
    const from = a?.cell.verdict ?? 'deny';
    const to = b?.cell.verdict ?? 'deny';
    if (from === to && sameNeeds(a?.cell, b?.cell)) continue;
    const where = (b ?? a)!;
    const direction: AccessDirection = OPENNESS[to] > OPENNESS[from] ? 'opened' : OPENNESS[to] < OPENNESS[from] ? 'closed' : 'changed';
    changes.push({ mesh: where.mesh, caller: where.caller, destination: where.destination, before: a?.cell, after: b?.cell, direction });
  }
  const order: Record<AccessDirection, number> = { opened: 0, changed: 1, closed: 2 };
  return changes.sort((x, y) => order[x.direction] - order[y.direction] || x.mesh.localeCompare(y.mesh) || x.destination.localeCompare(y.destination) || x.caller.localeCompare(y.caller));
}

function sameNeeds(a: AccessCell | undefined, b: AccessCell | undefined): boolean {
  return (a?.needs ?? []).join() === (b?.needs ?? []).join();
}
