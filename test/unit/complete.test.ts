import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { completeAt } from '../../server/src/engine/complete';
import { Engine } from '../../server/src/engine/engine';

const engine = new Engine();

/** Completion at the `|` of the text. */
function labels(path: string, textWithCursor: string): string[] {
  const offset = textWithCursor.indexOf('|');
  const result = engine.lintText(path, textWithCursor.replace('|', ''));
  return completeAt(result.file, result.resources, engine.registry, offset).map((s) => s.label);
}

describe('completion', () => {
  it('YAML: keys of the mapping under the cursor, without those already present', () => {
    const found = labels('p.yaml', 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\nspec:\n  action: DENY\n  rules:\n  - from:\n    - source:\n        principals: [a]\n        |\n');
    assert.ok(found.includes('namespaces') && found.includes('ipBlocks') && found.includes('notPrincipals'), found.join(','));
    assert.ok(!found.includes('principals'));
  });

  it('YAML: enum values', () => {
    assert.deepEqual(labels('p.yaml', 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: p\nspec:\n  mtls:\n    mode: |\n').sort(), ['DISABLE', 'PERMISSIVE', 'STRICT', 'UNSET']);
  });

  it('JSON config entry: keys and values', () => {
    const keys = labels('e.json', '{\n  "Kind": "service-intentions",\n  "Name": "api",\n  "Sources": [\n    {\n      "Name": "web",\n      "Act|"\n    }\n  ]\n}');
    assert.ok(keys.includes('Action') && keys.includes('Permissions') && !keys.includes('Name'), keys.join(','));
    assert.deepEqual(labels('e.json', '{\n  "Kind": "service-intentions",\n  "Name": "api",\n  "Sources": [\n    {\n      "Name": "web",\n      "Action": "|"\n    }\n  ]\n}'), ['allow', 'deny']);
  });

  it('HCL config entry: keys in list items and in repeated blocks, and values', () => {
    const inList = labels('e.hcl', 'Kind = "service-intentions"\nName = "api"\nSources = [\n  {\n    Name = "web"\n    Perm|\n  }\n]\n');
    assert.ok(inList.includes('Permissions') && !inList.includes('Name'), inList.join(','));
    const inBlocks = labels('e.hcl', 'Kind = "service-intentions"\nName = "api"\nSources {\n  Name = "web"\n  Permissions {\n    Action = "allow"\n    HTTP {\n      Methods = ["GET"]\n      |\n    }\n  }\n}\n');
    assert.deepEqual(inBlocks, ['Header', 'PathExact', 'PathPrefix', 'PathRegex']);
    assert.deepEqual(labels('e.hcl', 'Kind = "service-intentions"\nName = "api"\nSources = [\n  {\n    Name = "web"\n    Action = "|"\n  }\n]\n'), ['allow', 'deny']);
  });

  it('nothing for files that are not policies', () => {
    assert.deepEqual(labels('values.yaml', 'image:\n  |\n'), []);
    assert.deepEqual(labels('package.json', '{"|"}'), []);
  });
});
