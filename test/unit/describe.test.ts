// Hover documentation (engine/describe.ts): the example shown must be valid YAML of the shape the
// field takes where the cursor is. Istio's AuthorizationPolicy `rules` and `principals` are lists
// (security.istio.io/v1 AuthorizationPolicy reference), so inside one of their items the example is
// one item of a list, not a mapping or a scalar under the list's name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { describeAt } from '../../server/src/engine/describe';
import { Engine } from '../../server/src/engine/engine';

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
