import type { TemplateFacts } from '../newPolicy/facts';
import type { SnippetWriter } from '../newPolicy/snippet';
import { header, stops, type PolicyTemplate } from '../newPolicy/template';

function services(facts: TemplateFacts, w: SnippetWriter): [destination: string, source: string] {
  return [w.stop('destination', facts.consulServices, 'api'), w.stop('source', [...facts.consulServices.slice(1), ...facts.consulServices.slice(0, 1)], 'web')];
}

/** ServiceIntentions (YAML) for a destination, up to its one source's name. */
function intentions(facts: TemplateFacts, w: SnippetWriter): string {
  const [destination, source] = services(facts, w);
  return `${header('consul.hashicorp.com/v1alpha1', 'ServiceIntentions', facts)}
metadata:
  name: ${destination}
spec:
  destination:
    name: ${destination}
  sources:
    - name: ${source}`;
}

/** A service-intentions config entry (HCL) for a destination, up to its one source's name. */
function configEntry(facts: TemplateFacts, w: SnippetWriter, align: string): string {
  const [destination, source] = services(facts, w);
  return `Kind = "service-intentions"
Name = "${destination}"
Sources = [
  {
    Name${align} = "${source}"`;
}

const ACTIONS = ['allow', 'deny'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const L7_NOTE = 'Permissions apply only to a destination whose protocol is HTTP (a ServiceDefaults or service-defaults entry with `protocol: http`, `http2` or `grpc`); Consul refuses them on a TCP service.';

export const CONSUL_TEMPLATES: readonly PolicyTemplate[] = [
  {
    id: 'consul-intentions',
    mesh: 'consul',
    format: 'yaml',
    label: 'Consul ServiceIntentions: allow or deny a source service',
    description: 'ServiceIntentions for a destination service with one source and an L4 action: the source\'s connections are allowed or denied, the other sources fall to the default intention policy.',
    body: (facts, w) => `${intentions(facts, w)}
      action: ${stops.choice(w, 'action', ACTIONS)}
`,
  },
  {
    id: 'consul-intentions-l7',
    mesh: 'consul',
    format: 'yaml',
    label: 'Consul ServiceIntentions: allow a source service some HTTP paths',
    description: `ServiceIntentions for a destination service whose source may call a path prefix with one method; a last permission denies its other requests (without it they would fall to the default intention policy, which may allow them). ${L7_NOTE}`,
    body: (facts, w) => `${intentions(facts, w)}
      permissions:
        - action: allow
          http:
            pathPrefix: ${stops.text(w, 'path', '/api/')}
            methods: ["${stops.choice(w, 'method', METHODS)}"]
        - action: deny
          http:
            pathPrefix: /
`,
  },
  {
    id: 'consul-config-entry',
    mesh: 'consul',
    format: 'hcl',
    label: 'Consul service-intentions config entry: allow or deny a source service',
    description: 'A service-intentions config entry (for `consul config write`) for a destination service with one source and an L4 action; the other sources fall to the default intention policy.',
    body: (facts, w) => `${configEntry(facts, w, '  ')}
    Action = "${stops.choice(w, 'action', ACTIONS)}"
  }
]
`,
  },
  {
    id: 'consul-config-entry-l7',
    mesh: 'consul',
    format: 'hcl',
    label: 'Consul service-intentions config entry: allow a source service some HTTP paths',
    description: `A service-intentions config entry (for \`consul config write\`) whose source may call a path prefix with one method; a last permission denies its other requests (without it they would fall to the default intention policy, which may allow them). ${L7_NOTE}`,
    body: (facts, w) => `${configEntry(facts, w, '')}
    Permissions = [
      {
        Action = "allow"
        HTTP {
          PathPrefix = "${stops.text(w, 'path', '/api/')}"
          Methods    = ["${stops.choice(w, 'method', METHODS)}"]
        }
      },
      {
        Action = "deny"
        HTTP {
          PathPrefix = "/"
        }
      }
    ]
  }
]
`,
  },
];
