import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
import { headersTestedBy } from '../../../server/src/engine/simulate/testedHeaders';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { mayNameHeaders } from '../../../server/src/lsp/traffic';

// The server walks a resource for the headers it tests (to know whether the loaded shapes kept
// them) only when its text may name one: the pre-check must never skip a resource that tests a header.

const engine = new Engine();

function tested(path: string, text: string): string[] {
  const workspace = new WorkspaceModel();
  workspace.update(engine.prepare(engine.read(path, text)));
  return headersTestedBy(workspace);
}

const ISTIO = (condition: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - when:
    - ${condition}
`;

const CASES: [string, string, string, string[]][] = [
  ['Istio request.headers condition', 'p.yaml', ISTIO('key: request.headers[X-Tenant]\n      values: ["a"]'), ['x-tenant']],
  ['the key spelled with a YAML escape', 'p.yaml', ISTIO('key: "request.\\x68eaders[X-Tenant]"\n      values: ["a"]'), ['x-tenant']],
  ['a JSON key spelled with a \\u escape', 'p.json', JSON.stringify(JSON.parse(JSON.stringify({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'p', namespace: 'shop' }, spec: { rules: [{ when: [{ key: 'request.headers[x-a]', values: ['1'] }] }] } }))).replace('headers', '\\u0068eaders'), ['x-a']],
  ['no header condition', 'p.yaml', ISTIO('key: source.namespace\n      values: ["a"]'), []],
];

describe('tested headers: the text pre-check', () => {
  for (const [name, path, text, expected] of CASES) {
    it(name, () => {
      assert.deepEqual(tested(path, text), expected, 'what the walk finds');
      if (expected.length) assert.equal(mayNameHeaders(text), true, 'the pre-check lets it through');
    });
  }
  it('skips text that names no header and has no escape', () => {
    assert.equal(mayNameHeaders(ISTIO('key: source.namespace\n      values: ["a"]')), false);
  });
});
