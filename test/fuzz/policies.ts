import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { EXAMPLES } from '../helpers/paths';
import { aliasBomb, controlChar, deepNesting, HCL_SYNTAX, HOSTILE_REGEXES, hugeString, randomUnits, SCALARS, YAML_SYNTAX } from './hostile';
import type { Prng } from './prng';

export type PolicyFormat = 'yaml' | 'json' | 'hcl';

export interface PolicyText {
  name: string;
  format: PolicyFormat;
  text: string;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    return /\.(ya?ml|json|hcl)$/.test(entry.name) ? [path] : [];
  });
}

let examples: (PolicyText & { path: string })[] | undefined;

/** Every policy, manifest and config entry of examples/, read once. */
export function examplePolicies(): (PolicyText & { path: string })[] {
  examples ??= walk(EXAMPLES).sort().map((path) => ({
    path,
    name: path.slice(EXAMPLES.length + 1),
    format: path.endsWith('.json') ? 'json' : path.endsWith('.hcl') ? 'hcl' : 'yaml',
    text: readFileSync(path, 'utf8'),
  }));
  return examples;
}

const NAMES = ['web', 'api', 'payments', 'db', '*', 'a'.repeat(300), '', 'ns/x', 'Frontend', 'x.y', '-', '😀'];
const PRINCIPALS = ['cluster.local/ns/shop/sa/web', '*', '*/ns/*', 'cluster.local/ns/*/sa/*a*a*a*a*a*a*a*a*b', 'spiffe://x', '', 'a/b/c/d/e/f'];
const PATHS = ['/', '/api/*', '*/admin', '/{*}/x', '/{**}', '/{**}/{*}', '/a{', '', '*', '/\u0000', '/%2e%2e/'];
const METHODS = ['GET', 'POST', 'get', '*', '', 'CONNECT', 'G\u0000T'];

function some<T>(rng: Prng, items: readonly T[], max = 3): T[] {
  return Array.from({ length: rng.int(max + 1) }, () => rng.pick(items));
}

function generatedIstio(rng: Prng): unknown {
  return {
    apiVersion: rng.pick(['security.istio.io/v1', 'security.istio.io/v1beta1', 'security.istio.io/v2']),
    kind: rng.pick(['AuthorizationPolicy', 'AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication']),
    metadata: { name: rng.pick(NAMES), namespace: rng.pick(['shop', 'istio-system', '']) },
    spec: {
      ...(rng.chance(0.5) ? { selector: { matchLabels: { app: rng.pick(NAMES) } } } : {}),
      action: rng.pick(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM', 'allow']),
      ...(rng.chance(0.2) ? { provider: { name: 'ext' } } : {}),
      rules: Array.from({ length: rng.int(4) }, () => ({
        from: [{ source: { principals: some(rng, PRINCIPALS), namespaces: some(rng, ['shop', '*', 'a*', '*a*a*a*a*a*a*a*a*a*b', 'x.y']), notIpBlocks: some(rng, ['10.0.0.0/8', '::/0', '300.1.1.1', '1.2.3.4/33']) } }],
        to: [{ operation: { paths: some(rng, PATHS), methods: some(rng, METHODS), ports: some(rng, ['8080', '0', '70000', 'x']), hosts: some(rng, ['*', 'a.b', '*.c']) } }],
        when: [{ key: rng.pick(['request.headers[x-env]', 'request.auth.claims[groups]', 'source.ip', 'request.headers[authorization]', 'bad']), values: some(rng, ['prod', '*', 'Bearer *']) }],
      })),
    },
  };
}

function generatedLinkerd(rng: Prng): unknown {
  switch (rng.int(3)) {
    case 0: return {
      apiVersion: rng.pick(['policy.linkerd.io/v1beta3', 'gateway.networking.k8s.io/v1', 'policy.linkerd.io/v1alpha1']),
      kind: rng.pick(['HTTPRoute', 'GRPCRoute']),
      metadata: { name: rng.pick(NAMES), namespace: 'emojivoto' },
      spec: {
        parentRefs: [{ group: 'policy.linkerd.io', kind: 'Server', name: rng.pick(NAMES) }],
        rules: [{ matches: Array.from({ length: rng.int(3) }, () => ({
          path: { type: rng.pick(['Exact', 'PathPrefix', 'RegularExpression']), value: rng.pick([...HOSTILE_REGEXES, '/api']) },
          headers: [{ name: rng.pick(['x-a', 'authorization', '']), type: rng.pick(['Exact', 'RegularExpression']), value: rng.pick(HOSTILE_REGEXES) }],
          queryParams: [{ name: 'q', type: 'RegularExpression', value: rng.pick(HOSTILE_REGEXES) }],
          method: rng.pick(METHODS),
        })) }],
      },
    };
    case 1: return {
      apiVersion: 'policy.linkerd.io/v1beta3', kind: 'Server',
      metadata: { name: rng.pick(NAMES), namespace: 'emojivoto' },
      spec: { podSelector: { matchLabels: { app: rng.pick(NAMES) } }, port: rng.pick([8080, 'http', 0, -1, 'x'.repeat(20)]), proxyProtocol: rng.pick(['HTTP/1', 'gRPC', 'opaque', 'bogus']) },
    };
    default: return {
      apiVersion: 'policy.linkerd.io/v1alpha1', kind: rng.pick(['AuthorizationPolicy', 'MeshTLSAuthentication', 'NetworkAuthentication']),
      metadata: { name: rng.pick(NAMES), namespace: 'emojivoto' },
      spec: {
        targetRef: { group: rng.pick(['policy.linkerd.io', 'gateway.networking.k8s.io', '']), kind: rng.pick(['Server', 'HTTPRoute', 'Namespace']), name: rng.pick(NAMES) },
        requiredAuthenticationRefs: [{ group: 'policy.linkerd.io', kind: rng.pick(['MeshTLSAuthentication', 'ServiceAccount']), name: rng.pick(NAMES) }],
        identities: some(rng, ['*', '*.emojivoto.serviceaccount.identity.linkerd.cluster.local', 'web']),
        networks: [{ cidr: rng.pick(['0.0.0.0/0', '::/0', '10.0.0.0/33', 'x']), except: some(rng, ['10.1.0.0/16']) }],
      },
    };
  }
}

function consulIntentions(rng: Prng): Record<string, unknown> {
  return {
    Kind: 'service-intentions',
    Name: rng.pick(NAMES),
    Sources: Array.from({ length: rng.int(3) + 1 }, () => ({
      Name: rng.pick(NAMES),
      ...(rng.chance(0.5) ? { Action: rng.pick(['allow', 'deny', 'ALLOW']) } : {
        Permissions: Array.from({ length: rng.int(3) + 1 }, () => ({
          Action: rng.pick(['allow', 'deny']),
          HTTP: {
            ...(rng.chance(0.5) ? { PathRegex: rng.pick(HOSTILE_REGEXES) } : { PathPrefix: rng.pick(PATHS) }),
            Methods: some(rng, METHODS),
            Header: [{ Name: rng.pick(['x-a', 'authorization']), Regex: rng.pick(HOSTILE_REGEXES) }],
          },
        })),
      }),
    })),
  };
}

function generatedConsul(rng: Prng): unknown {
  if (rng.chance(0.5)) return consulIntentions(rng);
  const entry = consulIntentions(rng);
  const lower = (v: unknown): unknown => Array.isArray(v) ? v.map(lower) : v && typeof v === 'object'
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k === 'HTTP' ? 'http' : k[0]!.toLowerCase() + k.slice(1), lower(x)])) : v;
  return { apiVersion: 'consul.hashicorp.com/v1alpha1', kind: 'ServiceIntentions', metadata: { name: rng.pick(NAMES) }, spec: { destination: { name: entry['Name'] }, sources: lower(entry['Sources']) } };
}

/** HCL 1 as `consul config write` reads it: objects as blocks, or as `= {}` attributes. */
export function toHcl(value: unknown, rng: Prng, indent = ''): string {
  const scalar = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === null ? 'null' : '');
  const inline = (v: unknown, pad: string): string => {
    if (Array.isArray(v)) return `[\n${v.map((x) => `${pad}  ${inline(x, `${pad}  `)},`).join('\n')}\n${pad}]`;
    if (v && typeof v === 'object') return `{\n${toHcl(v, rng, `${pad}  `)}${pad}}`;
    return scalar(v);
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) return `${indent}${inline(value, indent)}\n`;
  const out: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const objects = Array.isArray(v) && v.length > 0 && v.every((x) => x && typeof x === 'object' && !Array.isArray(x));
    if (objects && rng.chance(0.5)) for (const item of v as unknown[]) out.push(`${indent}${key} {\n${toHcl(item, rng, `${indent}  `)}${indent}}`);
    else if (v && typeof v === 'object' && !Array.isArray(v) && rng.chance(0.5)) out.push(`${indent}${key} {\n${toHcl(v, rng, `${indent}  `)}${indent}}`);
    else out.push(`${indent}${key} = ${inline(v, indent)}`);
  }
  return `${out.join('\n')}\n`;
}

function serialize(value: unknown, format: PolicyFormat, rng: Prng): string {
  if (format === 'json') return JSON.stringify(value, null, rng.pick([0, 2, 4, '\t']));
  if (format === 'hcl') return toHcl(value, rng);
  return stringify(value, { collectionStyle: rng.pick(['any', 'any', 'flow', 'block'] as const), lineWidth: 0 });
}

// ---- structural mutations on a parsed value ----

type Json = unknown;

function nodes(value: Json, out: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = []): typeof out {
  if (Array.isArray(value)) value.forEach((v, i) => { out.push({ parent: value, key: i }); nodes(v, out); });
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) { out.push({ parent: value as Record<string, unknown>, key: k }); nodes(v, out); }
  return out;
}

function replacement(rng: Prng, old: unknown): unknown {
  switch (rng.int(12)) {
    case 0: return rng.int(2) ? rng.between(-5, 70000) : rng.pick([1e308, -0, 0.5, Number.MAX_SAFE_INTEGER + 2]);
    case 1: return rng.chance(0.5);
    case 2: return null;
    case 3: return [old];
    case 4: return { value: old };
    case 5: return rng.pick(HOSTILE_REGEXES);
    case 6: return hugeString(rng).slice(0, rng.pick([100, 5000, 70_000]));
    case 7: return randomUnits(rng, rng.between(1, 40));
    case 8: return rng.pick(SCALARS);
    case 9: return [];
    case 10: return {};
    default: return typeof old === 'string' ? old + controlChar(rng) : String(old);
  }
}

/** One structural change: delete, retype, rename, nest deeper, or copy a subtree elsewhere. */
export function mutateValue(rng: Prng, value: Json): Json {
  const all = nodes(value);
  if (all.length === 0) return replacement(rng, value);
  const target = rng.pick(all);
  const parent = target.parent as Record<string | number, unknown>;
  switch (rng.int(6)) {
    case 0: // delete
      if (Array.isArray(target.parent)) target.parent.splice(target.key as number, 1);
      else delete parent[target.key];
      break;
    case 1: // rename the key: case change, typo, or a random key
      if (!Array.isArray(target.parent)) {
        const key = String(target.key);
        const renamed = rng.pick([key.toUpperCase(), key.toLowerCase(), key.slice(0, -1), `${key}s`, `${key}_${key}`, randomUnits(rng, 5), '<<', '']);
        parent[renamed] = parent[key];
        if (renamed !== key) delete parent[key];
      }
      break;
    case 2: { // nest deeper
      let v: unknown = parent[target.key];
      for (let i = rng.between(1, 200); i > 0; i--) v = rng.chance(0.5) ? [v] : { x: v };
      parent[target.key] = v;
      break;
    }
    case 3: { // copy another subtree here
      const other = rng.pick(all);
      parent[target.key] = structuredClone((other.parent as Record<string | number, unknown>)[other.key]);
      break;
    }
    default:
      parent[target.key] = replacement(rng, parent[target.key]);
  }
  return value;
}

// ---- text mutations ----

function lineSpan(text: string, rng: Prng): [number, number] {
  const lines = text.split('\n');
  const i = rng.int(lines.length);
  const start = lines.slice(0, i).join('\n').length + (i > 0 ? 1 : 0);
  return [start, start + lines[i]!.length];
}

/** One change of the text: bytes inserted, deleted, duplicated, swapped or truncated. */
export function mutateText(rng: Prng, text: string, format: PolicyFormat): string {
  const at = rng.int(text.length + 1);
  const syntax = format === 'hcl' ? HCL_SYNTAX : YAML_SYNTAX;
  switch (rng.int(14)) {
    case 0: return text.slice(0, at);
    case 1: return text.slice(0, at) + rng.pick(syntax) + text.slice(at);
    case 2: return text.slice(0, at) + controlChar(rng) + text.slice(at);
    case 3: { const end = Math.min(text.length, at + rng.between(1, 40)); return text.slice(0, at) + text.slice(end); }
    case 4: { const [s, e] = lineSpan(text, rng); return `${text.slice(0, e)}\n${text.slice(s, e)}${text.slice(e)}`; } // duplicate a line (duplicate keys)
    case 5: { // swap two lines
      const lines = text.split('\n');
      const i = rng.int(lines.length);
      const j = rng.int(lines.length);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
    case 6: { const [s] = lineSpan(text, rng); return text.slice(0, s) + rng.pick(['\t', ' ', '   ', '-']) + text.slice(s); } // indentation
    case 7: return text.slice(0, at) + rng.pick(SCALARS) + text.slice(at);
    case 8: return text.slice(0, at) + rng.pick(HOSTILE_REGEXES) + text.slice(at);
    case 9: return text.replace(/\n/g, rng.pick(['\r\n', '\r', '\n\n', '\u2028']));
    case 10: return text.slice(0, at) + randomUnits(rng, rng.between(1, 30)) + text.slice(at);
    case 11: return rng.chance(0.5) ? `\ufeff${text}` : `${text}\u0000`;
    case 12: { const [s, e] = lineSpan(text, rng); return text.slice(0, s) + text.slice(e); }
    default: return text.slice(0, at) + text.slice(at).toLowerCase();
  }
}

/** A whole hostile document for the format: alias bomb, deep nesting, huge scalar, many documents. */
export function hostileDocument(rng: Prng, format: PolicyFormat): string {
  const header = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\n';
  if (format === 'json') {
    const depth = rng.pick([100, 1000, 20_000]);
    return rng.chance(0.5) ? `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","spec":${'['.repeat(depth)}${']'.repeat(depth)}}` : `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"${hugeString(rng).replace(/["\\]/g, 'q')}"}}`;
  }
  if (format === 'hcl') {
    const depth = rng.pick([50, 500, 5000]);
    return `Kind = "service-intentions"\nName = "x"\n${'Sources { '.repeat(depth)}${'} '.repeat(depth)}\nMeta = ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
  }
  switch (rng.int(5)) {
    case 0: return header + `spec:\n  rules:\n${aliasBomb(rng.between(3, 12), rng.between(2, 10)).split('\n').map((l) => `    ${l}`).join('\n')}`;
    case 1: return `${header}spec: ${deepNesting(rng, rng.pick([65, 200, 3000]))}\n`;
    case 2: {
      // The yaml package reads double-quoted scalars at about 1 µs a character: past 200 KB use single quotes.
      const big = hugeString(rng).replace(/["\\']/g, 'q');
      const quote = big.length > 200_000 ? "'" : '"';
      return `${header}spec:\n  action: ${quote}${big}${quote}\n`;
    }
    case 3: return `${header}---\n`.repeat(rng.pick([10, 1000, 21_000]));
    default: return `${header}spec:\n  rules:\n  - to:\n    - operation:\n        paths: [${Array.from({ length: rng.pick([10, 5000]) }, (_, i) => `"/p${i}"`).join(', ')}]\n`;
  }
}

/** A policy file to fuzz: an example or a generated policy, then structural and text mutations. */
export function fuzzPolicy(rng: Prng): PolicyText {
  const format = rng.weighted<PolicyFormat>([[6, 'yaml'], [2, 'json'], [2, 'hcl']]);
  if (rng.chance(0.08)) return { name: `hostile.${format}`, format, text: hostileDocument(rng, format) };
  let value: unknown;
  let text: string | undefined;
  const source = rng.int(3);
  if (source === 0) {
    const pool = examplePolicies();
    const example = rng.pick(pool);
    if (rng.chance(0.4)) text = example.text;
    else {
      try {
        value = example.format === 'yaml' ? parseAllDocuments(example.text).map((d) => d.toJS())[0] : example.format === 'json' ? JSON.parse(example.text) : undefined;
      } catch {
        value = undefined;
      }
      if (value === undefined) text = example.text;
    }
    if (text !== undefined) {
      for (let i = rng.int(4); i >= 0; i--) text = mutateText(rng, text, example.format);
      return { name: example.name, format: example.format, text };
    }
  } else {
    value = source === 1 ? (rng.chance(0.5) ? generatedIstio(rng) : generatedLinkerd(rng)) : generatedConsul(rng);
  }
  for (let i = rng.int(4); i > 0; i--) value = mutateValue(rng, value);
  const chosen = (value as Record<string, unknown> | null)?.['Kind'] !== undefined && format === 'yaml' ? rng.pick<PolicyFormat>(['hcl', 'json', 'yaml']) : format;
  text = serialize(value, chosen, rng);
  for (let i = rng.int(3); i > 0; i--) text = mutateText(rng, text, chosen);
  return { name: `generated.${chosen}`, format: chosen, text };
}
