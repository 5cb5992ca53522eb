import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../server/src/engine/engine';
import { readHcl } from '../../server/src/engine/source/hclReader';
import { readJson } from '../../server/src/engine/source/jsonReader';
import { DEFAULT_READ_LIMITS } from '../../server/src/engine/source/sourceFile';
import { getEntry, locate, toValue } from '../../server/src/engine/source/tree';
import { readYaml, splitAfterEdit, splitDocuments, YamlDocumentCache, type Chunk } from '../../server/src/engine/source/yamlReader';

describe('YAML reader', () => {
  it('reads every document of a multi-document file with exact spans', () => {
    const text = 'a: 1\n---\nkind: X\nspec:\n  action: allow\n';
    const file = readYaml('f.yaml', text);
    assert.equal(file.documents.length, 2);
    const located = locate(file.documents[1]!.root, ['spec', 'action']);
    assert.equal(text.slice(located.node!.span.start, located.node!.span.end), 'allow');
    assert.equal(text.slice(located.keySpan!.start, located.keySpan!.end), 'action');
    assert.deepEqual(file.lines.range(located.node!.span), { start: { line: 4, character: 10 }, end: { line: 4, character: 15 } });
  });

  it('keeps a syntax error in its own document', () => {
    const file = readYaml('f.yaml', 'a: 1\n---\nb: [1, 2\n---\nc: 3\n');
    assert.equal(file.documents.length, 3);
    assert.equal(file.documents[0]!.problems.length, 0);
    assert.ok(file.documents[1]!.problems.some((p) => p.severity === 'error'));
    assert.deepEqual(toValue(file.documents[2]!.root), { c: 3 });
  });

  it('takes a lone carriage return as a line break (YAML 1.2.2 §5.4), at the positions LSP gives', () => {
    // Classic Mac line ends, alone and mixed with \n and \r\n.
    for (const text of ['kind: X\rspec:\r  action: allow\r', 'kind: X\r\nspec:\r  action: allow\n', 'a: 1\r---\rkind: X\rspec:\r  action: allow\r']) {
      const file = readYaml('f.yaml', text);
      const document = file.documents.at(-1)!;
      assert.deepEqual(document.problems, [], JSON.stringify(text));
      assert.deepEqual(toValue(document.root), { kind: 'X', spec: { action: 'allow' } });
      const located = locate(document.root, ['spec', 'action']);
      assert.deepEqual(file.lines.range(located.node!.span), { start: { line: file.lines.lineCount - 2, character: 10 }, end: { line: file.lines.lineCount - 2, character: 15 } });
    }
    // §5.4 again: a line break inside a scalar's content is read as one line feed.
    assert.deepEqual(toValue(readYaml('f.yaml', 'a: |\r  x\r  y\r').documents[0]!.root), { a: 'x\ny\n' });
  });

  it('reports duplicate keys', () => {
    const file = readYaml('f.yaml', 'a: 1\na: 2\n');
    assert.match(file.documents[0]!.problems[0]!.message, /unique|duplicate/i);
  });

  it('applies merge keys (<<) as Kubernetes decodes them (go-yaml v2: in order, an earlier map of a list wins)', () => {
    const cases: { text: string; value: unknown }[] = [
      { text: 'base: &b {action: DENY}\nspec:\n  <<: *b\n  rules: []\n', value: { action: 'DENY', rules: [] } },
      { text: 'base: &b {action: DENY}\nspec:\n  <<: *b\n  action: ALLOW\n', value: { action: 'ALLOW' } },
      { text: 'base: &b {action: DENY}\nspec:\n  action: ALLOW\n  <<: *b\n', value: { action: 'DENY' } },
      { text: 'a: &a {x: 1}\nb: &b {x: 2, y: 3}\nspec:\n  <<: [*a, *b]\n', value: { x: 1, y: 3 } },
      { text: 'spec:\n  <<: {x: 1}\n  y: 2\n', value: { x: 1, y: 2 } },
      { text: 'spec:\n  !!merge <<: {x: 1}\n', value: { x: 1 } },
      { text: 'spec:\n  "<<": {x: 1}\n', value: { '<<': { x: 1 } } },
      { text: 'a: &a {x: 1}\nb: &b {x: 2, y: 3}\nspec:\n  <<: *a\n  <<: *b\n', value: { x: 2, y: 3 } },
    ];
    for (const c of cases) {
      const document = readYaml('f.yaml', c.text).documents[0]!;
      assert.deepEqual(document.problems, [], c.text);
      assert.deepEqual(toValue(getEntry(document.root, 'spec')!.value), c.value, c.text);
    }
  });

  it('reads tagged values as Kubernetes decodes them (go-yaml v2): !!binary as its decoded text, !!omap and !!pairs as lists of one-key maps', () => {
    const text = 'a: !!binary aGVsbG8=\nb: !!omap [ {x: 1}, {y: 2} ]\nc: !!pairs\n  - z: 3\n';
    const document = readYaml('f.yaml', text).documents[0]!;
    assert.deepEqual(document.problems, []);
    assert.deepEqual(toValue(document.root), { a: 'hello', b: [{ x: 1 }, { y: 2 }], c: [{ z: 3 }] });
    const item = locate(document.root, ['b', 1]).node!;
    assert.equal(text.slice(item.span.start, item.span.end), 'y: 2');
  });

  it('refuses an alias without an anchor before it in its document, and a merge of no map (kubectl apply fails on both)', () => {
    const cases: { text: string; at: string }[] = [
      { text: 'x: &base {action: DENY}\n---\nspec:\n  action: *base\n', at: '*base' },
      { text: 'spec:\n  action: *later\nx: &later DENY\n', at: '*later' },
      { text: 'spec:\n  <<: *nowhere\n', at: '*nowhere' },
      { text: 'spec:\n  <<: [x]\n', at: 'x' },
      { text: 'v: &v DENY\nspec:\n  <<: *v\n', at: '*v' },
    ];
    for (const c of cases) {
      const file = readYaml('f.yaml', c.text);
      const errors = file.documents.flatMap((d) => d.problems).filter((p) => p.severity === 'error');
      assert.equal(errors.length, 1, `${c.text}: ${JSON.stringify(errors)}`);
      assert.equal(c.text.slice(errors[0]!.span.start, errors[0]!.span.end), c.at, c.text);
    }
  });

  it('starts an unclosed quote or bracket at its opening, not where the parser gave up', () => {
    const head = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n';
    const cases: { text: string; at: { line: number; character: number }[] }[] = [
      { text: `${head}  name: "x\n  namespace: y\nspec:\n  action: ALLOW\n`, at: [{ line: 3, character: 8 }] },
      { text: `${head}  name: 'x\nspec: {}\n`, at: [{ line: 3, character: 8 }] },
      { text: `${head}  name: x\nspec:\n  rules:\n  - from:\n    - source:\n        principals: ["a", "b"\n  action: ALLOW\n`, at: [{ line: 8, character: 20 }] },
      { text: `${head}  name: x\nspec:\n  rules:\n  - from:\n    - source: {principals: ["a", "b"\n  action: ALLOW\n`, at: [{ line: 7, character: 14 }, { line: 7, character: 27 }] },
      { text: 'rules: {MPA0104: "off"\n', at: [{ line: 0, character: 7 }] },
    ];
    for (const c of cases) {
      const file = readYaml('f.yaml', c.text);
      const problems = file.documents.flatMap((d) => d.problems).filter((p) => p.severity === 'error');
      assert.deepEqual(problems.map((p) => file.lines.position(p.span.start)).sort((a, b) => a.line - b.line || a.character - b.character), c.at, c.text);
    }
  });

  it('stops an alias bomb at the node budget', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const file = readYaml('bomb.yaml', lines.join('\n'));
    const problem = file.documents[0]!.problems.find((p) => p.limit);
    assert.ok(problem, 'expected a limit problem');
    assert.match(problem.message, /more than 250000 nodes/);
    assert.equal(file.documents[0]!.root, undefined);
  });

  it('refuses files over the size limit with a clear message', () => {
    const file = readYaml('big.yaml', 'x'.repeat(2048), { ...DEFAULT_READ_LIMITS, maxFileBytes: 1024 });
    assert.equal(file.documents.length, 0);
    assert.match(file.problems[0]!.message, /too large to check .* the limit is/);
  });

  it('bounds nesting depth', () => {
    const text = `${'['.repeat(200)}${']'.repeat(200)}`;
    const file = readYaml('deep.yaml', text);
    assert.ok([...file.problems, ...file.documents.flatMap((d) => d.problems)].some((p) => p.limit));
  });

  it('bounds the number of documents', () => {
    const file = readYaml('many.yaml', Array(30).fill('a: 1').join('\n---\n'), { ...DEFAULT_READ_LIMITS, maxDocuments: 10 });
    assert.equal(file.documents.length, 10);
    assert.match(file.problems[0]!.message, /more than 10 documents/);
  });
});

describe('JSON reader', () => {
  it('reads values with spans', () => {
    const text = '{\n  "Kind": "service-intentions",\n  "Name": "api"\n}';
    const file = readJson('e.json', text);
    const name = getEntry(file.documents[0]!.root, 'Name')!;
    assert.equal(text.slice(name.value.span.start, name.value.span.end), '"api"');
  });

  it('reports syntax errors where they are', () => {
    const text = '{\n  "Kind": "service-intentions",\n  "Name" "api"\n}';
    const file = readJson('e.json', text);
    const problem = file.documents[0]!.problems[0]!;
    assert.equal(problem.message, 'JSON: expected ":"');
    assert.equal(file.lines.position(problem.span.start).line, 2);
  });
});

describe('a byte order mark', () => {
  it('is read in JSON, YAML and HCL, with positions unchanged', () => {
    const cases: { file: string; text: string }[] = [
      { file: 'p.json', text: '{"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": {"name": "x"}, "spec": {"action": "allow"}}' },
      { file: 'p.yaml', text: 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\nspec: {action: allow}\n' },
      { file: 'p.hcl', text: 'Kind = "service-intentions"\nName = "api"\nSources = [{Name = "web", Action = "Allow"}]\n' },
    ];
    for (const c of cases) {
      const plain = new Engine().lintText(c.file, c.text).findings;
      const withBom = new Engine().lintText(c.file, `\uFEFF${c.text}`).findings;
      assert.deepEqual(plain.map((f) => f.code), ['MPA0104'], c.file);
      assert.deepEqual(withBom.map((f) => [f.code, f.message]), plain.map((f) => [f.code, f.message]), c.file);
      assert.deepEqual(withBom.map((f) => f.range.start.line), plain.map((f) => f.range.start.line), c.file);
    }
  });
});

describe('HCL reader', () => {
  it('reads attributes, lists, objects, blocks and comments', () => {
    const text = [
      '# destination',
      'Kind = "service-intentions"',
      'Name = "api" // trailing',
      '/* block comment */',
      'Sources = [',
      '  { Name = "web", Action = "allow" },',
      '  {',
      '    Name = "admin"',
      '    Permissions = [{ Action = "deny", HTTP { PathPrefix = "/v1/secret", Methods = ["GET", "HEAD"] } }]',
      '  },',
      ']',
      'Meta { team = "payments" }',
    ].join('\n');
    const file = readHcl('e.hcl', text);
    assert.deepEqual(file.documents[0]!.problems, []);
    assert.deepEqual(toValue(file.documents[0]!.root), {
      Kind: 'service-intentions',
      Name: 'api',
      Sources: [
        { Name: 'web', Action: 'allow' },
        { Name: 'admin', Permissions: [{ Action: 'deny', HTTP: { PathPrefix: '/v1/secret', Methods: ['GET', 'HEAD'] } }] },
      ],
      Meta: { team: 'payments' },
    });
  });

  it('turns repeated blocks into a list', () => {
    const file = readHcl('e.hcl', 'Kind = "service-intentions"\nName = "api"\nSources {\n  Name = "web"\n  Action = "allow"\n}\nSources {\n  Name = "db"\n  Action = "deny"\n}\n');
    assert.deepEqual(toValue(getEntry(file.documents[0]!.root, 'Sources')!.value), [{ Name: 'web', Action: 'allow' }, { Name: 'db', Action: 'deny' }]);
  });

  it('reads heredocs, escapes and numbers', () => {
    const file = readHcl('e.hcl', 'A = <<EOF\nline one\nline two\nEOF\nB = "tab\\there \\"q\\""\nC = 42\nD = -1.5\nE = true\n');
    assert.deepEqual(toValue(file.documents[0]!.root), { A: 'line one\nline two\n', B: 'tab\there "q"', C: 42, D: -1.5, E: true });
  });

  it('reads every escape HCL 1 takes in a quoted string (hcl/scanner scanEscape, hcl/strconv unquoteChar)', () => {
    const cases: [string, string][] = [
      ['\\a\\b\\f\\v', '\x07\b\f\v'],
      ['\\x41\\101', 'AA'],
      ['caf\\u00e9 \\U0001F600', 'café 😀'],
      ['\\xff \\ud800', '\ufffd \ufffd'],
    ];
    for (const [written, value] of cases) {
      const document = readHcl('e.hcl', `Name = "${written}"\n`).documents[0]!;
      assert.deepEqual(document.problems, [], written);
      assert.deepEqual(toValue(document.root), { Name: value }, written);
    }
    for (const refused of ['\\q', '\\x4', '\\18', '\\U00110000', '\\u12']) {
      assert.match(readHcl('e.hcl', `Name = "${refused}"\n`).documents[0]!.problems[0]!.message, /invalid escape/, refused);
    }
  });

  it('reports a syntax error at its position and keeps what came before', () => {
    const text = 'Kind = "service-intentions"\nName = api\n';
    const file = readHcl('e.hcl', text);
    const problem = file.documents[0]!.problems[0]!;
    assert.match(problem.message, /strings must be quoted/);
    assert.equal(text.slice(problem.span.start, problem.span.end), 'api');
    assert.equal(getEntry(file.documents[0]!.root, 'Kind')?.value.type, 'scalar');
  });

  it('reports an unterminated string and an unclosed block', () => {
    assert.match(readHcl('e.hcl', 'Name = "api\n').documents[0]!.problems[0]!.message, /unterminated string/);
    assert.match(readHcl('e.hcl', 'Sources {\n Name = "a"\n').documents[0]!.problems[0]!.message, /found the end of the file/);
  });

  it('shows the character it cannot read, a NUL or a control character escaped', () => {
    assert.equal(readHcl('e.hcl', 'Name = @\n').documents[0]!.problems[0]!.message, 'HCL: unexpected character "@"');
    assert.equal(readHcl('e.hcl', '\u0000\u0001Kind = "x"\n').documents[0]!.problems[0]!.message, 'HCL: unexpected character "\\u0000"');
  });
});

describe('YAML document cache', () => {
  it('keeps the chunks used last and drops the least recently used when over its size', () => {
    const chunk = (c: string) => `${c}: ${c.repeat(380)}\n`;
    const cache = new YamlDocumentCache(16 * 400);
    const entry = () => ({ parsed: [] });
    for (const c of 'abcdefghijklmnop') cache.set(chunk(c), entry());
    assert.ok(cache.get(chunk('a')), 'a is still there: the cache holds about 16 chunks');
    // Using a again makes b the oldest: the next chunks push out b, c, ... but not a.
    for (const c of 'qrstu') cache.set(chunk(c), entry());
    assert.ok(cache.get(chunk('a')), 'a was used recently');
    assert.equal(cache.get(chunk('b')), undefined, 'b was the least recently used');
    assert.ok(cache.get(chunk('u')), 'the last one set is there');
  });
});

describe('YAML split after an edit', () => {
  /** A small deterministic generator (mulberry32), so that a failure replays. */
  function random(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const pieces = ['---\n', '---', '--- ', '----\n', ' ---\n', '-', '\n', 'a: 1\n', 'kind: Server\n', '# c\n', '%YAML 1.2\n', '...\n', 'x: "---"\n', '\r\n', '---\r\n'];
  const documentText = (next: () => number): string => {
    let text = '';
    const count = Math.floor(next() * 12);
    for (let i = 0; i < count; i++) text += `${next() < 0.8 ? '---\n' : ''}kind: K${i}\nmetadata:\n  name: n${i}\n`;
    return text;
  };
  const plain = (chunks: Chunk[]) => chunks.map(({ text, offset }) => ({ text, offset }));

  it('splits an edited text as splitting it whole would, over random edits of every kind', () => {
    const next = random(20261129);
    for (let file = 0; file < 300; file++) {
      let text = documentText(next);
      let last = { text, chunks: splitDocuments(text) };
      for (let edit = 0; edit < 20; edit++) {
        const at = Math.floor(next() * (text.length + 1));
        const removed = next() < 0.5 ? Math.floor(next() * Math.min(12, text.length - at + 1)) : 0;
        const inserted = next() < 0.7 ? pieces[Math.floor(next() * pieces.length)]! : '';
        text = text.slice(0, at) + inserted + text.slice(at + removed);
        const chunks = splitAfterEdit(last, text);
        assert.deepEqual(plain(chunks), plain(splitDocuments(text)), `file ${file}, edit ${edit}: ${JSON.stringify(text)}`);
        last = { text, chunks };
      }
    }
  });

  it('takes over the documents before and after the edited one', () => {
    const text = ['a: 1\n', ...Array.from({ length: 6 }, (_, i) => `---\nkind: K${i}\n`)].join('');
    const last = { text, chunks: splitDocuments(text) };
    const edited = text.replace('kind: K3', 'kind: K33');
    const chunks = splitAfterEdit(last, edited);
    assert.deepEqual(plain(chunks), plain(splitDocuments(edited)));
    // The documents well before the edit are the same objects; those after it keep their text.
    assert.equal(chunks[0], last.chunks[0]);
    assert.equal(chunks[1], last.chunks[1]);
    assert.equal(chunks[6]!.text, last.chunks[6]!.text);
    assert.equal(chunks[6]!.offset, last.chunks[6]!.offset + 1);
  });

  it('reads the same documents through the cache, edit after edit, as without it', () => {
    const cache = new YamlDocumentCache();
    let text = Array.from({ length: 8 }, (_, i) => `---\nkind: K${i}\nmetadata:\n  name: n${i}\n`).join('');
    for (const [from, to] of [['name: n2', 'name: n22'], ['kind: K5\n', 'kind: K5\n---\nkind: New\n'], ['---\nkind: K1', 'kind: K1'], ['n22', 'n2']] as const) {
      text = text.replace(from, to);
      const cached = readYaml('/w/p.yaml', text, undefined, cache);
      const fresh = readYaml('/w/p.yaml', text);
      assert.deepEqual(JSON.parse(JSON.stringify(cached.documents)), JSON.parse(JSON.stringify(fresh.documents)));
    }
  });
});
