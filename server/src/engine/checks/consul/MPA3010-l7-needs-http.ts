import type { Check } from '../check';
import { hasPermissions, isWildcardDestination, modelOf } from './model';
import { describeDeclaration, destinationProtocols, isHttpLike } from './workspaceIndex';

/**
 * Write-time graph check: Consul refuses intentions with Permissions (L7) for a destination whose
 * protocol is not HTTP-like (`http`, `http2`, `grpc`): "service %q has protocol %q, which is
 * incompatible with L7 intentions permissions". The protocol comes from the destination's
 * `service-defaults` (or ServiceDefaults resource), else from `proxy-defaults` `Config.protocol`
 * (ProxyDefaults `spec.config.protocol`), else it is `tcp`.
 *
 * Reported only when the workspace holds a defaults entry that sets the protocol, and only when
 * every declaration found for the destination is non-HTTP (a workspace may hold copies for
 * several installations; one HTTP-like declaration keeps the check quiet). With no declaration at
 * all the check stays quiet too: the protocol may be set outside the workspace.
 */
export const l7NeedsHttp: Check = {
  code: 'MPA3010',
  mesh: 'consul',
  title: 'Permissions on a service that is not HTTP',
  defaultSeverity: 'error',
  upstream: 'Consul config entry graph validation: "service %q has protocol %q, which is incompatible with L7 intentions permissions"',
  kinds: ['ServiceIntentions', 'service-intentions'],
  run(context) {
    const model = modelOf(context.resource);
    if (!model.name || isWildcardDestination(model)) return;
    const first = model.sources.find(hasPermissions);
    if (!first) return;
    const { declarations, fromProxyDefaults } = destinationProtocols(context.workspace, { name: model.name, namespace: model.namespace, partition: model.partition });
    const fallback = fromProxyDefaults ? ' (no service-defaults sets one)' : '';
    if (!declarations.length || declarations.some((d) => isHttpLike(d.protocol))) return;
    const protocols = [...new Set(declarations.map((d) => d.protocol))];
    context.report({ path: first.permissionsPath, part: 'key' },
      `service ${JSON.stringify(model.name)} has protocol ${protocols.map((p) => JSON.stringify(p)).join(' and ')} according to ${declarations.map((d) => describeDeclaration(d, context.file)).join(', ')}${fallback}, which is incompatible with L7 intentions permissions: Consul rejects this entry; make the service http, http2 or grpc, or use an L4 action instead of permissions`);
  },
};
