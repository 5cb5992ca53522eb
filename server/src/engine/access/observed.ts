import type { Mesh } from '../meshes';
import type { AccessRecord } from '../traffic/accessRecord';
import { parsePrincipal } from '../traffic/ingest/identity';
import type { TrafficShape } from '../traffic/ingest/types';
import type { AccessCell, AccessDestination, AccessMap, MeshAccess, ObservedAccess } from './types';

/** Calls the logs hold that no cell of the map stands for, by reason. */
export interface UnmappedCalls {
  calls: number;
  reasons: Record<string, number>;
}

/**
 * The map with what the logs show in each cell (`AccessCell.observed`): who may call what set
 * against who did. A call counts in the cell of its caller's identity (`-` for plaintext) and
 * its destination workload and port (Consul: its service). A call whose caller the log does not
 * identify, or whose destination is not in the map, is counted apart with the reason.
 */
export function withObserved(map: AccessMap, shapes: readonly TrafficShape[], meshOf: (record: AccessRecord) => Mesh | undefined): { map: AccessMap; unmapped: UnmappedCalls } {
  const cells = new Map<string, AccessCell & { observed: ObservedAccess }>();
  const rows = new Set<string>();
  // (each mesh keys its callers its own way: a call's caller is found by its identity)
  const callerKeys = new Map<string, string>();
  for (const m of map.meshes) for (const c of m.callers) if (c.identity) callerKeys.set(`${m.mesh}\u0000${c.identity.namespace}/${c.identity.name}`, c.key);
  const meshes = map.meshes.map((m) => ({
    ...m,
    rows: m.rows.map((row) => {
      rows.add(`${m.mesh}\u0000${row.destination.key}`);
      return {
        ...row,
        cells: row.cells.map((cell) => {
          const annotated = { ...cell, observed: { calls: 0, allowed: 0, denied: 0 } };
          cells.set(`${m.mesh}\u0000${row.destination.key}\u0000${cell.caller}`, annotated);
          return annotated;
        }),
      };
    }),
  }));
  const unmapped: UnmappedCalls = { calls: 0, reasons: {} };
  const skip = (count: number, reason: string) => {
    unmapped.calls += count;
    unmapped.reasons[reason] = (unmapped.reasons[reason] ?? 0) + count;
  };
  for (const { record, count } of shapes) {
    const mesh = meshOf(record);
    if (!mesh) { skip(count, 'the mesh is not known'); continue; }
    const identity = callerIdentity(record, mesh);
    if (identity === undefined) { skip(count, 'the log does not identify the caller'); continue; }
    const caller = identity === '-' ? '-' : callerKeys.get(`${mesh}\u0000${identity.namespace}/${identity.name}`);
    const destination = destinationKeys(record, mesh).find((key) => rows.has(`${mesh}\u0000${key}`));
    if (destination === undefined) { skip(count, 'the destination is not in the map'); continue; }
    const cell = caller === undefined ? undefined : cells.get(`${mesh}\u0000${destination}\u0000${caller}`);
    if (!cell) { skip(count, 'the caller is not in the map'); continue; }
    cell.observed.calls += count;
    if (record.observed === 'allowed') cell.observed.allowed += count;
    else if (record.observed === 'denied') cell.observed.denied += count;
  }
  return { map: { ...map, meshes }, unmapped };
}

/** A call's caller: its identity in the mesh (a service account, a Consul service), `-` without one (a missing or null principal is plaintext, docs/access-records.md), undefined when the log does not say. */
function callerIdentity(record: AccessRecord, mesh: Mesh): { namespace: string; name: string } | '-' | undefined {
  const source = record.source;
  if (!source || source.principalUnknown) return undefined;
  const principal = source.principal;
  if (principal === null || principal === undefined || principal === '') return '-';
  const parts = parsePrincipal(principal);
  if (!parts || parts.mesh !== mesh) return undefined;
  const name = mesh === 'consul' ? parts.service : parts.serviceAccount;
  return name === undefined ? undefined : { namespace: parts.namespace, name };
}

/** The keys a row of the map may have for the call's destination, most precise first. */
function destinationKeys(record: AccessRecord, mesh: Mesh): string[] {
  const d = record.destination;
  if (!d) return [];
  if (mesh === 'consul') {
    const service = d.service?.split('.')[0] ?? d.workload;
    return service ? [service, `${d.namespace ?? 'default'}/${service}`] : [];
  }
  if (!d.namespace || !d.workload) return [];
  const base = `${d.namespace}/${d.workload}`;
  return d.port !== undefined ? [`${base}:${d.port}`, base] : [base];
}

/** The caller identities the logs show, per mesh, as `AccessFilter.moreCallers` takes them. */
export function observedCallers(shapes: readonly TrafficShape[], meshOf: (record: AccessRecord) => Mesh | undefined): Partial<Record<Mesh, Array<{ namespace: string; name: string }>>> {
  const out: Partial<Record<Mesh, Map<string, { namespace: string; name: string }>>> = {};
  for (const { record } of shapes) {
    const mesh = meshOf(record);
    const identity = mesh && callerIdentity(record, mesh);
    if (!mesh || !identity || identity === '-') continue;
    (out[mesh] ??= new Map()).set(`${identity.namespace}/${identity.name}`, identity);
  }
  return Object.fromEntries(Object.entries(out).map(([mesh, identities]) => [mesh, [...identities.values()]]));
}

/** One line on the calls of the logs that are in no cell, by reason, most first. */
export function unmappedNote(unmapped: UnmappedCalls): string {
  const reasons = Object.entries(unmapped.reasons).sort(([, a], [, b]) => b - a).map(([why, n]) => `${n} ${why}`).join(', ');
  return `${unmapped.calls} calls in the logs are in no cell: ${reasons}`;
}

/** An allowed cell, with its destination. */
export interface AllowedCell {
  destination: AccessDestination;
  cell: AccessCell;
}

/**
 * With traffic: of a mesh's cells, those allowed whatever the request that no call in the logs
 * used (the least-privilege candidates), how many are allowed, and how many any call used.
 * Undefined when the map was not set against traffic.
 */
export function accessUsage(mesh: MeshAccess): { unused: AllowedCell[]; allowed: number; called: number } | undefined {
  if (!mesh.rows.some((r) => r.cells.some((c) => c.observed))) return undefined;
  const unused: AllowedCell[] = [];
  let allowed = 0;
  let called = 0;
  for (const row of mesh.rows) {
    for (const cell of row.cells) {
      if (cell.observed?.calls) called++;
      if (cell.verdict !== 'allow') continue;
      allowed++;
      if (!cell.observed?.calls) unused.push({ destination: row.destination, cell });
    }
  }
  return { unused, allowed, called };
}
