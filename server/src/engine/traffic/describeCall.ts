import type { AccessRecord } from './accessRecord';
import { redactPathCredentials } from './redact';
import { visibleText } from '../strings';

/** Who called: the identity, else the workload, else the address; else whether the log gave no
 * caller at all or a caller without an identity (no principal is plaintext, docs/access-records.md). */
export function callerOf(record: AccessRecord): string {
  const source = record.source;
  if (source?.principal) return visibleText(source.principal);
  if (source?.workload) return visibleText(`${source.namespace ?? '?'}/${source.workload}`);
  return source?.ip ? visibleText(source.ip) : source?.principalUnknown ? '(unknown caller)' : '(plaintext caller)';
}

/** What was called: namespace/workload (or service, or address) and port. */
export function calleeOf(record: AccessRecord): string {
  const destination = record.destination;
  const name = destination?.workload ? `${destination.namespace ?? '?'}/${destination.workload}` : destination?.service ?? destination?.ip ?? '(unknown destination)';
  return visibleText(destination?.port ? `${name}:${destination.port}` : name);
}

/** The request part: method and path (credentials in it masked), or the protocol for TCP. Never headers (they may carry secrets). */
export function requestOf(record: AccessRecord): string {
  const request = record.request;
  if (request?.method || request?.path) return visibleText(`${request?.method ?? ''} ${request?.path !== undefined ? redactPathCredentials(request.path) : ''}`.trim());
  return record.protocol ?? '';
}

/** One line for a call: `caller → namespace/workload:port METHOD /path`. */
export function describeCall(record: AccessRecord): string {
  const request = requestOf(record);
  return `${callerOf(record)} → ${calleeOf(record)}${request ? ` ${request}` : ''}`;
}

/** The record with its path's query string and fragment left out: calls that differ only there read alike in a list. */
export function withoutQuery(record: AccessRecord): AccessRecord {
  const path = record.request?.path;
  const cut = path === undefined ? -1 : path.search(/[?#]/);
  return cut < 0 ? record : { ...record, request: { ...record.request, path: path!.slice(0, cut) } };
}

/** What a row of `queries` paths that differ only in their query string adds to its path (nothing for one path). */
function queriesNote(queries: number): string {
  return queries > 1 ? `?… (${queries.toLocaleString('en-US')} query strings)` : '';
}

/** `describeCall` of a list row standing for calls whose paths differ only in their query string (`queries` of them). */
export function describeRowCall(record: AccessRecord, queries: number): string {
  return queries > 1 ? `${describeCall(withoutQuery(record))}${queriesNote(queries)}` : describeCall(record);
}

/** `requestOf` of such a row. */
export function rowRequestOf(record: AccessRecord, queries: number): string {
  return queries > 1 ? `${requestOf(withoutQuery(record))}${queriesNote(queries)}` : requestOf(record);
}
