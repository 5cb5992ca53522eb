import type { Mesh } from '../meshes';
import type { NodePath, SourceNode } from '../source/tree';
import type { AccessRecord } from '../traffic/accessRecord';

/** The calls a single value under the cursor stands for, e.g. one principal of a rule. */
export interface ValueFilter {
  label: string;
  test(record: AccessRecord): boolean;
}

type Field = (record: AccessRecord) => string | undefined;

const principal: Field = (r) => r.source?.principal?.replace(/^spiffe:\/\//, '') ?? undefined;
const path: Field = (r) => r.request?.path?.split('?')[0];
const FIELDS: Record<string, Field> = {
  principals: principal,
  identities: (r) => r.source?.principal ?? undefined,
  namespaces: (r) => r.source?.namespace,
  paths: path,
  methods: (r) => r.request?.method,
  ports: (r) => (r.destination?.port === undefined ? undefined : String(r.destination.port)),
  hosts: (r) => r.request?.host,
};
const CONSUL_FIELDS: Record<string, { field: Field; prefix?: boolean }> = {
  name: { field: (r) => r.source?.service ?? r.source?.workload },
  pathexact: { field: path },
  pathprefix: { field: path, prefix: true },
  methods: { field: (r) => r.request?.method },
};

/** Istio-style string match: exact, `prefix*`, `*suffix`, or `*` for any non-empty value. */
function wildcardMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return value === pattern;
}

/**
 * For a scalar inside a list of principals, namespaces, paths, methods, ports or hosts (Istio),
 * identities (Linkerd), or a Consul source name, path or method: the calls it stands for. Other
 * positions have no filter: the hover then shows everything the rule decides.
 */
export function valueFilter(mesh: Mesh, at: NodePath, node: SourceNode | undefined): ValueFilter | undefined {
  if (!node || node.type !== 'scalar' || node.value === null || node.value === undefined) return undefined;
  const value = String(node.value);
  const key = [...at].reverse().find((s): s is string => typeof s === 'string');
  if (!key) return undefined;
  if (mesh === 'consul') {
    const spec = CONSUL_FIELDS[key.toLowerCase()];
    if (!spec) return undefined;
    const test = spec.prefix ? (r: AccessRecord) => spec.field(r)?.startsWith(value) === true : (r: AccessRecord) => (value === '*' ? spec.field(r) !== undefined : key.toLowerCase() === 'methods' ? spec.field(r)?.toUpperCase() === value.toUpperCase() : spec.field(r) === value);
    return { label: `${key} ${JSON.stringify(value)}`, test };
  }
  const field = FIELDS[key];
  if (!field) return undefined;
  return { label: `${key} ${JSON.stringify(value)}`, test: (r) => wildcardMatch(value, field(r)) };
}
