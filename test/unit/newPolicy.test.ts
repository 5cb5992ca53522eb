import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../server/src/engine/config/projectConfig';
import { Engine } from '../../server/src/engine/engine';
import type { Mesh } from '../../server/src/engine/meshes';
import { newPolicySuggestions, POLICY_TEMPLATES, templateFacts, templateSnippet, type TemplateFacts } from '../../server/src/engine/newPolicy';
import { snippetDefaults, SnippetWriter } from '../../server/src/engine/newPolicy/snippet';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { collectPolicyFiles } from '../../server/src/engine/workspaceFiles';
import { OLD_ISTIO_AP_CRD } from '../helpers/crds';
import { EXAMPLES } from '../helpers/paths';

// Starting a policy in an empty document: the templates of each mesh, filled in from the
// workspace, and apiVersion/kind while a document is begun (docs/new-policy.md).

const engine = new Engine();

function exampleWorkspace(example: string): WorkspaceModel {
  const dir = join(EXAMPLES, example);
  const workspace = new WorkspaceModel(defaultConfig(dir));
  for (const path of collectPolicyFiles([dir]).files) workspace.update(engine.prepare(engine.read(path, readFileSync(path, 'utf8'))));
  return workspace;
}

const EXAMPLE_DIRS: Record<Mesh, string[]> = { istio: ['istio', 'istio-ambient', 'istio-dry-run'], linkerd: ['linkerd'], consul: ['consul'] };
const WORKSPACES = new Map(Object.values(EXAMPLE_DIRS).flat().map((example) => [example, exampleWorkspace(example)]));
const NO_FACTS = templateFacts(undefined);

/** The suggestions at `|` in `text` (the bar removed), in a file at `path`. */
function suggestAt(textWithBar: string, options: { path?: string; facts?: TemplateFacts } = {}) {
  const offset = textWithBar.indexOf('|');
  const text = textWithBar.slice(0, offset) + textWithBar.slice(offset + 1);
  const prepared = engine.prepare(engine.read(options.path ?? '/ws/policies/new.yaml', text));
  return newPolicySuggestions(prepared.file, prepared.recognition.resources, engine.registry, offset, options.facts ?? NO_FACTS);
}

/** What a template's defaults may meet in the example workspaces, because the example already
 * has it everywhere: then any default repeats something and the user picks. */
const TAKEN_EVERYWHERE: Record<string, string> = {
  'istio-strict-mtls in istio': 'MPA1022', // the example's one namespace has its PeerAuthentication
  'linkerd-server in linkerd': 'MPA2009', // every named port of the example has its Server
};

describe('new policy templates', () => {
  for (const template of POLICY_TEMPLATES) for (const example of EXAMPLE_DIRS[template.mesh]) {
    it(`${template.id}: pressing Tab through it gives a policy that examples/${example} lints clean`, () => {
      const workspace = WORKSPACES.get(example)!;
      const facts = templateFacts(workspace);
      const text = snippetDefaults(templateSnippet(template, facts));
      const path = join(EXAMPLES, example, `new-policy.${template.format}`);
      const prepared = engine.prepare(engine.read(path, text));
      workspace.update(prepared);
      try {
        const resources = prepared.recognition.resources;
        assert.ok(resources.length > 0, `nothing recognized in:\n${text}`);
        assert.ok(resources.every((r) => r.mesh === template.mesh), 'every document is of the template\'s mesh');
        const findings = engine.lint(prepared, workspace).findings.filter((f) => (f.severity === 'error' || f.severity === 'warning') && f.code !== TAKEN_EVERYWHERE[`${template.id} in ${example}`]);
        assert.deepEqual(findings.map((f) => `${f.range.start.line + 1}: ${f.code} ${f.message}`), [], text);
      } finally {
        workspace.remove(path);
      }
    });
  }

  it('offers the workspace\'s namespaces, workloads and service accounts as choices', () => {
    const facts = templateFacts(WORKSPACES.get('istio'));
    const snippet = templateSnippet(POLICY_TEMPLATES.find((t) => t.id === 'istio-allow-callers')!, facts);
    // Tab walks the namespace first (one in the example: a placeholder), then the workload (the
    // name mirrors it), then the caller: by default another workload than the one called.
    assert.match(snippet, /namespace: \$\{1:shop\}\n/);
    assert.match(snippet, /name: \$\{2\|cart,frontend,payments\|\}-allow\n/);
    assert.match(snippet, /app: \$\{2\}\n/);
    assert.match(snippet, /- cluster\.local\/ns\/\$\{3:shop\}\/sa\/\$\{4\|frontend,cart,payments\|\}\n/);
  });

  it('puts first a namespace without a PeerAuthentication, and a port without a Linkerd Server', () => {
    const deployment = (namespace: string, app: string, port: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${app}\n  namespace: ${namespace}\nspec:\n  template:\n    metadata:\n      labels:\n        app: ${app}\n    spec:\n      containers:\n        - name: main\n          ports:\n            - name: ${port}\n              containerPort: 8080\n`;
    for (const [mesh, id, extra, expected] of [
      ['istio', 'istio-strict-mtls', deployment('books', 'library', 'http'), /namespace: \$\{1\|books,shop,istio-system\|\}/],
      ['linkerd', 'linkerd-server', deployment('emojivoto', 'web-svc', 'admin-http'), /name: \$\{2\|web-svc,emoji-svc,voting-svc\|\}-\$\{3\|admin-http,prom,grpc,http\|\}\n/],
    ] as const) {
      const workspace = WORKSPACES.get(mesh)!;
      const path = join(EXAMPLES, mesh, 'extra-workload.yaml');
      workspace.update(engine.prepare(engine.read(path, extra)));
      try {
        const template = POLICY_TEMPLATES.find((t) => t.id === id)!;
        const snippet = templateSnippet(template, templateFacts(workspace));
        assert.match(snippet, expected);
        const text = snippetDefaults(snippet);
        const prepared = engine.prepare(engine.read(join(EXAMPLES, mesh, 'new-policy.yaml'), text));
        workspace.update(prepared);
        assert.deepEqual(engine.lint(prepared, workspace).findings.filter((f) => f.severity === 'error' || f.severity === 'warning').map((f) => f.message), [], text);
        workspace.remove(prepared.file.path);
      } finally {
        workspace.remove(path);
      }
    }
  });

  it('attaches by targetRefs to the Service where the workload is ambient and behind a waypoint', () => {
    const facts = templateFacts(WORKSPACES.get('istio-ambient'));
    const snippet = templateSnippet(POLICY_TEMPLATES.find((t) => t.id === 'istio-allow-callers')!, facts);
    assert.match(snippet, /spec:\n {2}targetRefs:\n {4}- kind: Service\n {6}group: ""\n {6}name: \$\{2/);
    assert.doesNotMatch(snippet, /selector:/);
    // and by selector where the workload has a sidecar
    assert.match(templateSnippet(POLICY_TEMPLATES.find((t) => t.id === 'istio-allow-callers')!, templateFacts(WORKSPACES.get('istio'))), /spec:\n {2}selector:\n {4}matchLabels:\n {6}app: /);
  });

  it('writes the trust domain the configuration names', () => {
    const facts = { ...NO_FACTS, istioTrustDomain: 'corp.example' };
    const text = snippetDefaults(templateSnippet(POLICY_TEMPLATES.find((t) => t.id === 'istio-allow-callers')!, facts));
    assert.match(text, /- corp\.example\/ns\/default\/sa\/my-client\n/);
  });

  it('is written in the version the cluster\'s CustomResourceDefinition serves', () => {
    const workspace = new WorkspaceModel(defaultConfig('/ws'));
    workspace.update(engine.prepare(engine.read('/ws/cluster/crds.yaml', OLD_ISTIO_AP_CRD)));
    const facts = templateFacts(workspace);
    assert.equal(facts.crds.length, 1);
    const text = snippetDefaults(templateSnippet(POLICY_TEMPLATES.find((t) => t.id === 'istio-allow-nothing')!, facts));
    assert.match(text, /^apiVersion: security\.istio\.io\/v1beta1\nkind: AuthorizationPolicy\n/);
    // A kind the CRDs do not cover keeps our newest version.
    const strict = snippetDefaults(templateSnippet(POLICY_TEMPLATES.find((t) => t.id === 'istio-strict-mtls')!, facts));
    assert.match(strict, /^apiVersion: security\.istio\.io\/v1\nkind: PeerAuthentication\n/);
  });

  it('has a stable id, a label that starts with its mesh and a description for each template', () => {
    assert.equal(new Set(POLICY_TEMPLATES.map((t) => t.id)).size, POLICY_TEMPLATES.length);
    for (const t of POLICY_TEMPLATES) {
      assert.match(t.label, { istio: /^Istio /, linkerd: /^Linkerd /, consul: /^Consul / }[t.mesh]);
      assert.ok(t.description.length > 40);
    }
  });
});

describe('snippet text', () => {
  it('escapes what the snippet grammar reads, and its defaults read back as written', () => {
    const writer = new SnippetWriter();
    const snippet = writer.finish(`a: ${writer.stop('x', ['$HOME}', 'b,c|d'], 'z')}\nb: ${writer.stop('y', [], 'cost $5 {x}')}\nc: ${writer.stop('x', [], '')}\nd: ${SnippetWriter.text('${not a stop}')}`);
    assert.equal(snippet, 'a: ${1|\\$HOME\\},b\\,c\\|d|}\nb: ${2:cost \\$5 {x\\}}\nc: ${1}\nd: \\${not a stop\\}');
    assert.equal(snippetDefaults(snippet), 'a: $HOME}\nb: cost $5 {x}\nc: $HOME}\nd: ${not a stop}');
  });

  it('offers at most 24 choices, and one value as a placeholder to type over', () => {
    const writer = new SnippetWriter();
    const many = writer.finish(writer.stop('n', Array.from({ length: 40 }, (_, i) => `ns${i}`), 'default'));
    assert.equal(many.slice(4, -2).split(',').length, 24);
    const one = new SnippetWriter();
    assert.equal(one.finish(one.stop('n', ['shop', 'shop', ''], 'default')), '${1:shop}');
  });
});

describe('where a new policy is offered', () => {
  const templateIds = (suggestions: ReturnType<typeof suggestAt>) => suggestions.filter((s) => s.kind === 'template').length;
  const yamlTemplates = POLICY_TEMPLATES.filter((t) => t.format === 'yaml').length;
  const hclTemplates = POLICY_TEMPLATES.filter((t) => t.format === 'hcl').length;
  const CASES: Array<{ name: string; text: string; path?: string; templates: number }> = [
    { name: 'an empty file', text: '|', templates: yamlTemplates },
    { name: 'a word typed in an empty file', text: 'auth|', templates: yamlTemplates },
    { name: 'comments around the cursor', text: '# policies for the shop\n|\n# more later\n', templates: yamlTemplates },
    { name: 'a new document after a policy', text: 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: a\nspec: {}\n---\n|', templates: yamlTemplates },
    { name: 'a new document before a Deployment', text: '|\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n', templates: yamlTemplates },
    { name: 'an empty HCL file', text: '|', path: '/ws/intentions/web.hcl', templates: hclTemplates },
    { name: 'an indented line', text: '  |', templates: 0 },
    { name: 'a key being written', text: 'metadata:\n  name: x\n|', templates: 0 },
    { name: 'after text on the line', text: '| # note', templates: yamlTemplates },
    { name: 'a document of something else in the file', text: 'services:\n  web:\n    image: nginx\n---\n|', templates: 0 },
    { name: 'a GitHub workflow', text: '|', path: '/ws/.github/workflows/ci.yaml', templates: 0 },
    { name: 'a Helm chart\'s values', text: '|', path: '/ws/chart/values.yaml', templates: 0 },
    { name: 'our own configuration', text: '|', path: '/ws/.meshpolicy.yaml', templates: 0 },
    { name: 'a Packer template', text: '|', path: '/ws/image.pkr.hcl', templates: 0 },
    { name: 'an HCL file with a block', text: 'job "x" {}\n|', path: '/ws/x.hcl', templates: 0 },
  ];
  for (const c of CASES) {
    it(`${c.name}: ${c.templates ? 'the templates' : 'no template'}`, () => {
      assert.equal(templateIds(suggestAt(c.text, c.path ? { path: c.path } : {})), c.templates);
    });
  }

  it('a template replaces the word typed on its line', () => {
    const [first] = suggestAt('---\nauth|\n');
    assert.deepEqual(first!.replace, { start: 4, end: 8 });
  });

  it('apiVersion: every version of our catalog, or those of the kind already written', () => {
    const all = suggestAt('apiVersion: |').map((s) => s.label);
    assert.ok(all.includes('security.istio.io/v1') && all.includes('policy.linkerd.io/v1alpha1') && all.includes('consul.hashicorp.com/v1alpha1') && all.includes('gateway.networking.k8s.io/v1'), all.join());
    assert.deepEqual(suggestAt('kind: MeshTLSAuthentication\napiVersion: pol|').map((s) => s.label), ['policy.linkerd.io/v1alpha1']);
    const [typed] = suggestAt('kind: ServiceIntentions\napiVersion: con|sul');
    assert.deepEqual(typed!.replace, { start: 36, end: 42 });
  });

  it('apiVersion: the versions the cluster\'s CustomResourceDefinition does not serve come last, and say so', () => {
    const workspace = new WorkspaceModel(defaultConfig('/ws'));
    workspace.update(engine.prepare(engine.read('/ws/cluster/crds.yaml', OLD_ISTIO_AP_CRD)));
    const suggestions = suggestAt('kind: AuthorizationPolicy\napiVersion: |', { facts: templateFacts(workspace) }).filter((s) => s.label.startsWith('security.istio.io/'));
    assert.deepEqual(suggestions.map((s) => `${s.label}: ${s.detail}`), ['security.istio.io/v1beta1: AuthorizationPolicy', 'security.istio.io/v1: not served by the cluster\'s CustomResourceDefinition']);
  });

  it('kind: the kinds of the apiVersion written, or every kind with its newest version', () => {
    assert.deepEqual(suggestAt('apiVersion: security.istio.io/v1beta1\nkind: |').map((s) => s.label), ['AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication']);
    const all = suggestAt('kind: |');
    assert.equal(all.find((s) => s.label === 'Server')!.detail, 'policy.linkerd.io/v1beta3');
    assert.equal(all.find((s) => s.label === 'ServiceIntentions')!.detail, 'consul.hashicorp.com/v1alpha1');
  });

  it('the keys apiVersion and kind while neither is written', () => {
    assert.deepEqual(suggestAt('metadata:\n  name: x\nk|').map((s) => s.insertText), ['apiVersion: ', 'kind: ']);
    assert.deepEqual(suggestAt('apiVersion: v9\n|').map((s) => s.label), ['kind']);
    assert.deepEqual(suggestAt('jobs:\n  x: 1\n|'), []);
  });

  it('HCL: the kind of a config entry being started', () => {
    assert.deepEqual(suggestAt('Kind = "serv|"', { path: '/ws/web.hcl' }).map((s) => s.label), ['service-intentions']);
  });

  it('nothing inside a policy the schema completes', () => {
    assert.deepEqual(suggestAt('apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: a\n|'), []);
  });
});
