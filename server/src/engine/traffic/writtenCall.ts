import type { ProjectConfig } from '../config/projectConfig';
import { MESHES, type Mesh } from '../meshes';
import type { Simulation } from '../simulate';
import type { Decision } from '../simulate/types';
import type { AccessRecord } from './accessRecord';
import { checkAccessRecord, unknownRecordField } from './formats/accessRecordJsonl';
import { consulPrincipalFor, parsePrincipal, principalFor } from './ingest/identity';

/**
 * A call written by hand ("would this call be allowed?"), for `mesh-policy explain --call` and
 * the editor's "Enter a call…": an access record as JSON (docs/access-records.md), or the short
 * form
 *
 *     [<mesh>:] <caller> -> <namespace>/<destination>[:<port>] [<METHOD>] [<path>]
 *
 * - `<mesh>`: `istio`, `linkerd` or `consul`; needed only when the workspace has policies of
 *   several meshes and the caller is not written in one mesh's identity form.
 * - `<caller>`: `<namespace>/<name>` (a service account for Istio and Linkerd, a service for
 *   Consul; after `consul:` a bare `<service>` is `default/<service>`), one mesh's principal (`cluster.local/ns/N/sa/S`, `spiffe://…/ns/N/sa/S`,
 *   `S.N.serviceaccount.identity.linkerd.cluster.local`, `spiffe://TD/ns/N/dc/DC/svc/S`), which
 *   also says the mesh, or `-` for a caller without identity (plaintext) on another pod or host
 *   (`source.notLoopback`: not the destination pod's own loopback, which Linkerd always admits).
 * - `<destination>`: the workload (Istio, Linkerd) or the service (Consul, bare after `consul:`
 *   as for the caller); its labels come from the inventory, as for an observed call.
 * - `<port>`: 1–65535, the port the destination receives the call on.
 * - `<METHOD>`: upper-case letters (`GET`, `POST`, …); `<path>` starts with `/` and has no spaces.
 *   Either makes the call HTTP; with neither it is a TCP connection.
 *
 * Headers, JWTs, IPs or another protocol need the JSON form.
 */
export interface WrittenCall {
  /** The record as written; for a `<namespace>/<name>` caller still without its principal (`recordFor`). */
  record: AccessRecord;
  /** A caller written as `<namespace>/<name>`, whose principal depends on the mesh deciding. */
  caller?: { namespace: string; name: string };
  /** A destination written in the short form, whose fields depend on the mesh deciding. */
  destination?: { namespace: string; name: string };
}

export type WrittenCallResult = { call: WrittenCall } | { problem: string };

export const SHORT_CALL_FORM = '[<mesh>:] <ns>/<caller> -> <ns>/<workload>[:<port>] [METHOD] [/path]';

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Whether `text` reads as a Kubernetes namespace or object name (a service account, a workload, a Consul service). */
export function isObjectName(text: string): boolean {
  return NAME.test(text);
}
const METHOD = /^[A-Z]+$/;
/** `istio:` and the like, with or without a space after it; not the `spiffe:` of a principal. */
const MESH_PREFIX = /^\s*([a-z]+)\s*:(?!\/\/)\s*/;

/** The call a text writes: JSON when it starts with `{`, else the short form; a problem says what is wrong, in words. */
export function parseWrittenCall(text: string): WrittenCallResult {
  const trimmed = text.trim();
  if (trimmed === '') return { problem: `is empty: write ${SHORT_CALL_FORM}, or an access record as JSON` };
  return trimmed.startsWith('{') || trimmed.startsWith('[') ? parseJsonCall(trimmed) : parseShortCall(trimmed);
}

function parseJsonCall(text: string): WrittenCallResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `is not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  return writtenCallFromValue(value);
}

/** A call given as a JSON value (an access record), checked as a line of an access-record file is. */
export function writtenCallFromValue(value: unknown): WrittenCallResult {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { problem: 'must be a JSON object (an access record)' };
  // a typo or a wrong type is named, not decided
  const problem = checkAccessRecord(value);
  if (problem !== undefined) return { problem: `is not an access record (docs/access-records.md): ${problem}` };
  // (a line of a log file may carry keys of its own, dropped; a call written by hand is all meant)
  const unknown = unknownRecordField(value as Record<string, unknown>);
  if (unknown !== undefined) return { problem: `is not an access record (docs/access-records.md): it has an unknown field "${unknown}"` };
  return { call: { record: value as AccessRecord } };
}

function parseShortCall(text: string): WrittenCallResult {
  const bad = (why: string): WrittenCallResult => ({ problem: `cannot be read: ${why} (the short form: ${SHORT_CALL_FORM})` });
  let rest = text;
  let mesh: Mesh | undefined;
  const prefix = MESH_PREFIX.exec(rest);
  if (prefix) {
    if (!(MESHES as readonly string[]).includes(prefix[1]!)) return bad(`"${prefix[1]}" is not a mesh: istio, linkerd or consul`);
    mesh = prefix[1] as Mesh;
    rest = rest.slice(prefix[0].length);
  }
  const arrow = rest.indexOf('->');
  if (arrow < 0) return bad('no "->" between the caller and the destination');
  if (rest.indexOf('->', arrow + 2) >= 0) return bad('more than one "->"');
  const callerText = rest.slice(0, arrow).trim();
  const [destinationText, ...request] = rest.slice(arrow + 2).trim().split(/\s+/).filter((t) => t !== '');
  if (!callerText) return bad('no caller before "->"');
  if (/\s/.test(callerText)) return bad(`the caller "${callerText}" has a space`);
  if (!destinationText) return bad('no destination after "->"');

  const record: AccessRecord = { observed: 'unknown' };
  const call: WrittenCall = { record };
  if (callerText === '-') {
    record.source = { principal: null, notLoopback: true };
  } else if (callerText.includes('.serviceaccount.identity.') || callerText.includes('://') || callerText.split('/').length > 2) {
    const parts = parsePrincipal(callerText);
    if (!parts) return bad(`the caller "${callerText}" is neither <namespace>/<name> nor a principal of Istio (<trust domain>/ns/N/sa/S), Linkerd (S.N.serviceaccount.identity.linkerd.<trust domain>) or Consul (spiffe://<trust domain>/ns/N/dc/DC/svc/S)`);
    if (mesh && parts.mesh !== mesh) return bad(`the caller "${callerText}" is an identity of ${parts.mesh}, not of ${mesh}`);
    mesh = parts.mesh;
    record.source = {
      principal: callerText, namespace: parts.namespace,
      ...(parts.serviceAccount !== undefined ? { serviceAccount: parts.serviceAccount } : {}),
      ...(parts.service !== undefined ? { service: parts.service } : {}),
    };
  } else {
    const caller = namespacedName(callerText, mesh);
    if (typeof caller === 'string') return bad(`the caller ${caller}`);
    call.caller = caller;
  }

  const portAt = destinationText.lastIndexOf(':');
  const destination = namespacedName(portAt < 0 ? destinationText : destinationText.slice(0, portAt), mesh);
  if (typeof destination === 'string') return bad(`the destination ${destination}`);
  call.destination = destination;
  let port: number | undefined;
  if (portAt >= 0) {
    const portText = destinationText.slice(portAt + 1);
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) return bad(`the port "${portText}" is not a number from 1 to 65535`);
  }

  let method: string | undefined;
  let path: string | undefined;
  for (const token of request) {
    if (token.startsWith('/')) {
      if (path !== undefined) return bad(`a second path "${token}"`);
      path = token;
    } else if (METHOD.test(token)) {
      if (method !== undefined || path !== undefined) return bad(`"${token}" after the ${path !== undefined ? 'path' : 'method'}: the method comes first, once`);
      method = token;
    } else {
      return bad(`"${token}" is neither an upper-case method (GET, POST, …) nor a path starting with /`);
    }
  }
  if (mesh) record.mesh = mesh;
  record.protocol = method !== undefined || path !== undefined ? 'http' : 'tcp';
  if (port !== undefined) record.destination = { port };
  if (method !== undefined || path !== undefined) record.request = { ...(method !== undefined ? { method } : {}), ...(path !== undefined ? { path } : {}) };
  return { call };
}

/** `<namespace>/<name>`, or what is wrong with it (a phrase to follow "the caller"/"the destination"). */
function namespacedName(text: string, mesh: Mesh | undefined): { namespace: string; name: string } | string {
  // Consul CE services have no namespace of their own: every one is in "default" (recordFor
  // maps a Kubernetes namespace written there to it too).
  if (mesh === 'consul' && !text.includes('/') && NAME.test(text)) return { namespace: 'default', name: text };
  const parts = text.split('/');
  if (parts.length !== 2) return `"${text}" is not <namespace>/<name>${mesh === undefined && parts.length === 1 && NAME.test(text) ? ' (a Consul service may be written alone after "consul:")' : ''}`;
  const [namespace, name] = parts as [string, string];
  if (!NAME.test(namespace)) return `"${text}" has no valid namespace before the /`;
  if (!NAME.test(name)) return `"${text}" has no valid name after the /`;
  return { namespace, name };
}

/**
 * The record to decide once the mesh is known (`Simulation.meshOf(call.record)`): a
 * `<namespace>/<name>` caller gets that mesh's principal (`principalFor`, `consulPrincipalFor`),
 * the destination that mesh's fields.
 * Without a mesh the record stays as written, and the simulation says the mesh is missing.
 * `identityNamespace` gives the namespace the caller's identity names (Simulation.identityNamespace:
 * Consul without Enterprise namespaces puts every service in `default`); the record's
 * `source.namespace` stays the one written.
 */
export function recordFor(call: WrittenCall, mesh: Mesh | undefined, config: Pick<ProjectConfig, 'istio' | 'linkerd' | 'consul'>,
  identityNamespace: (mesh: Mesh, namespace: string) => string = (_mesh, namespace) => namespace): AccessRecord {
  if (!mesh || (!call.caller && !call.destination)) return call.record;
  const record: AccessRecord = { ...call.record, mesh };
  if (call.caller) {
    const { namespace, name } = call.caller;
    record.source = mesh === 'consul'
      ? { principal: consulPrincipalFor(identityNamespace(mesh, namespace), name, config.consul.trustDomain), namespace, service: name }
      : { principal: principalFor(mesh, identityNamespace(mesh, namespace), name, config.istio.trustDomain, config.linkerd)!, namespace, serviceAccount: name };
  }
  if (call.destination) {
    const { namespace, name } = call.destination;
    record.destination = { ...record.destination, namespace, ...(mesh === 'consul' ? { service: name } : { workload: name }) };
  }
  return record;
}

/** The written call as decided (full trace) by the workspace's simulation, with the record decided. */
export function decideWrittenCall(simulation: Pick<Simulation, 'meshOf' | 'decide' | 'identityNamespace'>, call: WrittenCall, config: Pick<ProjectConfig, 'istio' | 'linkerd' | 'consul'>): { record: AccessRecord; decision: Decision } {
  const record = recordFor(call, simulation.meshOf(call.record), config, (mesh, namespace) => simulation.identityNamespace(mesh, namespace));
  return { record, decision: simulation.decide(record, true) };
}
