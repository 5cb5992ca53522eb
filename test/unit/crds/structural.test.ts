import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { structuralProblems } from '../../../server/src/engine/crds/structural';
import { installedCrdOf, installedCrdsFor, MESH_CRD_KINDS } from '../../../server/src/engine/crds/installed';
import { sharedRegistry } from '../../../server/src/engine/schema/registry';
import { buildInventory } from '../../../server/src/engine/inventory/inventory';
import { bulkDocuments, bulkInventoryValues } from '../../../server/src/engine/inventory/bulkObjects';
import { readSource } from '../../../server/src/engine/source/read';
import { crdYaml, OLD_AUTHORIZATION_POLICY } from '../../helpers/crds';

/**
 * The API server's structural schema validation of custom resources (apiextensions.k8s.io/v1):
 * each keyword, with the error in the form the API server writes it (`field: Invalid value: …`,
 * `Unsupported value`, `Required value`, `Too many`, `Duplicate value`; strict decoding's
 * `unknown field "…"`).
 */
const spec = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: 'object', properties: { spec: { type: 'object', properties, ...extra } } });

const CASES: Array<{ name: string; schema: Record<string, unknown>; value: Record<string, unknown>; expect: Array<{ path: Array<string | number>; kind: string; message: string }> }> = [
  { name: 'unknown field at the top and nested', schema: spec({ a: { type: 'string' } }), value: { spec: { a: 'x', b: 1 }, extra: true }, expect: [
    { path: ['spec', 'b'], kind: 'unknown', message: 'unknown field "spec.b"' },
    { path: ['extra'], kind: 'unknown', message: 'unknown field "extra"' },
  ] },
  { name: 'metadata, apiVersion and kind are the API server\'s own', schema: spec({}), value: { apiVersion: 'x/v1', kind: 'K', metadata: { name: 'n', anything: 1 }, spec: {} }, expect: [] },
  { name: 'x-kubernetes-preserve-unknown-fields keeps what it holds', schema: spec({ free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }), value: { spec: { free: { any: { thing: 1 } } } }, expect: [] },
  { name: 'additionalProperties: map values are checked, keys are free', schema: spec({ labels: { type: 'object', additionalProperties: { type: 'string' } } }), value: { spec: { labels: { app: 'web', 'app.kubernetes.io/part-of': 3 } } }, expect: [
    { path: ['spec', 'labels', 'app.kubernetes.io/part-of'], kind: 'invalid', message: 'spec.labels[app.kubernetes.io/part-of]: Invalid value: "integer": spec.labels[app.kubernetes.io/part-of] in body must be of type string: "integer"' },
  ] },
  { name: 'type mismatch stops at the value', schema: spec({ rules: { type: 'array', items: { type: 'object' } } }), value: { spec: { rules: { from: [] } } }, expect: [
    { path: ['spec', 'rules'], kind: 'invalid', message: 'spec.rules: Invalid value: "object": spec.rules in body must be of type array: "object"' },
  ] },
  { name: 'integer is not number with a fraction', schema: spec({ n: { type: 'integer' }, f: { type: 'number' } }), value: { spec: { n: 1.5, f: 2 } }, expect: [
    { path: ['spec', 'n'], kind: 'invalid', message: 'spec.n: Invalid value: "number": spec.n in body must be of type integer: "number"' },
  ] },
  { name: 'x-kubernetes-int-or-string', schema: spec({ port: { 'x-kubernetes-int-or-string': true } }), value: { spec: { port: true } }, expect: [
    { path: ['spec', 'port'], kind: 'invalid', message: 'spec.port: Invalid value: "boolean": spec.port in body must be of type integer or string: "boolean"' },
  ] },
  { name: 'enum', schema: spec({ action: { type: 'string', enum: ['ALLOW', 'DENY'] } }), value: { spec: { action: 'allow' } }, expect: [
    { path: ['spec', 'action'], kind: 'invalid', message: 'spec.action: Unsupported value: "allow": supported values: "ALLOW", "DENY"' },
  ] },
  { name: 'pattern (RE2, unanchored) and lengths in characters', schema: spec({ p: { type: 'string', pattern: '[0-9]' }, s: { type: 'string', maxLength: 3, minLength: 2 }, t: { type: 'string', minLength: 2 } }), value: { spec: { p: 'abc', s: 'äöüß', t: 'é' } }, expect: [
    { path: ['spec', 'p'], kind: 'invalid', message: 'spec.p: Invalid value: "abc": spec.p in body should match \'[0-9]\'' },
    { path: ['spec', 's'], kind: 'invalid', message: 'spec.s: Too long: may not be more than 3 bytes' },
    { path: ['spec', 't'], kind: 'invalid', message: 'spec.t: Invalid value: "é": spec.t in body should be at least 2 chars long' },
  ] },
  { name: 'a pattern that matches somewhere in the value passes', schema: spec({ p: { type: 'string', pattern: '[0-9]' } }), value: { spec: { p: 'a1b' } }, expect: [] },
  { name: 'bounds, exclusive bounds (OpenAPI v3.0 booleans) and multipleOf', schema: spec({ a: { type: 'integer', maximum: 10 }, b: { type: 'integer', minimum: 1, exclusiveMinimum: true }, c: { type: 'integer', multipleOf: 5 } }), value: { spec: { a: 11, b: 1, c: 7 } }, expect: [
    { path: ['spec', 'a'], kind: 'invalid', message: 'spec.a: Invalid value: 11: spec.a in body should be less than or equal to 10' },
    { path: ['spec', 'b'], kind: 'invalid', message: 'spec.b: Invalid value: 1: spec.b in body should be greater than 1' },
    { path: ['spec', 'c'], kind: 'invalid', message: 'spec.c: Invalid value: 7: spec.c in body should be a multiple of 5' },
  ] },
  { name: 'item and property counts', schema: spec({ l: { type: 'array', maxItems: 1, items: { type: 'string' } }, m: { type: 'array', minItems: 2, items: { type: 'string' } }, o: { type: 'object', maxProperties: 1, additionalProperties: { type: 'string' } } }), value: { spec: { l: ['a', 'b'], m: ['a'], o: { a: 'x', b: 'y' } } }, expect: [
    { path: ['spec', 'l'], kind: 'invalid', message: 'spec.l: Too many: 2: must have at most 1 items' },
    { path: ['spec', 'm'], kind: 'invalid', message: 'spec.m: Invalid value: 1: spec.m in body should have at least 2 items' },
    { path: ['spec', 'o'], kind: 'invalid', message: 'spec.o: Too many: 2: must have at most 1 items' },
  ] },
  { name: 'required, at the top and nested', schema: { type: 'object', required: ['spec'], properties: { spec: { type: 'object', required: ['key'], properties: { key: { type: 'string' } } } } }, value: { spec: {} }, expect: [
    { path: ['spec', 'key'], kind: 'missing', message: 'spec.key: Required value' },
  ] },
  { name: 'a missing top-level field', schema: { type: 'object', required: ['spec'], properties: { spec: { type: 'object' } } }, value: {}, expect: [
    { path: ['spec'], kind: 'missing', message: 'spec: Required value' },
  ] },
  { name: 'list types: set and map', schema: spec({ s: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } }, m: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object', properties: { name: { type: 'string' }, v: { type: 'integer' } } } } }), value: { spec: { s: ['a', 'b', 'a'], m: [{ name: 'x', v: 1 }, { name: 'x', v: 2 }] } }, expect: [
    { path: ['spec', 's', 2], kind: 'invalid', message: 'spec.s[2]: Duplicate value: "a"' },
    { path: ['spec', 'm', 1], kind: 'invalid', message: 'spec.m[1]: Duplicate value: map[name:x]' },
  ] },
  { name: 'oneOf: exactly one (the StringMatch form of Istio\'s CRDs)', schema: spec({ m: { type: 'object', properties: { exact: { type: 'string' }, prefix: { type: 'string' } }, oneOf: [{ not: { anyOf: [{ required: ['exact'] }, { required: ['prefix'] }] } }, { required: ['exact'] }, { required: ['prefix'] }] } }), value: { spec: { m: { exact: 'a', prefix: 'b' } } }, expect: [
    { path: ['spec', 'm'], kind: 'invalid', message: 'spec.m: Invalid value: "object": spec.m in body must match exactly one schema in oneOf' },
  ] },
  { name: 'oneOf satisfied; junctors never report unknown fields', schema: spec({ m: { type: 'object', properties: { exact: { type: 'string' }, prefix: { type: 'string' } }, oneOf: [{ required: ['exact'] }, { required: ['prefix'] }] } }), value: { spec: { m: { exact: 'a' } } }, expect: [] },
  { name: 'anyOf and allOf', schema: spec({ a: { type: 'object', anyOf: [{ required: ['x'] }, { required: ['y'] }] }, b: { type: 'string', allOf: [{ maxLength: 2 }] } }), value: { spec: { a: { z: 1 }, b: 'abc' } }, expect: [
    { path: ['spec', 'a', 'z'], kind: 'unknown', message: 'unknown field "spec.a.z"' },
    { path: ['spec', 'a'], kind: 'invalid', message: 'spec.a: Invalid value: "object": spec.a in body must match at least one schema in anyOf' },
    { path: ['spec', 'b'], kind: 'invalid', message: 'spec.b: Too long: may not be more than 2 bytes' },
  ] },
  // CEL rules (x-kubernetes-validations), as the API server evaluates them on create
  { name: 'CEL: a rule that fails, with its message (Istio\'s one-of-selector-or-targetRefs rule)', schema: spec({ selector: { type: 'object' }, targetRefs: { type: 'array', items: { type: 'object' } } }, { 'x-kubernetes-validations': [{ rule: '(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1', message: 'only one of targetRefs or selector can be set' }] }), value: { spec: { selector: {}, targetRefs: [{}] } }, expect: [
    { path: ['spec'], kind: 'invalid', message: 'spec: Invalid value: "object": only one of targetRefs or selector can be set' },
  ] },
  { name: 'CEL: without a message, the rule itself', schema: spec({ ports: { type: 'array', items: { type: 'string' }, 'x-kubernetes-validations': [{ rule: 'self.all(p, int(p) <= 65535)' }] } }), value: { spec: { ports: ['80', '70000'] } }, expect: [
    { path: ['spec', 'ports'], kind: 'invalid', message: 'spec.ports: Invalid value: "array": failed rule: self.all(p, int(p) <= 65535)' },
  ] },
  { name: 'CEL: map keys, strings extension, integers as int and numbers as double', schema: spec({ m: { type: 'object', additionalProperties: { type: 'integer' }, 'x-kubernetes-validations': [{ rule: 'self.all(k, !k.contains("*") && self[k] > 0)' }] }, d: { type: 'number', 'x-kubernetes-validations': [{ rule: 'self == 2.0' }] }, s: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self.lowerAscii() == "abc"' }] } }), value: { spec: { m: { a: 1, b: 2 }, d: 2, s: 'ABC' } }, expect: [] },
  { name: 'CEL: Kubernetes\' url library (Istio\'s jwksUri rule)', schema: spec({ uri: { type: 'string', 'x-kubernetes-validations': [{ rule: 'url(self).getScheme() in ["http", "https"]', message: 'url must have scheme http:// or https://' }] } }), value: { spec: { uri: 'ftp://keys.example/jwks' } }, expect: [
    { path: ['spec', 'uri'], kind: 'invalid', message: 'spec.uri: Invalid value: "string": url must have scheme http:// or https://' },
  ] },
  { name: 'CEL: not evaluated: transition rules (oldSelf), unknown functions, errors', schema: spec({ a: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf' }, { rule: 'quantity(self).isInteger()' }, { rule: 'int(self) > 0' }] } }), value: { spec: { a: 'x' } }, expect: [] },
  { name: 'CEL: a rule that passes', schema: spec({ a: { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self >= 1 && self <= 10' }] } }), value: { spec: { a: 5 } }, expect: [] },
  { name: 'status is skipped when it is a subresource', schema: spec({}), value: { spec: {}, status: { conditions: [] } }, expect: [] },
  { name: 'null values are dropped, not refused', schema: spec({ a: { type: 'array', items: { type: 'string' } } }), value: { spec: { a: ['x', null] } }, expect: [] },
  { name: 'a pattern RE2 cannot compile is not checked', schema: spec({ p: { type: 'string', pattern: '(?=lookahead)' } }), value: { spec: { p: 'x' } }, expect: [] },
];

describe('CRD structural schemas', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const found = structuralProblems(c.value, c.schema, { skipStatus: c.name.startsWith('status') });
      assert.deepEqual(found.map((p) => ({ path: p.path, kind: p.kind, message: p.message })), c.expect);
    });
  }

  it('a schema nested past the stack says nothing instead of throwing', () => {
    let nested: Record<string, unknown> = { type: 'integer' };
    for (let i = 0; i < 100_000; i++) nested = { allOf: [nested] };
    assert.deepEqual(structuralProblems({ spec: { a: 'x' } }, spec({ a: nested }), { skipStatus: false }), []);
  });

    it('a hostile pattern is matched in linear time', () => {
    const started = process.hrtime.bigint();
    const found = structuralProblems({ spec: { p: `${'a'.repeat(50_000)}!` } }, spec({ p: { type: 'string', pattern: '^(a+)+$' } }), { skipStatus: false });
    assert.equal(found.length, 1);
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 2_000, 'no catastrophic backtracking');
  });
});

describe('CRD CEL rules: bounded work', () => {
  it('a rule that nests comprehensions over a long list is not evaluated, and returns at once', () => {
    const started = process.hrtime.bigint();
    const items = Array.from({ length: 3_000 }, (_, i) => `v${i}`);
    const found = structuralProblems({ spec: { l: items } }, spec({ l: { type: 'array', items: { type: 'string' }, 'x-kubernetes-validations': [{ rule: 'self.all(a, self.all(b, self.all(c, a != "" || b != c)))' }] } }), { skipStatus: false });
    assert.deepEqual(found, []);
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 2_000);
  });

  it('the same rule on a short list is evaluated', () => {
    const found = structuralProblems({ spec: { l: ['a', 'a'] } }, spec({ l: { type: 'array', items: { type: 'string' }, 'x-kubernetes-validations': [{ rule: 'self.all(a, self.exists_one(b, a == b))', message: 'unique' }] } }), { skipStatus: false });
    assert.deepEqual(found.map((p) => p.message), ['spec.l: Invalid value: "array": unique']);
  });
});

describe('CRDs in the inventory', () => {
  const text = crdYaml('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', [{ name: 'v1beta1', schema: OLD_AUTHORIZATION_POLICY, statusSubresource: true }, { name: 'v1alpha1', served: false }]);

  it('reads group, kind, versions, served, schemas and the status subresource', () => {
    const inventory = buildInventory([readSource('crds.yaml', text)]);
    assert.equal(inventory.crds?.length, 1);
    const crd = inventory.crds![0]!;
    assert.deepEqual({ name: crd.name, group: crd.group, kind: crd.kind, file: crd.file }, { name: 'authorizationpolicies.security.istio.io', group: 'security.istio.io', kind: 'AuthorizationPolicy', file: 'crds.yaml' });
    assert.deepEqual(crd.versions.map((v) => [v.name, v.served, v.statusSubresource, v.schema !== undefined]), [['v1beta1', true, true, true], ['v1alpha1', false, false, false]]);
    assert.equal(inventory.present, false, 'a CRD is not a workload object');
    assert.deepEqual(installedCrdsFor(inventory.crds, 'security.istio.io/v1', 'AuthorizationPolicy').map((c) => c.name), ['authorizationpolicies.security.istio.io']);
    assert.deepEqual(installedCrdsFor(inventory.crds, 'security.istio.io/v1', 'PeerAuthentication'), []);
  });

  it('from a kubectl List and from a file read in bulk (no positions)', () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n- ${text.split('\n').join('\n  ').trimEnd()}\n`;
    assert.equal(buildInventory([readSource('list.yaml', list)]).crds?.length, 1);
    const values = bulkInventoryValues(list, 'yaml') ?? [];
    const bulk = buildInventory([{ ...readSource('big.yaml', ''), documents: bulkDocuments(values, 0) }]);
    assert.equal(bulk.crds?.[0]?.kind, 'AuthorizationPolicy');
  });

  it('keeps the CRDs of the kinds the catalog recognizes, and no other', () => {
    const recognized = new Set(sharedRegistry().catalog.entries.filter((e) => e.group).map((e) => `${e.group}/${e.kind}`));
    const kept = new Set(Object.entries(MESH_CRD_KINDS).flatMap(([group, kinds]) => kinds.map((kind) => `${group}/${kind}`)));
    assert.deepEqual([...kept].sort(), [...recognized].sort());
    const certificates = crdYaml('cert-manager.io', 'Certificate', 'certificates', [{ name: 'v1', schema: { type: 'object' } }]);
    assert.deepEqual(buildInventory([readSource('crds.yaml', certificates)]).crds, []);
  });

  it('leaves out a CRD of another API version or without versions', () => {
    assert.equal(installedCrdOf({ apiVersion: 'apiextensions.k8s.io/v1beta1', kind: 'CustomResourceDefinition', spec: { group: 'g', names: { kind: 'K' }, versions: [] } }, { file: 'f', span: { start: 0, end: 0 } }), undefined);
    assert.equal(installedCrdOf({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', spec: { group: 'g', names: { kind: 'K' } } }, { file: 'f', span: { start: 0, end: 0 } }), undefined);
  });
});
