import type { TemplateFacts } from '../newPolicy/facts';
import type { SnippetWriter } from '../newPolicy/snippet';
import { header, stops, type PolicyTemplate } from '../newPolicy/template';

const GROUP = 'policy.linkerd.io';

function server(facts: TemplateFacts, w: SnippetWriter): string {
  return w.stop('server', facts.linkerdServers, `${facts.apps[0] ?? 'my-app'}-http`);
}

/** The AuthorizationPolicy on `targetKind` `targetName` that requires the MeshTLSAuthentication `authentication`, which follows it. */
function authorizedIdentities(facts: TemplateFacts, w: SnippetWriter, namespace: string, targetKind: string, targetName: string, authentication: string): string {
  return `${header(`${GROUP}/v1alpha1`, 'AuthorizationPolicy', facts)}
metadata:
  name: ${targetName}-authz
  namespace: ${namespace}
spec:
  targetRef:
    group: ${GROUP}
    kind: ${targetKind}
    name: ${targetName}
  requiredAuthenticationRefs:
    - group: ${GROUP}
      kind: MeshTLSAuthentication
      name: ${authentication}
---
${header(`${GROUP}/v1alpha1`, 'MeshTLSAuthentication', facts)}
metadata:
  name: ${authentication}
  namespace: ${namespace}
spec:
  identityRefs:
    - kind: ServiceAccount
      name: ${stops.callerServiceAccount(facts, w)}
      namespace: ${stops.callerNamespace(facts, w)}
`;
}

export const LINKERD_TEMPLATES: readonly PolicyTemplate[] = [
  {
    id: 'linkerd-server',
    mesh: 'linkerd',
    format: 'yaml',
    label: 'Linkerd Server: a port of a workload that policies authorize',
    description: 'A Server for one port of the workload\'s pods. Once a Server selects a port, only the calls an AuthorizationPolicy (or ServerAuthorization) on it allows get in; the others are refused.',
    body: (facts, w) => {
      // A port no Server selects yet comes first: a second Server on a port is ignored there.
      const open = facts.portsWithoutServer[0];
      const [namespace, app, port] = open
        ? [w.stop('namespace', [open.namespace, ...facts.namespaces], 'default'), w.stop('app', [open.app, ...facts.apps], 'my-app'), w.stop('port', [open.port, ...facts.portNames], 'http')]
        : [stops.namespace(facts, w), stops.app(facts, w), w.stop('port', facts.portNames, 'http')];
      return `${header(`${GROUP}/v1beta3`, 'Server', facts)}
metadata:
  name: ${app}-${port}
  namespace: ${namespace}
spec:
  podSelector:
    matchLabels:
      ${facts.appLabel}: ${app}
  port: ${port}
  proxyProtocol: ${stops.choice(w, 'protocol', ['HTTP/1', 'HTTP/2', 'gRPC', 'opaque', 'TLS', 'unknown'])}
`;
    },
  },
  {
    id: 'linkerd-allow-identities',
    mesh: 'linkerd',
    format: 'yaml',
    label: 'Linkerd AuthorizationPolicy: allow a service account to a Server',
    description: 'An AuthorizationPolicy on a Server that requires a MeshTLSAuthentication naming the callers\' service account: those callers, over mutual TLS, may call every route of the Server.',
    body: (facts, w) => {
      const [namespace, target] = [stops.namespace(facts, w), server(facts, w)];
      return authorizedIdentities(facts, w, namespace, 'Server', target, `${target}-clients`);
    },
  },
  {
    id: 'linkerd-route-authorization',
    mesh: 'linkerd',
    format: 'yaml',
    label: 'Linkerd HTTPRoute: allow a service account to one route of a Server',
    description: 'An HTTPRoute on a Server for a path prefix and method, and an AuthorizationPolicy on the route that requires a MeshTLSAuthentication naming the callers\' service account. Once a Server has routes, a request that matches none of them gets 404.',
    body: (facts, w) => {
      const [namespace, target, route] = [stops.namespace(facts, w), server(facts, w), stops.text(w, 'route', 'api')];
      return `${header(`${GROUP}/v1beta3`, 'HTTPRoute', facts)}
metadata:
  name: ${target}-${route}
  namespace: ${namespace}
spec:
  parentRefs:
    - group: ${GROUP}
      kind: Server
      name: ${target}
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /${route}
          method: ${stops.choice(w, 'method', ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])}
---
${authorizedIdentities(facts, w, namespace, 'HTTPRoute', `${target}-${route}`, `${target}-${route}-clients`)}`;
    },
  },
];
