import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../server/src/engine/config/projectConfig';
import { Engine } from '../../server/src/engine/engine';
import type { Finding } from '../../server/src/engine/findings';
import { readSource } from '../../server/src/engine/source/read';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { collectPolicyFiles } from '../../server/src/engine/workspaceFiles';
import { EXAMPLES } from '../helpers/paths';
import { noMatchingWorkloadsCheck } from '../../server/src/engine/checks/istio/MPA1016-no-matching-workloads';
import { identityWithoutMtlsCheck } from '../../server/src/engine/checks/istio/MPA1021-identity-without-mtls';
import type { Check } from '../../server/src/engine/checks/check';
import { authenticationNotFound } from '../../server/src/engine/checks/linkerd/MPA2006-authentication-not-found';
import { targetNotFound } from '../../server/src/engine/checks/linkerd/MPA2010-target-not-found';
import { duplicateDestination } from '../../server/src/engine/checks/consul/MPA3007-duplicate-destination';

// Issue 8, "re-validate only what changed": the editor keeps one Engine and one WorkspaceModel
// and lints the edited file again on every change, reusing what it found per document. After
// any series of edits that must give exactly what a new Engine finds in the same workspace.

/** Every YAML policy and manifest of one example, joined into one multi-document file; the
 * example's other files (HCL, JSON) stay beside it as the rest of the workspace. */
function exampleWorkspace(mesh: 'istio' | 'linkerd' | 'consul'): { dir: string; joined: string; others: Map<string, string> } {
  const dir = join(EXAMPLES, mesh);
  const yaml: string[] = [];
  const others = new Map<string, string>();
  for (const path of collectPolicyFiles([dir]).files) {
    const text = readFileSync(path, 'utf8');
    if (path.endsWith('.yaml') && !path.includes('helm')) yaml.push(text.replace(/^---\n/, '').trimEnd());
    else others.set(path, text);
  }
  return { dir, joined: `${yaml.join('\n---\n')}\n`, others };
}

class Editor {
  readonly engine = new Engine();
  readonly workspace: WorkspaceModel;
  validations = 0;

  constructor(readonly dir: string, others: Map<string, string>) {
    this.workspace = new WorkspaceModel(defaultConfig(dir));
    for (const [path, text] of others) this.workspace.update(this.engine.prepare(this.engine.read(path, text)));
    const validate = this.engine.registry.validate.bind(this.engine.registry);
    this.engine.registry.validate = (entry, value) => {
      this.validations++;
      return validate(entry, value);
    };
  }

  lint(path: string, text: string): Finding[] {
    const prepared = this.engine.prepare(this.engine.read(path, text));
    this.workspace.update(prepared);
    return this.engine.lint(prepared, this.workspace).findings;
  }
}

const reference = new Engine();

/** A full lint: every file read without a document cache (so nothing found before is reused),
 * into a new workspace. */
function freshLint(dir: string, others: Map<string, string>, path: string, text: string): Finding[] {
  const workspace = new WorkspaceModel(defaultConfig(dir));
  const read = (p: string, t: string) => reference.prepare(readSource(p, t, reference.options.limits));
  for (const [other, otherText] of others) workspace.update(read(other, otherText));
  const prepared = read(path, text);
  workspace.update(prepared);
  return reference.lint(prepared, workspace).findings;
}

/**
 * An editor on one file whose lints count the runs of some checks (named by `label`), and check
 * each lint against a fresh one; `runs` holds the editor's last lint's runs only.
 */
function countingEditor(dir: string, path: string, checks: Check[], label: (check: Check, context: Parameters<Check['run']>[0]) => string) {
  const others = new Map<string, string>();
  const editor = new Editor(dir, others);
  const originals = checks.map((check) => [check, check.run] as const);
  const state = { runs: [] as string[] };
  for (const [check, run] of originals) check.run = (context) => { state.runs.push(label(check, context)); run(context); };
  return {
    get runs() { return state.runs; },
    lint(text: string, what: string): Finding[] {
      state.runs = [];
      const findings = editor.lint(path, text);
      const editorRuns = state.runs;
      state.runs = [];
      assert.deepEqual(findings, freshLint(dir, others, path, text), what);
      state.runs = editorRuns;
      return findings;
    },
    restore(): void {
      for (const [check, run] of originals) check.run = run;
    },
  };
}

type Edit = (text: string) => string;

/** Edits in the order an author might make them; each applies to the text before it. */
const EDITS: Record<'istio' | 'linkerd' | 'consul', [string, Edit][]> = {
  istio: [
    ['an action typo (a schema error) in one document', (t) => t.replace('action: ALLOW', 'action: allow')],
    ['characters added on a line above other documents', (t) => t.replace('namespace: ', 'namespace:    ')],
    ['a line inserted at the top (every document moves down)', (t) => `# a comment\n${t}`],
    ['a PeerAuthentication removed (other documents read it)', (t) => t.replace(/kind: PeerAuthentication/g, 'kind: NotAPeerAuthentication')],
    ['a syntax error', (t) => t.replace('rules:', 'rules: [')],
    ['the syntax error fixed', (t) => t.replace('rules: [', 'rules:')],
    ['a suppression comment', (t) => t.replace('action: allow', 'action: allow # mesh-policy-ignore')],
    ['a document duplicated at the end', (t) => `${t}---\n${t.split(/^---$/m)[1]!.trim()}\n`],
    ['a separator removed (two documents become one)', (t) => t.replace(/\n---\n/, '\n')],
  ],
  linkerd: [
    ['a Server renamed (routes and policies name it)', (t) => t.replace(/name: (\S+)\n/, 'name: $1-renamed\n')],
    ['a line deleted near the top', (t) => t.split('\n').filter((_, i) => i !== 2).join('\n')],
    ['the namespace of every resource changed', (t) => t.replaceAll('namespace: emojivoto', 'namespace: emojivoto2')],
    ['an empty document added in the middle', (t) => t.replace('\n---\n', '\n---\n---\n')],
    ['a document emptied', (t) => t.replace(/\n---\n[\s\S]*?(?=\n---\n)/, '\n---\n# nothing here')],
  ],
  consul: [
    ['a second intentions resource for one destination', (t) => `${t}---\n${t.split(/^---$/m).find((d) => d.includes('ServiceIntentions'))!.trim().replace(/name: (\S+)\n/, 'name: $1-copy\n')}\n`],
    ['a source action typo', (t) => t.replace('action: allow', 'action: alow')],
    ['an indentation change that moves every character after it', (t) => t.replace('spec:\n', 'spec:  \n')],
    ['the copied destination renamed', (t) => t.replace(/-copy\n/, '-other\n')],
  ],
};

/** A seeded series of small edits anywhere in the text: characters in, lines out, lines copied. */
function randomEdits(seed: number, count: number): Edit[] {
  let state = seed;
  const next = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const edits: Edit[] = [];
  for (let i = 0; i < count; i++) {
    const kind = next();
    const at = next();
    edits.push((text) => {
      const lines = text.split('\n');
      const line = Math.floor(at * lines.length);
      if (kind < 0.4) lines[line] = `${lines[line]}${'xy: -'[Math.floor(kind * 12) % 5]}`;
      else if (kind < 0.7) lines.splice(line, 1);
      else lines.splice(line, 0, lines[line] ?? '');
      return lines.join('\n');
    });
  }
  return edits;
}

describe('incremental lint', () => {
  for (const mesh of ['istio', 'linkerd', 'consul'] as const) {
    it(`${mesh}: after each edit, the same findings as a fresh lint`, () => {
      const { dir, joined, others } = exampleWorkspace(mesh);
      const path = join(dir, 'joined.yaml');
      const editor = new Editor(dir, others);
      let text = joined;
      assert.deepEqual(editor.lint(path, text), freshLint(dir, others, path, text));
      for (const [what, edit] of EDITS[mesh]) {
        const changed = edit(text);
        assert.notEqual(changed, text, `the edit "${what}" changes nothing`);
        text = changed;
        assert.deepEqual(editor.lint(path, text), freshLint(dir, others, path, text), what);
      }
      for (const [i, edit] of randomEdits(mesh.length * 7919, 25).entries()) {
        text = edit(text);
        assert.deepEqual(editor.lint(path, text), freshLint(dir, others, path, text), `random edit ${i}`);
      }
    });
  }

  it('an edit to the inventory in another file reaches the unchanged policy file', () => {
    const dir = join(EXAMPLES, 'istio');
    const policies = join(dir, 'security', 'authorization-policies.yaml');
    const cart = join(dir, 'app', 'cart.yaml');
    const others = new Map<string, string>();
    for (const path of collectPolicyFiles([dir]).files) if (path !== policies && !path.includes('helm')) others.set(path, readFileSync(path, 'utf8'));
    const text = readFileSync(policies, 'utf8');
    const editor = new Editor(dir, others);
    const before = editor.lint(policies, text);
    assert.deepEqual(before, freshLint(dir, others, policies, text));
    const inventory = editor.workspace.inventory;
    // A policy edit adds nothing to the inventory: the workspace keeps the same object.
    editor.lint(policies, text.replace('action: ALLOW', 'action:  ALLOW'));
    assert.equal(editor.workspace.inventory, inventory);
    // The cart pods lose their label: the cart policy selects nothing (MPA1016), though its file did not change.
    const relabelled = others.get(cart)!.replaceAll('app: cart', 'app: kart');
    editor.workspace.update(editor.engine.prepare(editor.engine.read(cart, relabelled)));
    assert.notEqual(editor.workspace.inventory, inventory);
    others.set(cart, relabelled);
    const after = editor.lint(policies, text);
    assert.deepEqual(after, freshLint(dir, others, policies, text));
    assert.ok(after.some((f) => f.code === 'MPA1016') && !before.some((f) => f.code === 'MPA1016' && f.message.includes('app=cart')), 'the relabelled pods change the findings');
  });

  it('istio: a DENY policy edited in another file reaches the ALLOW rules it overrides (MPA1040)', () => {
    const dir = join(EXAMPLES, 'istio');
    const policies = join(dir, 'security', 'authorization-policies.yaml');
    const lockdown = join(dir, 'security', 'lockdown.yaml');
    const others = new Map<string, string>();
    for (const path of collectPolicyFiles([dir]).files) if (path !== policies && !path.includes('helm')) others.set(path, readFileSync(path, 'utf8'));
    const text = readFileSync(policies, 'utf8');
    const editor = new Editor(dir, others);
    const overridden = (findings: Finding[]) => findings.filter((f) => f.code === 'MPA1040');
    assert.deepEqual(overridden(editor.lint(policies, text)), []);
    const denyAll = (action: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: lockdown\n  namespace: shop\nspec:\n  action: ${action}\n  rules:\n  - {}\n`;
    for (const [action, expectFindings] of [['DENY', true], ['AUDIT', false], ['DENY', true]] as const) {
      const lockdownText = denyAll(action);
      editor.workspace.update(editor.engine.prepare(editor.engine.read(lockdown, lockdownText)));
      others.set(lockdown, lockdownText);
      const after = editor.lint(policies, text);
      assert.deepEqual(after, freshLint(dir, others, policies, text), action);
      const found = overridden(after);
      assert.equal(found.length > 0, expectFindings, `${action}: ${found.map((f) => f.message).join('\n')}`);
      for (const f of found) assert.equal(f.related?.[0]?.file, lockdown);
    }
  });

  it('linkerd: a probe edited in a manifest (which the inventory does not keep) reaches the Server that covers it', () => {
    const dir = join(EXAMPLES, 'linkerd');
    const servers = join(dir, 'policy', 'servers.yaml');
    const app = join(dir, 'app', 'emojivoto.yaml');
    const others = new Map<string, string>();
    for (const path of collectPolicyFiles([dir]).files) if (path !== servers) others.set(path, readFileSync(path, 'utf8'));
    const text = readFileSync(servers, 'utf8');
    const editor = new Editor(dir, others);
    const before = editor.lint(servers, text);
    assert.deepEqual(before, freshLint(dir, others, servers, text));
    const inventory = editor.workspace.inventory;
    // The same length, so that the inventory (positions included) stays the same object.
    const edited = others.get(app)!.replace('path: /healthz', 'path: /healthy');
    assert.notEqual(edited, others.get(app));
    editor.workspace.update(editor.engine.prepare(editor.engine.read(app, edited)));
    assert.equal(editor.workspace.inventory, inventory, 'the inventory is kept');
    others.set(app, edited);
    const after = editor.lint(servers, text);
    assert.deepEqual(after, freshLint(dir, others, servers, text));
    const probeFinding = (findings: typeof after) => findings.filter((f) => f.code === 'MPA2013').map((f) => f.message).join('\n');
    assert.notEqual(probeFinding(after), probeFinding(before), 'the probe finding follows the edited probe');
    assert.match(probeFinding(after), /\/healthy/);
  });

  it('runs a check that read only the inventory, the configuration and workspace facts again only where they changed', () => {
    // The policies joined in one file, the manifests (the inventory) in theirs.
    const dir = join(EXAMPLES, 'istio');
    const path = join(dir, 'security', 'joined.yaml');
    const others = new Map<string, string>();
    const policies: string[] = [];
    for (const file of collectPolicyFiles([dir]).files) {
      if (file.includes('helm')) continue;
      const text = readFileSync(file, 'utf8');
      if (file.includes('/security/')) policies.push(text.replace(/^---\n/, '').trimEnd());
      else others.set(file, text);
    }
    const joined = `${policies.join('\n---\n')}\n`;
    const editor = new Editor(dir, others);
    // MPA1016 reads the inventory; MPA1021 the PeerAuthentications of the workspace (a fact).
    const counted: [Check, Check['run']][] = [[noMatchingWorkloadsCheck, noMatchingWorkloadsCheck.run], [identityWithoutMtlsCheck, identityWithoutMtlsCheck.run]];
    const runs = new Map<string, number>();
    for (const [check, run] of counted) check.run = (context) => { runs.set(check.code, (runs.get(check.code) ?? 0) + 1); run(context); };
    try {
      editor.lint(path, joined);
      const policiesCount = runs.get('MPA1016')!;
      assert.ok(policiesCount > 3 && runs.get('MPA1021') === policiesCount, 'the first lint runs both checks on every AuthorizationPolicy');
      runs.clear();
      const edited = joined.replace('action: ALLOW', 'action:  ALLOW');
      let findings = editor.lint(path, edited);
      assert.deepEqual(Object.fromEntries(runs), { MPA1016: 1, MPA1021: 1 }, 'an edit to one policy runs them on it alone');
      assert.deepEqual(findings, freshLint(dir, others, path, edited));
      runs.clear();
      const modes = edited.replace(/mode: STRICT/g, 'mode: PERMISSIVE');
      assert.notEqual(modes, edited);
      findings = editor.lint(path, modes);
      // CUSTOM policies and those with targetRefs never read the PeerAuthentications: they keep their findings.
      assert.equal(runs.has('MPA1016'), false, 'a PeerAuthentication edit does not run MPA1016');
      assert.ok(runs.get('MPA1021')! > 1 && runs.get('MPA1021')! < policiesCount, `a PeerAuthentication edit runs MPA1021 again on the policies that read them (${runs.get('MPA1021')})`);
      assert.deepEqual(findings, freshLint(dir, others, path, modes));
    } finally {
      for (const [check, run] of counted) check.run = run;
    }
  });

  it('linkerd: a check runs again only where a namespace it read changed, a namespace named by a reference included', () => {
    // Two namespaces, each with a Server, a route, an authentication and a policy; the policy in
    // "books" also requires an authentication written in "shop" (a reference that names it).
    const namespace = (ns: string, extraRef = '') => [
      `apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata:\n  name: web\n  namespace: ${ns}\nspec:\n  podSelector:\n    matchLabels:\n      app: web\n  port: http`,
      `apiVersion: policy.linkerd.io/v1beta3\nkind: HTTPRoute\nmetadata:\n  name: web-route\n  namespace: ${ns}\nspec:\n  parentRefs:\n    - group: policy.linkerd.io\n      kind: Server\n      name: web\n  rules:\n    - matches:\n        - path:\n            type: PathPrefix\n            value: /api`,
      `apiVersion: policy.linkerd.io/v1alpha1\nkind: MeshTLSAuthentication\nmetadata:\n  name: clients\n  namespace: ${ns}\nspec:\n  identities:\n    - "*.${ns}.serviceaccount.identity.linkerd.cluster.local"`,
      `apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata:\n  name: web-authz\n  namespace: ${ns}\nspec:\n  targetRef:\n    group: policy.linkerd.io\n    kind: Server\n    name: web\n  requiredAuthenticationRefs:\n    - group: policy.linkerd.io\n      kind: MeshTLSAuthentication\n      name: clients${extraRef}`,
    ];
    const joined = `${[...namespace('shop'), ...namespace('books', '\n    - group: policy.linkerd.io\n      kind: MeshTLSAuthentication\n      name: clients\n      namespace: shop')].join('\n---\n')}\n`;
    const counting = countingEditor(join(EXAMPLES, 'linkerd'), join(EXAMPLES, 'linkerd', 'namespaces.yaml'), [authenticationNotFound, targetNotFound], (check, context) => `${check.code} ${context.resource.namespace}/${context.resource.name}`);
    const lint = counting.lint;
    try {
      lint(joined, 'first lint');
      assert.deepEqual(counting.runs.sort(), ['MPA2006 books/web-authz', 'MPA2006 shop/web-authz', 'MPA2010 books/web-authz', 'MPA2010 books/web-route', 'MPA2010 shop/web-authz', 'MPA2010 shop/web-route']);
      // The books route changes: only books' resources read books (the route itself is new text).
      let text = joined.replace(/(namespace: books[\s\S]*?value: )\/api/, '$1/v2');
      assert.notEqual(text, joined);
      lint(text, 'books route edited');
      assert.deepEqual(counting.runs.sort(), ['MPA2006 books/web-authz', 'MPA2010 books/web-authz', 'MPA2010 books/web-route']);
      // The shop authentication is renamed: shop's policy, and books' policy (its reference names shop), find it gone;
      // books' policy targets a books Server, so its target is not looked up again.
      text = text.replace('name: clients\n  namespace: shop', 'name: callers\n  namespace: shop');
      const findings = lint(text, 'shop authentication renamed');
      assert.deepEqual(counting.runs.sort(), ['MPA2006 books/web-authz', 'MPA2006 shop/web-authz', 'MPA2010 shop/web-authz', 'MPA2010 shop/web-route']);
      const missing = findings.filter((f) => f.code === 'MPA2006').map((f) => f.message.split(':')[0]);
      assert.deepEqual(missing, ['MeshTLSAuthentication "clients" does not exist in namespace shop (it has "callers")', 'MeshTLSAuthentication "clients" does not exist in namespace shop (it has "callers")']);
    } finally {
      counting.restore();
    }
  });

  it('consul: a check runs again only where the intentions it compares with, or the lines its message cites, changed', () => {
    const intentions = (resource: string, destination: string, source: string) =>
      `apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: ${resource}\nspec:\n  destination:\n    name: ${destination}\n  sources:\n    - name: ${source}\n      action: allow`;
    // Two resources for "api" (MPA3007 on each, citing the other's line), with "web" between them.
    const joined = `${[intentions('api-a', 'api', 'frontend'), intentions('web', 'web', 'frontend'), intentions('api-b', 'api', 'admin')].join('\n---\n')}\n`;
    const counting = countingEditor(join(EXAMPLES, 'consul'), join(EXAMPLES, 'consul', 'intentions.yaml'), [duplicateDestination], (_, context) => context.resource.name ?? '');
    const lint = counting.lint;
    const cited = (findings: Finding[]) => findings.filter((f) => f.code === 'MPA3007').map((f) => f.message.split(' also ')[0]);
    try {
      assert.deepEqual(cited(lint(joined, 'first lint')), ['ServiceIntentions "api-b" (line 23)', 'ServiceIntentions "api-a" (line 1)']);
      assert.deepEqual(counting.runs.sort(), ['api-a', 'api-b', 'web']);
      // web's source changes on its own lines: the api resources compare with nothing new.
      let text = joined.replace('- name: frontend\n      action: allow\n---\napiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: api-b', '- name: backend\n      action: allow\n---\napiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: api-b');
      assert.notEqual(text, joined);
      lint(text, 'web edited in place');
      assert.deepEqual(counting.runs, ['web']);
      // A line added to web moves api-b down: api-a's message cites api-b's new line.
      text = text.replace('    - name: backend\n', '    - name: backend\n      description: added\n');
      assert.deepEqual(cited(lint(text, 'a line added to web')), ['ServiceIntentions "api-b" (line 24)', 'ServiceIntentions "api-a" (line 1)']);
      assert.deepEqual(counting.runs.sort(), ['api-a', 'api-b', 'web']);
    } finally {
      counting.restore();
    }
  });

  it('a moved document whose finding cites a line of it says the new line', () => {
    const dir = join(EXAMPLES, 'consul');
    const path = join(dir, 'moved.yaml');
    const editor = new Editor(dir, new Map());
    const intentions = (name: string) => `apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata:\n  name: ${name}\nspec:\n  destination:\n    name: ${name}\n  sources:\n    - name: web\n      action: allow\n    - name: web\n      action: deny\n`;
    const text = `${intentions('api')}---\n${intentions('billing')}`;
    const cited = (findings: Finding[]) => findings.filter((f) => f.code === 'MPA3001').map((f) => `${f.range.start.line}: ${f.message.split(';')[0]}`);
    assert.deepEqual(cited(editor.lint(path, text)), ['10: source "web" is already listed at line 9', '23: source "web" is already listed at line 22']);
    const grown = text.replace('    name: api\n', '    name: api\n    # the API\n');
    const moved = editor.lint(path, grown);
    assert.deepEqual(cited(moved), ['11: source "web" is already listed at line 10', '24: source "web" is already listed at line 23']);
    assert.deepEqual(moved, freshLint(dir, new Map(), path, grown));
  });

  it('validates only the edited document against its schema', () => {
    const { dir, joined, others } = exampleWorkspace('istio');
    const path = join(dir, 'joined.yaml');
    const editor = new Editor(dir, others);
    editor.lint(path, joined);
    const resources = editor.engine.prepare(editor.engine.read(path, joined)).recognition.resources.length;
    assert.ok(resources > 5);
    assert.equal(editor.validations, resources, 'the first lint validates every resource');
    editor.validations = 0;
    const edited = joined.replace('action: ALLOW', 'action: DENY');
    assert.notEqual(edited, joined);
    const findings = editor.lint(path, edited);
    assert.equal(editor.validations, 1);
    assert.deepEqual(findings, freshLint(dir, others, path, edited));
    // Typing on a line keeps every later document where it was (same lines): nothing is validated again.
    editor.validations = 0;
    const typed = edited.replace('action: DENY', 'action:  DENY');
    editor.lint(path, typed);
    assert.equal(editor.validations, 1);
    // A line added in a document moves the later ones down: only that document is validated again,
    // the others keep their schema findings, at their new lines.
    editor.validations = 0;
    const grown = typed.replace('action:  DENY', 'action:  DENY\n  # reviewed');
    const moved = editor.lint(path, grown);
    assert.equal(editor.validations, 1);
    assert.deepEqual(moved, freshLint(dir, others, path, grown));
  });
});
