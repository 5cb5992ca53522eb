import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
import { REHEARSAL_CANDIDATES, rehearsalText } from '../../../server/src/engine/rehearsal';

// The edit rehearsal changes one resource the way a user would: a letter added to the first
// written name, and a line added above it, so that the resources after it move. The copy must
// parse to the same resources, that one renamed, the later ones a line further down, and nothing
// else.

const engine = new Engine();
const prepare = (path: string, text: string) => engine.prepare(engine.read(path, text));

const POLICY = (metadata: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
${metadata}
spec: {}
`;

const CASES: [string, string, string, string | undefined][] = [
  ['a plain name', 'p.yaml', POLICY('metadata:\n  name: allow-nothing\n  namespace: shop'), 'allow-nothingr'],
  ['a double-quoted name', 'p.yaml', POLICY('metadata:\n  name: "allow-nothing"  # quoted\n  namespace: shop'), 'allow-nothingr'],
  ['a single-quoted name', 'p.yaml', POLICY("metadata:\n  name: 'allow-nothing'\n  namespace: shop"), 'allow-nothingr'],
  ['a name in a flow mapping', 'p.yaml', POLICY('metadata: {name: p, namespace: shop}'), 'pr'],
  ['a JSON file', 'p.json', JSON.stringify({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'j', namespace: 'shop' }, spec: {} }), 'jr'],
  ['a name with an escape is left alone', 'p.yaml', POLICY('metadata:\n  name: "allow-\\x6eothing"\n  namespace: shop'), undefined],
  ['no name', 'p.yaml', POLICY('metadata:\n  namespace: shop'), undefined],
  ['not a policy', 'p.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n', undefined],
];

describe('rehearsalText', () => {
  for (const [name, path, text, renamed] of CASES) {
    it(name, () => {
      const before = prepare(path, text);
      const copy = rehearsalText(before);
      if (renamed === undefined) {
        assert.equal(copy, undefined);
        return;
      }
      assert.ok(copy !== undefined);
      const after = prepare(path, copy);
      assert.deepEqual(after.file.documents.flatMap((d) => d.problems), [], 'the copy parses cleanly');
      assert.deepEqual(after.recognition.resources.map((r) => [r.kind, r.name, r.namespace]), before.recognition.resources.map((r, i) => [r.kind, i === 0 ? renamed : r.name, r.namespace]));
    });
  }

  it('renames the first named resource of a multi-document file, and only it; the ones after it move down a line', () => {
    const text = `${POLICY('metadata:\n  namespace: shop')}---\n${POLICY('metadata:\n  name: second\n  namespace: shop')}---\n${POLICY('metadata:\n  name: third\n  namespace: shop')}`;
    const before = prepare('p.yaml', text);
    const after = prepare('p.yaml', rehearsalText(before)!);
    assert.deepEqual(after.recognition.resources.map((r) => r.name), [undefined, 'secondr', 'third']);
    const startLines = (prepared: typeof before) => prepared.recognition.resources.map((r) => prepared.file.lines.position(r.node.span.start).line);
    // 5 and 6 lines, each followed by a separator: the third starts on line 13, and 14 once a line was added in the second
    assert.deepEqual([startLines(before), startLines(after)], [[0, 6, 13], [0, 6, 14]]);
  });
});

describe('rehearsalText: with the reach of each resource, the one that reaches the fewest calls but some', () => {
  const named = (names: string[]) => names.map((name) => POLICY(`metadata:\n  name: ${name}\n  namespace: shop`)).join('---\n');
  const REACH_CASES: [string, string[], Record<string, number>, string | undefined][] = [
    ['a whole-mesh policy first: the narrowest after it', ['everything', 'wide', 'narrow', 'unused'], { everything: 1000, wide: 50, narrow: 3, unused: 0 }, 'narrow'],
    ['on a tie, the first of them', ['a', 'b', 'c'], { a: 9, b: 4, c: 4 }, 'b'],
    ['no resource reaches a call: the first', ['a', 'b'], { a: 0, b: 0 }, 'a'],
    ['only the first reaches calls: the first', ['a', 'b'], { a: 7, b: 0 }, 'a'],
    ['a resource without a name is passed over', ['', 'b'], { b: 2 }, 'b'],
  ];
  for (const [name, names, reaches, renamed] of REACH_CASES) {
    it(name, () => {
      const text = names.map((n) => (n ? named([n]) : POLICY('metadata:\n  namespace: shop'))).join('---\n');
      const before = prepare('p.yaml', text);
      const copy = rehearsalText(before, (resource) => reaches[resource.name ?? ''] ?? 0);
      const after = prepare('p.yaml', copy!);
      assert.deepEqual(after.recognition.resources.map((r) => r.name), names.map((n) => (n === renamed ? `${n}r` : n || undefined)));
    });
  }

  it(`weighs at most ${REHEARSAL_CANDIDATES} resources`, () => {
    const names = Array.from({ length: REHEARSAL_CANDIDATES + 5 }, (_, i) => `p${i}`);
    const weighed: string[] = [];
    const copy = rehearsalText(prepare('p.yaml', named(names)), (resource) => {
      weighed.push(resource.name!);
      return resource.name === `p${REHEARSAL_CANDIDATES + 2}` ? 1 : 10;
    });
    assert.equal(weighed.length, REHEARSAL_CANDIDATES);
    assert.ok(copy!.includes('name: p0r\n'), 'the first of the equally reaching ones weighed');
  });
});
