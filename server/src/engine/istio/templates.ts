import type { TemplateFacts, TemplateWorkload } from '../newPolicy/facts';
import { chooseWaypoint, isAmbient } from './ambient';
import { SnippetWriter } from '../newPolicy/snippet';
import { header, stops, type PolicyTemplate } from '../newPolicy/template';

const AP = 'AuthorizationPolicy';

/**
 * The head of a policy on the first workload: its kind, name, namespace and what it attaches by.
 * That is the workload's selector, or, when it runs in ambient mode behind a waypoint, `targetRefs`
 * to its Service: ztunnel, which enforces a selector policy there, sees no HTTP attribute, and the
 * waypoint sees the real caller. Decided for the first workload, which Tab alone keeps.
 */
function onWorkload(facts: TemplateFacts, w: SnippetWriter, kind: string, suffix: string): string {
  const namespace = stops.namespace(facts, w);
  const target = facts.workloads[0];
  if (target?.service && behindWaypoint(facts, target)) {
    const services = (facts.inventory?.services ?? []).filter((s) => s.namespace === target.namespace).map((s) => s.name);
    const service = w.stop('service', [target.service.name, ...services], target.service.name);
    return `${header('security.istio.io/v1', kind, facts)}
metadata:
  name: ${service}${suffix}
  namespace: ${namespace}
spec:
  targetRefs:
    - kind: Service
      group: ""
      name: ${service}`;
  }
  const app = stops.app(facts, w);
  return `${header('security.istio.io/v1', kind, facts)}
metadata:
  name: ${app}${suffix}
  namespace: ${namespace}
spec:
  selector:
    matchLabels:
      ${facts.appLabel}: ${app}`;
}

function behindWaypoint(facts: TemplateFacts, target: TemplateWorkload): boolean {
  const inventory = facts.inventory;
  const namespaceLabels = inventory?.namespaces.get(target.namespace)?.labels;
  return inventory !== undefined && isAmbient(target.workload.labels, namespaceLabels) && chooseWaypoint(inventory, target.namespace, target.service?.labels, namespaceLabels, true).kind === 'named';
}

export const ISTIO_TEMPLATES: readonly PolicyTemplate[] = [
  {
    id: 'istio-allow-callers',
    mesh: 'istio',
    format: 'yaml',
    label: `Istio ${AP}: allow one caller to a workload`,
    description: 'An ALLOW policy on the workload: the service account named may call the methods and paths given. Once an ALLOW policy applies to a workload, every call to it that no ALLOW rule matches is denied. Identities need mutual TLS (see *Istio PeerAuthentication: require mutual TLS*).',
    body: (facts, w) => {
      const head = onWorkload(facts, w, AP, '-allow');
      const caller = `${SnippetWriter.text(facts.istioTrustDomain)}/ns/${stops.callerNamespace(facts, w)}/sa/${stops.callerServiceAccount(facts, w)}`;
      return `${head}
  action: ALLOW
  rules:
    - from:
        - source:
            principals:
              - ${caller}
      to:
        - operation:
            methods: ["${stops.text(w, 'method', 'GET')}"]
            paths: ["${stops.text(w, 'path', '/api/*')}"]
`;
    },
  },
  {
    id: 'istio-deny-paths',
    mesh: 'istio',
    format: 'yaml',
    label: `Istio ${AP}: deny paths to callers from other namespaces`,
    description: 'A DENY policy on the workload: calls to its HTTP port under the path prefix given, from outside the workload\'s namespace, are denied, whatever the ALLOW policies say (DENY is evaluated before ALLOW). A plaintext caller has no namespace, so it is denied too. The port keeps the rule off the workload\'s TCP ports, where Istio would drop the paths and deny every connection from other namespaces.',
    body: (facts, w) => {
      const head = onWorkload(facts, w, AP, `-deny-${SnippetWriter.ref('prefix')}`);
      const [namespace, port, prefix] = [stops.namespace(facts, w), w.stop('port', facts.ports, '8080'), stops.text(w, 'prefix', 'admin')];
      return `${head}
  action: DENY
  rules:
    - from:
        - source:
            notNamespaces: ["${namespace}"]
      to:
        - operation:
            ports: ["${port}"]
            paths: ["/${prefix}/*"]
`;
    },
  },
  {
    id: 'istio-allow-nothing',
    mesh: 'istio',
    format: 'yaml',
    label: `Istio ${AP}: deny every call in a namespace (allow nothing)`,
    description: 'An ALLOW policy without rules for the whole namespace: it matches no call, so every call to the namespace\'s workloads is denied until other ALLOW policies let calls in.',
    body: (facts, w) => `${header('security.istio.io/v1', AP, facts)}
metadata:
  name: allow-nothing
  namespace: ${stops.namespace(facts, w)}
spec: {}
`,
  },
  {
    id: 'istio-strict-mtls',
    mesh: 'istio',
    format: 'yaml',
    label: 'Istio PeerAuthentication: require mutual TLS in a namespace',
    description: 'A STRICT PeerAuthentication for the namespace: its workloads take only mutual-TLS calls, so the principals and namespaces of AuthorizationPolicies can be checked. Written in the root namespace (`istio.rootNamespace`, `istio-system` by default) it applies to the whole mesh.',
    body: (facts, w) => `${header('security.istio.io/v1', 'PeerAuthentication', facts)}
metadata:
  name: default
  namespace: ${w.stop('namespace', [...facts.namespacesWithoutPeerAuthentication, ...(facts.namespaces.length ? facts.namespaces : ['default']), facts.istioRootNamespace], 'default')}
spec:
  mtls:
    mode: STRICT
`,
  },
  {
    id: 'istio-require-jwt',
    mesh: 'istio',
    format: 'yaml',
    label: 'Istio RequestAuthentication: require a JWT from an issuer',
    description: 'A RequestAuthentication that checks the tokens of the issuer, and an ALLOW policy that lets in only requests that carry a valid one: a RequestAuthentication alone lets a request without a token through.',
    body: (facts, w) => {
      const head = onWorkload(facts, w, 'RequestAuthentication', '-jwt');
      const issuer = stops.text(w, 'issuer', 'https://issuer.example.com');
      return `${head}
  jwtRules:
    - issuer: "${issuer}"
      jwksUri: "${stops.text(w, 'jwks', 'https://issuer.example.com/.well-known/jwks.json')}"
---
${onWorkload(facts, w, AP, '-require-jwt')}
  action: ALLOW
  rules:
    - from:
        - source:
            requestPrincipals: ["${issuer}/*"]
`;
    },
  },
];
