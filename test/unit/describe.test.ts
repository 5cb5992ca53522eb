// Hover documentation (engine/describe.ts): the example shown must be valid YAML of the shape the
// field takes where the cursor is. Istio's AuthorizationPolicy `rules` and `principals` are lists
// (security.istio.io/v1 AuthorizationPolicy reference), so inside one of their items the example is
// one item of a list, not a mapping or a scalar under the list's name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { describeAt } from '../../server/src/engine/describe';
import { Engine } from '../../server/src/engine/engine';
import { readSource } from '../../server/src/engine/source/read';

const engine = new Engine();
const POLICY = [
  'apiVersion: security.istio.io/v1',
  'kind: AuthorizationPolicy',
  'metadata:',
  '  name: p',
  '  namespace: shop',
  'spec:',
  '  action: ALLOW',
  '  rules:',
  '  - from:',
  '    - source:',
  '        principals: ["cluster.local/ns/shop/sa/frontend"]',
  '',
].join('\n');

function hoverAt(marker: string, delta = 0): string {
  const result = engine.lintText('policy.yaml', POLICY);
  const doc = describeAt(result.file, result.resources, engine.registry, POLICY.indexOf(marker) + delta);
  assert.ok(doc, `a hover at ${marker}`);
  return doc.contents;
}

function exampleOf(contents: string): unknown {
  const match = /Example:\n```yaml\n([\s\S]*?)\n```/.exec(contents);
  assert.ok(match, `an example in ${contents}`);
  return parse(match[1]!);
}

describe('hover examples', () => {
  const cases: { name: string; marker: string; delta?: number; title: RegExp; shape?: (example: Record<string, unknown>) => boolean }[] = [
    { name: 'a rule (an item of rules) shows rules as a list', marker: '- from:', delta: '- from:'.length, title: /^\*\*rules\*\* item — an object/, shape: (e) => Array.isArray(e['rules']) && (e['rules'] as unknown[]).length === 1 },
    { name: 'a principal is titled as an item of principals', marker: 'cluster.local/ns/shop/sa/frontend', title: /^\*\*principals\*\* item — a string/ },
    { name: 'the rules key itself shows a list', marker: 'rules:', title: /^\*\*rules\*\* — a list/, shape: (e) => Array.isArray(e['rules']) },
    { name: 'a scalar field stays a scalar', marker: 'action:', title: /^\*\*action\*\* — a string/, shape: (e) => typeof e['action'] === 'string' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const contents = hoverAt(c.marker, c.delta);
      assert.match(contents, c.title);
      if (!c.shape) return;
      const example = exampleOf(contents);
      assert.ok(example !== null && typeof example === 'object' && c.shape(example as Record<string, unknown>), `example of the wrong shape: ${JSON.stringify(example)}`);
    });
  }
});

// A Consul config entry is written in HCL or JSON (`consul config write`): its hovers show the
// example in that format, so that it can be copied into the file.
describe('hover examples in the file\'s format', () => {
  const HCL = 'Kind = "service-intentions"\nName = "api"\nSources = [\n  {\n    Name = "web"\n    Permissions = [\n      {\n        Action = "allow"\n      },\n    ]\n  },\n]\n';
  const JSON_ENTRY = '{\n  "Kind": "service-intentions",\n  "Name": "api",\n  "Sources": [\n    {\n      "Name": "web",\n      "Permissions": [\n        {\n          "Action": "allow"\n        }\n      ]\n    }\n  ]\n}\n';

  function example(path: string, text: string, marker: string, fence: string): string {
    const result = engine.lintText(path, text);
    const doc = describeAt(result.file, result.resources, engine.registry, text.indexOf(marker) + 1);
    assert.ok(doc, `a hover at ${marker}`);
    const match = new RegExp(`Example:\\n\`\`\`${fence}\\n([\\s\\S]*?)\\n\`\`\``).exec(doc.contents);
    assert.ok(match, `a ${fence} example in ${doc.contents}`);
    return match[1]!;
  }

  it('an HCL entry shows an HCL example that our HCL reader reads as a list of permissions', () => {
    const text = example('api.hcl', HCL, 'Permissions', 'hcl');
    const read = readSource('example.hcl', text);
    assert.deepEqual(read.problems, [], text);
    const top = read.documents[0]?.root;
    assert.ok(top?.type === 'object', text);
    const permissions = top.entries.find((e) => e.key === 'Permissions')?.value;
    assert.equal(permissions?.type, 'array', text);
  });

  it('a JSON entry shows a JSON example (a member of the entry object)', () => {
    const text = example('api.json', JSON_ENTRY, '"Permissions"', 'json');
    const parsed = JSON.parse(`{${text}}`) as Record<string, unknown>;
    assert.ok(Array.isArray(parsed['Permissions']), text);
  });
});
