import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Engine } from '../../server/src/engine/engine';
import { buildInventory } from '../../server/src/engine/inventory/inventory';
import type { Resource } from '../../server/src/engine/resource';
import type { SourceFile } from '../../server/src/engine/source/sourceFile';
import { readYaml } from '../../server/src/engine/source/yamlReader';
import { toValue, type SourceNode } from '../../server/src/engine/source/tree';

// The documents after an edited one are placed again at new offsets (shifted lazily) and keep the
// recognition of their cached parse. Whatever is read from them must equal a fresh read of the
// same text: spans, values, resources and their ranges.

const examples = join(__dirname, '..', '..', '..', 'examples');
const consul = readFileSync(join(examples, 'consul', 'crds', 'service-intentions.yaml'), 'utf8');
const linkerd = readFileSync(join(examples, 'linkerd', 'policy', 'authorization-policies.yaml'), 'utf8');
const istio = readFileSync(join(examples, 'istio', 'security', 'authorization-policies.yaml'), 'utf8');
const list = [
  'apiVersion: v1',
  'kind: List',
  'items:',
  '  - apiVersion: security.istio.io/v1',
  '    kind: AuthorizationPolicy',
  '    metadata: {name: from-list, namespace: shop}',
  '    spec:',
  '      action: DENY',
  '      rules:',
  '        - to: [{operation: {paths: ["/admin*"]}}]',
  '',
].join('\n');

/** Every node with its span and value, in document order. */
function walk(node: SourceNode | undefined, out: unknown[] = []): unknown[] {
  if (!node) return out;
  out.push([node.type, node.span.start, node.span.end, node.type === 'scalar' ? node.value : undefined]);
  if (node.type === 'object') for (const e of node.entries) { out.push(['key', e.key, e.keySpan.start, e.keySpan.end]); walk(e.value, out); }
  if (node.type === 'array') for (const item of node.items) walk(item, out);
  return out;
}

function describeResources(file: SourceFile, resources: Resource[]): unknown[] {
  return resources.map((r) => ({
    mesh: r.mesh, kind: r.kind, name: r.name, namespace: r.namespace, documentIndex: r.documentIndex, path: r.path,
    range: file.lines.range(r.node.span), text: file.text.slice(r.node.span.start, r.node.span.end), value: toValue(r.node), nodes: walk(r.node),
  }));
}

function assertSameAsFresh(cached: Engine, path: string, text: string): void {
  const fresh = new Engine();
  const placed = cached.prepare(cached.read(path, text));
  // Read without the document cache: nothing placed, nothing taken over.
  const reference = fresh.prepare(readYaml(path, text));
  assert.equal(placed.file.documents.length, reference.file.documents.length);
  placed.file.documents.forEach((document, i) => {
    assert.equal(document.index, reference.file.documents[i]!.index);
    assert.deepEqual(document.span, reference.file.documents[i]!.span);
    assert.deepEqual(walk(document.root), walk(reference.file.documents[i]!.root), `document ${i}`);
    assert.deepEqual(document.root, reference.file.documents[i]!.root, `document ${i} as a value`);
  });
  assert.deepEqual(describeResources(placed.file, placed.recognition.resources), describeResources(reference.file, reference.recognition.resources));
  assert.deepEqual(placed.recognition.unserved.map((u) => [u.documentIndex, u.kind, u.node.span]), reference.recognition.unserved.map((u) => [u.documentIndex, u.kind, u.node.span]));
  assert.deepEqual(cached.lint(placed).findings, fresh.lint(reference).findings);
  assert.deepEqual(buildInventory([placed.file]), buildInventory([reference.file]));
}

describe('documents placed again after an edit', () => {
  const cases: { name: string; before: string; edits: ((text: string) => string)[] }[] = [
    {
      name: 'Istio policies, the first one grows, shrinks, gains lines and loses them',
      before: istio,
      edits: [
        (t) => t.replace('name: ', 'name: x'),
        (t) => t.replace('name: ', 'name:'),
        (t) => t.replace('metadata:', 'metadata:\n  labels: {team: a}\n  annotations: {}'),
        (t) => t,
      ],
    },
    {
      name: 'a kubectl List and an unserved version after the edited document',
      before: `kind: Namespace\napiVersion: v1\nmetadata: {name: shop}\n---\n${list}---\napiVersion: security.istio.io/v1alpha0\nkind: AuthorizationPolicy\nmetadata: {name: old}\n`,
      edits: [(t) => t.replace('name: shop', 'name: shop-longer-name'), (t) => t.replace('name: shop', 'name: s')],
    },
    {
      name: 'Kubernetes objects of the inventory after the edited policy',
      before: `${istio}---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {a: b}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cart, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: cart}}\n    spec: {serviceAccountName: cart}\n`,
      edits: [(t) => t.replace('name: ', 'name: longer-'), (t) => t.replace('metadata:', 'metadata:\n  labels: {x: y}')],
    },
    {
      name: 'Consul intentions (canonicalized) after the edited document',
      before: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n${consul}`,
      edits: [(t) => t.replace('name: a}', 'name: abc}\ndata: {k: v}'), (t) => t.replace('name: a}', 'name: }')],
    },
    {
      name: 'Linkerd policies, an edit inside a later document and then before it',
      before: linkerd,
      edits: [(t) => t.replace(/(\n---\n[\s\S]*?name: )/, '$1z'), (t) => `# a comment on top\n${t}`],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const engine = new Engine();
      engine.prepare(engine.read('/ws/p.yaml', c.before));
      assertSameAsFresh(engine, '/ws/p.yaml', c.before);
      for (const edit of c.edits) {
        const text = edit(c.before);
        assert.ok(text.split('\n---\n').length > 1);
        assertSameAsFresh(engine, '/ws/p.yaml', text);
        // And back: the earlier placements are taken over again.
        assertSameAsFresh(engine, '/ws/p.yaml', c.before);
      }
    });
  }

  it('reads a later document only as deep as it is asked', () => {
    const engine = new Engine();
    const text = `a: 1\n---\n${list}`;
    engine.read('/ws/q.yaml', text);
    const placed = engine.read('/ws/q.yaml', `a: 12\n---\n${list}`);
    const root = placed.documents[1]!.root!;
    assert.equal(root.type, 'object');
    // Before it is read, the entries are an accessor; after, the same array every time.
    assert.equal(typeof Object.getOwnPropertyDescriptor(root, 'entries')?.get, 'function');
    assert.equal(root.type === 'object' && root.entries, root.type === 'object' && root.entries);
    assert.deepEqual({ ...root }, root);
  });
});
