/**
 * CustomResourceDefinitions for tests, written as `kubectl get crd -o yaml` would give them (the
 * schema in JSON, which is YAML too): only what the API server reads of a CRD to validate and
 * prune its objects.
 */
export interface CrdVersionFixture {
  name: string;
  served?: boolean;
  schema?: Record<string, unknown>;
  statusSubresource?: boolean;
}

export function crdYaml(group: string, kind: string, plural: string, versions: CrdVersionFixture[]): string {
  const lines = [
    'apiVersion: apiextensions.k8s.io/v1',
    'kind: CustomResourceDefinition',
    'metadata:',
    `  name: ${plural}.${group}`,
    'spec:',
    `  group: ${group}`,
    '  names:',
    `    kind: ${kind}`,
    `    plural: ${plural}`,
    '  scope: Namespaced',
    '  versions:',
  ];
  versions.forEach((version, i) => {
    lines.push(`  - name: ${version.name}`, `    served: ${version.served ?? true}`, `    storage: ${i === versions.length - 1}`);
    if (version.statusSubresource) lines.push('    subresources:', '      status: {}');
    if (version.schema) lines.push('    schema:', `      openAPIV3Schema: ${JSON.stringify(version.schema)}`);
  });
  return `${lines.join('\n')}\n`;
}

const strings = { type: 'array', items: { type: 'string' } };

/** An Istio AuthorizationPolicy schema of an older release: v1beta1 only, no targetRef(s), no serviceAccounts. */
export const OLD_AUTHORIZATION_POLICY = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        action: { type: 'string', enum: ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] },
        provider: { type: 'object', properties: { name: { type: 'string' } } },
        selector: { type: 'object', properties: { matchLabels: { type: 'object', additionalProperties: { type: 'string' } } } },
        rules: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              from: { type: 'array', items: { type: 'object', properties: { source: { type: 'object', properties: { principals: strings, namespaces: strings, ipBlocks: strings } } } } },
              to: { type: 'array', items: { type: 'object', properties: { operation: { type: 'object', properties: { methods: strings, paths: strings, ports: { type: 'array', items: { type: 'string', pattern: '^[0-9]+$' } } } } } } },
              when: { type: 'array', items: { type: 'object', required: ['key'], properties: { key: { type: 'string' }, values: strings, notValues: strings } } },
            },
          },
        },
      },
    },
    status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
};

export const OLD_ISTIO_AP_CRD = crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1beta1', schema: OLD_AUTHORIZATION_POLICY, statusSubresource: true }]);

/** An ALLOW for the frontend that names the `cart` Service with targetRefs (a field older releases lack), in `security.istio.io/<version>`. */
export const cartReadersByTargetRefs = (version: string) => `apiVersion: security.istio.io/${version}
kind: AuthorizationPolicy
metadata:
  name: cart-readers
  namespace: shop
spec:
  targetRefs:
    - kind: Service
      group: ""
      name: cart
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/shop/sa/frontend"]
`;
