import type { AccessRecord } from '../../traffic/accessRecord';
import { LINKERD_AUDIT_ALLOWED } from '../../traffic/formats/linkerdProxyEvents';
import type { Decision } from '../types';

/**
 * What the proxy's policy events say decided a call (the Linkerd readers keep it: detail
 * `linkerd_audit_allowed`, `response.deniedBy` `server:<name>` or `default:<policy>`), when the
 * simulation decides otherwise; undefined when they agree or the log says nothing of it.
 * - Allowed only by audit mode, and the simulation finds an enforced authorization that admits
 *   the call: the deployed policies lacked it (usually added since, which is what audit is for).
 *   A denial by the simulation is a change of verdict, counted as such.
 * - Denied on a Server (or by a default policy), and the simulation allows the call, or denies it
 *   on another Server or by another default policy (`Decision.deniedBy`, kinds `server` and
 *   `default`).
 */
export function linkerdObservedDifference(decision: Decision, record: AccessRecord): string | undefined {
  if (record.response?.details === LINKERD_AUDIT_ALLOWED) {
    if (decision.verdict !== 'allow' || decision.audited) return undefined;
    return `observed: allowed only by audit mode (the proxy logged an audit "Request allowed": the deployed policies did not authorize it); simulated: ${decision.reason}`;
  }
  const logged = record.observed === 'denied' ? record.response?.deniedBy : undefined;
  if (logged === undefined || (decision.verdict !== 'allow' && decision.verdict !== 'deny')) return undefined;
  const colon = logged.indexOf(':');
  if (colon < 0) return undefined;
  const kind = logged.slice(0, colon);
  const name = logged.slice(colon + 1);
  const simulated = decision.verdict === 'deny' ? decision.deniedBy : undefined;
  if (simulated !== undefined && simulated.kind === kind && simulated.name === name) return undefined;
  const said = kind === 'server' ? `denied on Server ${name}` : kind === 'default' ? `denied by the default policy ${name}` : `denied by ${kind} ${name}`;
  return `observed: ${said} (the proxy's policy event); simulated: ${decision.reason}`;
}
