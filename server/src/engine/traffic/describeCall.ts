import type { AccessRecord } from './accessRecord';
import { redactPathCredentials } from './redact';

/** Who called: the identity, else the workload, else the address. */
export function callerOf(record: AccessRecord): string {
  const source = record.source;
  if (source?.principal) return source.principal;
  if (source?.workload) return `${source.namespace ?? '?'}/${source.workload}`;
  return source?.ip ?? '(unknown caller)';
}

/** What was called: namespace/workload (or service, or address) and port. */
export function calleeOf(record: AccessRecord): string {
  const destination = record.destination;
  const name = destination?.workload ? `${destination.namespace ?? '?'}/${destination.workload}` : destination?.service ?? destination?.ip ?? '(unknown destination)';
  return destination?.port ? `${name}:${destination.port}` : name;
}

/** The request part: method and path (credentials in it masked), or the protocol for TCP. Never headers (they may carry secrets). */
export function requestOf(record: AccessRecord): string {
  const request = record.request;
  if (request?.method || request?.path) return `${request?.method ?? ''} ${request?.path !== undefined ? redactPathCredentials(request.path) : ''}`.trim();
  return record.protocol ?? '';
}

/** One line for a call: `caller → namespace/workload:port METHOD /path`. */
export function describeCall(record: AccessRecord): string {
  const request = requestOf(record);
  return `${callerOf(record)} → ${calleeOf(record)}${request ? ` ${request}` : ''}`;
}
