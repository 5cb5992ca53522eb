import type { ReaderOptions } from '../readerTypes';
import { EnvoyJsonReader } from './envoyJson';

/**
 * Consul's Envoy JSON access logs (`proxy-defaults` `AccessLogs { Enabled = true }`). The keys
 * are Istio's (formats/envoyFields.ts DEFAULT_JSON_KEYS; `upstream_cluster` holds
 * `%UPSTREAM_CLUSTER%`), so this is the Envoy JSON reader with Consul's meanings:
 * - side: `upstream_cluster` `local_app` is the inbound (public) listener; a cluster named
 *   after a mesh service (`<svc>.<ns>.<dc>.internal.<td>.consul`), `passthrough~...` or
 *   `original-destination` is outbound; no cluster with a `*.consul` SNI or a denial is inbound;
 * - destination service and namespace: from the SNI (inbound) or the cluster name (outbound);
 * - principals keep Consul's `spiffe://<td>/ns/N/dc/DC/svc/S` form, namespace and service read
 *   from it;
 * - denials: `rbac_access_denied_matched_policy[none]` (default deny: no intention allowed it),
 *   `[consul-intentions-layer4]` / `[consul-intentions-layer7-<i>]` (a deny intention under
 *   default allow), in the response code details (HTTP) or the termination details (TCP);
 *   `jwt_authn_access_denied{...}` 401s for JWT intentions (Consul 1.16.0 only: later releases let
 *   RBAC alone judge tokens, so a missing or invalid token is an RBAC 403).
 * A custom `JSONFormat` given as `options.envoyFormat` (a JSON object) maps keys by operator.
 */
export function createConsulEnvoyJsonReader(options: ReaderOptions = {}): EnvoyJsonReader {
  const custom = options.envoyFormat?.trim().startsWith('{') ? options.envoyFormat : undefined;
  return new EnvoyJsonReader('consul-envoy-json', options.mesh ?? 'consul', custom);
}
