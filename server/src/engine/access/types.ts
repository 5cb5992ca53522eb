import type { Mesh } from '../meshes';
import type { SourceRef, Verdict } from '../simulate/types';
import type { AccessRecord } from '../traffic/accessRecord';

/**
 * The access map (`mesh-policy access`, docs/access-map.md): who may call whom by the policies
 * alone, before any traffic. Every caller identity the inventory holds, and a caller without one,
 * against every destination port, each cell decided by the mesh's own simulator from a call that
 * says only what is known before a request is made: the caller, the destination and port, and the
 * protocol where the inventory declares it. What a request carries (method, path, headers, token)
 * is left unknown, so a cell whose verdict depends on it says `unknown` and names what it depends on.
 */

/** A caller: a workload identity (`namespace/name`: an Istio or Linkerd service account, a Consul service), or none. */
export interface AccessCaller {
  /** `namespace/name`, or `-` for a caller with no mesh identity (plaintext: a workload outside the mesh). */
  key: string;
  identity?: { namespace: string; name: string };
  /** The inventory's workloads that call with this identity (`namespace/name`); none for a caller only the logs show. */
  workloads: string[];
}

/** A destination: a workload (Consul: a service) and one port it receives calls on. */
export interface AccessDestination {
  /** `namespace/name:port`, `namespace/name` when no port is known (Consul: the service). */
  key: string;
  namespace: string;
  name: string;
  port?: number;
  /** The port's name, from the container or Service that declares it. */
  portName?: string;
  /** The protocol the inventory declares for the port; absent: not declared (the mesh detects it). */
  protocol?: 'http' | 'tcp';
  /** Istio: the Service the calls are addressed to (a waypoint serves the calls through it). */
  service?: string;
  /** How the mesh tells the protocol, where the inventory does not declare it (`protocol detected`). */
  protocolNote?: string;
}

/** What a mesh decides for calls from one caller to one destination. */
export interface AccessCell {
  caller: string;
  /** `unknown`: it depends on what the request carries, or on something else the inventory does not say (`needs`). */
  verdict: Verdict;
  /** For `unknown`: the attributes the verdict depends on, as the simulator names them (`request.path`, `protocol`, `source.ip`). */
  needs?: string[];
  policy?: SourceRef;
  rule?: SourceRef;
  reason: string;
  /** With traffic: the calls the logs show in this cell. */
  observed?: ObservedAccess;
}

/** What the logs show of one cell: calls from that caller to that destination port, by outcome (`access --traffic`). */
export interface ObservedAccess {
  calls: number;
  allowed: number;
  denied: number;
}

export interface AccessRow {
  destination: AccessDestination;
  cells: AccessCell[];
}

export interface MeshAccess {
  mesh: Mesh;
  callers: AccessCaller[];
  rows: AccessRow[];
}

export interface AccessMap {
  meshes: MeshAccess[];
  /** The request every cell was decided for, when one was given (else the request is unknown). */
  request?: AccessRequest;
  /** What was left out and why (a workload in no mesh, a filter that matched nothing). */
  notes: string[];
  /** Over `maxCells`: nothing was decided. */
  tooLarge?: boolean;
}

/** What one mesh enumerates for the map: its callers and destinations, and the call that asks about a pair. */
export interface MeshAccessSpace {
  mesh: Mesh;
  callers(): AccessCaller[];
  /** The caller of an identity (`namespace/name`, in the mesh's identity namespace), keyed as `callers` key theirs: for one the inventory does not hold (seen in the logs). */
  caller(identity: { namespace: string; name: string }): AccessCaller;
  destinations(): AccessDestination[];
  call(caller: AccessCaller, destination: AccessDestination, request?: AccessRequest): AccessRecord;
}

/** Which callers and destinations to map: `namespace` or `namespace/name`, matched against the keys. */
export interface AccessFilter {
  from?: string;
  to?: string;
  meshes?: readonly Mesh[];
  /** Callers to map besides the inventory's, per mesh (the identities the logs show: a caller
   * whose manifests the workspace does not hold). */
  moreCallers?: Partial<Record<Mesh, ReadonlyArray<{ namespace: string; name: string }>>>;
  /** Decide nothing when the map would have more cells than this (the editor's lenses): the map then has no mesh and says why. */
  maxCells?: number;
  /** Decide every cell for this request (`--request 'GET /admin'`) instead of leaving the request unknown; the call is then HTTP wherever the inventory does not declare the port TCP. */
  request?: AccessRequest;
}

export interface AccessRequest {
  method?: string;
  path?: string;
}
