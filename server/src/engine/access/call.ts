import type { ProjectConfig } from '../config/projectConfig';
import type { Mesh } from '../meshes';
import type { Simulation } from '../simulate';
import type { AccessRecord } from '../traffic/accessRecord';
import { recordFor } from '../traffic/writtenCall';
import type { AccessCaller, AccessDestination, AccessRequest } from './types';

/**
 * The calls that ask a mesh about the cells of the map: the caller's identity (none: plaintext),
 * the destination and port, and the protocol only where the inventory declares it. A request
 * that may be HTTP says that its headers and token are not known (`recordedHeaders: []`,
 * `jwtUnknown`), and carries no method or path unless one is asked about: a policy that reads
 * any of them decides `unknown`. A caller's source and a destination's fields are built once and
 * shared by the records of their cells (the simulators only read records).
 */
export class CellCalls {
  private readonly sources = new Map<AccessCaller, AccessRecord['source']>();
  private readonly targets = new Map<AccessDestination, { asked: AccessRequest | undefined; part: Pick<AccessRecord, 'protocol' | 'destination' | 'request'> }>();

  constructor(private readonly mesh: Mesh, private readonly config: Pick<ProjectConfig, 'istio' | 'linkerd' | 'consul'>, private readonly simulation: Pick<Simulation, 'identityNamespace'>) {}

  record(caller: AccessCaller, destination: AccessDestination, asked?: AccessRequest): AccessRecord {
    let source = this.sources.get(caller);
    if (!this.sources.has(caller)) {
      // (a caller is another workload or host, never the destination pod's own loopback)
      source = caller.identity ? this.written({ observed: 'unknown' }, caller.identity, undefined).source : { principal: null, notLoopback: true };
      this.sources.set(caller, source);
    }
    let target = this.targets.get(destination);
    if (!target || target.asked !== asked) this.targets.set(destination, (target = { asked, part: this.destinationPart(destination, asked) }));
    return { observed: 'unknown', mesh: this.mesh, ...target.part, ...(source ? { source } : {}) };
  }

  private destinationPart(destination: AccessDestination, asked: AccessRequest | undefined): Pick<AccessRecord, 'protocol' | 'destination' | 'request'> {
    // (a request asked about is HTTP, unless the port is declared TCP: then only the connection is decided)
    const request = destination.protocol !== 'tcp' && asked && (asked.method !== undefined || asked.path !== undefined) ? asked : undefined;
    const protocol = destination.protocol ?? (request ? 'http' : undefined);
    const where = { ...(destination.port !== undefined ? { port: destination.port } : {}), ...(destination.service ? { service: destination.service } : {}) };
    const named = this.written({ observed: 'unknown', destination: where }, undefined, { namespace: destination.namespace, name: destination.name });
    return {
      ...(protocol ? { protocol } : {}),
      ...(named.destination ? { destination: named.destination } : {}),
      ...(destination.protocol !== 'tcp' ? { request: { ...(request?.method !== undefined ? { method: request.method } : {}), ...(request?.path !== undefined ? { path: request.path } : {}), recordedHeaders: [], jwtUnknown: true } } : {}),
    };
  }

  /** The mesh's fields of a caller or destination written as `namespace/name` (`recordFor`, as for a call written by hand). */
  private written(record: AccessRecord, caller: { namespace: string; name: string } | undefined, destination: { namespace: string; name: string } | undefined): AccessRecord {
    return recordFor({ record, ...(caller ? { caller } : {}), ...(destination ? { destination } : {}) }, this.mesh, this.config, (m, namespace) => this.simulation.identityNamespace(m, namespace));
  }
}

/** The callers of a mesh from its workloads' identities, each once, sorted, and the caller without identity last. */
export function identityCallers(workloads: ReadonlyArray<{ namespace: string; name: string; identity: string }>, plaintext: boolean): AccessCaller[] {
  const byKey = new Map<string, AccessCaller>();
  for (const w of workloads) {
    const identity = { namespace: w.namespace, name: w.identity };
    let caller = byKey.get(identityKey(identity));
    if (!caller) byKey.set(identityKey(identity), (caller = identityCaller(identity)));
    caller.workloads.push(`${w.namespace}/${w.name}`);
  }
  const callers = [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
  if (plaintext) callers.push({ key: '-', workloads: [] });
  return callers;
}

/** Istio and Linkerd key a caller by its service account, `namespace/name`. */
export function identityKey(identity: { namespace: string; name: string }): string {
  return `${identity.namespace}/${identity.name}`;
}

/** The caller of a service account, with no workload of the inventory yet. */
export function identityCaller(identity: { namespace: string; name: string }): AccessCaller {
  return { key: identityKey(identity), identity: { namespace: identity.namespace, name: identity.name }, workloads: [] };
}
