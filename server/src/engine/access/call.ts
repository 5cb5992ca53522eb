import type { ProjectConfig } from '../config/projectConfig';
import type { Mesh } from '../meshes';
import type { Simulation } from '../simulate';
import type { AccessRecord } from '../traffic/accessRecord';
import { recordFor } from '../traffic/writtenCall';
import type { AccessCaller, AccessDestination, AccessRequest } from './types';

/**
 * The call that asks a mesh about one cell of the map: the caller's identity (none: plaintext),
 * the destination and port, and the protocol only where the inventory declares it. A request
 * that may be HTTP says that its headers and token are not known (`recordedHeaders: []`,
 * `jwtUnknown`), and carries no method or path: a policy that reads any of them decides `unknown`.
 */
export function cellCall(mesh: Mesh, caller: AccessCaller, destination: AccessDestination, config: Pick<ProjectConfig, 'istio' | 'consul'>, simulation: Pick<Simulation, 'identityNamespace'>, asked?: AccessRequest): AccessRecord {
  // (a request asked about is HTTP, unless the port is declared TCP: then only the connection is decided)
  const request = destination.protocol !== 'tcp' && asked && (asked.method !== undefined || asked.path !== undefined) ? asked : undefined;
  const protocol = destination.protocol ?? (request ? 'http' : undefined);
  const record: AccessRecord = {
    observed: 'unknown',
    ...(protocol ? { protocol } : {}),
    ...(destination.port !== undefined || destination.service ? { destination: { ...(destination.port !== undefined ? { port: destination.port } : {}), ...(destination.service ? { service: destination.service } : {}) } } : {}),
    ...(destination.protocol !== 'tcp' ? { request: { ...(request?.method !== undefined ? { method: request.method } : {}), ...(request?.path !== undefined ? { path: request.path } : {}), recordedHeaders: [], jwtUnknown: true } } : {}),
    ...(caller.identity ? {} : { source: { principal: null } }),
  };
  return recordFor(
    { record, ...(caller.identity ? { caller: caller.identity } : {}), destination: { namespace: destination.namespace, name: destination.name } },
    mesh, config, (m, namespace) => simulation.identityNamespace(m, namespace),
  );
}

/** The callers of a mesh from its workloads' identities, each once, sorted, and the caller without identity last. */
export function identityCallers(workloads: ReadonlyArray<{ namespace: string; name: string; identity: string }>, plaintext: boolean): AccessCaller[] {
  const byKey = new Map<string, AccessCaller>();
  for (const w of workloads) {
    const key = `${w.namespace}/${w.identity}`;
    let caller = byKey.get(key);
    if (!caller) byKey.set(key, (caller = { key, identity: { namespace: w.namespace, name: w.identity }, workloads: [] }));
    caller.workloads.push(`${w.namespace}/${w.name}`);
  }
  const callers = [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
  if (plaintext) callers.push({ key: '-', workloads: [] });
  return callers;
}
