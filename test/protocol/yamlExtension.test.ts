// The schemas we contribute to the Red Hat YAML extension, checked against the real
// yaml-language-server (the server that extension runs): this test plays the extension's part
// (answering `custom/schema/request` and `custom/schema/content` through our contributor, as
// vscode-yaml's schema-extension-api.ts does) and our language server gives the content.
// A `yaml.schemas` glob that puts a foreign schema on the policies (as SchemaStore's
// `**/policies/**` globs do, yaml-language-server#1298) is the situation to fix.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import type { Diagnostic, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { yamlSchemaContributor, type YamlExtensionSetting } from '../../client/src/yamlContributor';
import { LspTestClient } from '../helpers/lspClient';
import { scratchDir } from '../helpers/scratch';

const policy = (apiVersion: string, action: string) => `apiVersion: ${apiVersion}\nkind: AuthorizationPolicy\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  action: ${action}\n`;
const DEPLOYMENT = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n';
/** The files opened below (yaml-language-server 1.25 matches absolute paths, not `*.yaml`, against file URIs). */
const FILES = ['p-off.yaml', 'p-quiet.yaml', 'p-schemas.yaml', 'p-beta.yaml', 'd-quiet.yaml', 'd-mixed.yaml', 't-quiet.yaml', 't-schemas.yaml'];
/** A policy test file (docs/policy-tests.md): a misspelt verdict, a key a test does not have, and a call given as an access record with a field of the wrong type. */
const POLICY_TESTS = 'kind: MeshPolicyTest\ntests:\n  - call: "shop/web -> shop/cart:8080 GET /"\n    expect: allowed\n  - call: "shop/web -> shop/cart:8080 GET /"\n    expect: deny\n    verdict: deny\n  - call: {destination: {namespace: shop, workload: cart, port: "http"}}\n    expect: allow\n  - call: "shop/web -> shop/cart:8080 GET /"\n    expect: allow\n';

describe('the Red Hat YAML extension with our schema contributor (real yaml-language-server)', () => {
  const folder = scratchDir('mesh-policy-yaml-ext-');
  // A foreign schema on every file of the folder: a CI workflow's, say.
  const foreign = join(folder, 'workflow.schema.json');
  writeFileSync(foreign, JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', required: ['jobs'], properties: { jobs: { type: 'object' } } }));
  const texts = new Map<string, string>();
  let setting: YamlExtensionSetting = 'quiet';
  let ours: LspTestClient;
  let yaml: ChildProcess;
  let connection: MessageConnection;
  const published = new Map<string, Diagnostic[]>();
  const contentAsked: string[] = [];

  before(async () => {
    ours = new LspTestClient();
    await ours.initialize(pathToFileURL(folder).href, [{ uri: pathToFileURL(folder).href, name: 'ws' }]);
    const contributor = yamlSchemaContributor(() => setting, (resource) => texts.get(resource), (uri) => ours.connection.sendRequest<string | null>('meshPolicy/yamlSchemaContent', { uri }));
    const bin = join(dirname(createRequire(__filename).resolve('yaml-language-server/package.json')), 'bin', 'yaml-language-server');
    yaml = spawn(process.execPath, [bin, '--stdio'], { stdio: 'pipe' });
    connection = createMessageConnection(new StreamMessageReader(yaml.stdout!), new StreamMessageWriter(yaml.stdin!));
    const settings = { validate: true, hover: false, completion: false, schemaStore: { enable: false }, kubernetesCRDStore: { enable: false }, schemas: { [pathToFileURL(foreign).href]: FILES.map((name) => join(folder, name)) } };
    connection.onRequest('workspace/configuration', (params: { items: { section?: string }[] }) => params.items.map((i) => (i.section === 'yaml' ? settings : i.section === undefined ? { yaml: settings } : null)));
    connection.onRequest('client/registerCapability', () => null);
    connection.onRequest('custom/schema/request', (resource: string) => contributor.requestSchema(resource) ?? null);
    connection.onRequest('custom/schema/content', (uri: string) => { contentAsked.push(uri); return contributor.requestSchemaContent(uri); });
    connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => { published.set(p.uri, p.diagnostics); });
    connection.listen();
    await connection.sendRequest('initialize', { processId: process.pid, rootUri: pathToFileURL(folder).href, capabilities: { workspace: { configuration: true }, textDocument: { publishDiagnostics: {} } }, initializationOptions: { yaml: settings } });
    await connection.sendNotification('initialized', {});
    await connection.sendNotification('workspace/didChangeConfiguration', { settings: { yaml: settings } });
    // what vscode-yaml sends once another extension may contribute schemas
    await connection.sendNotification('yaml/registerCustomSchemaRequest');
  });

  after(async () => {
    connection.dispose();
    yaml.kill();
    await ours.shutdown();
  });

  /** Opens `name` with `text` under the setting and waits for yaml-language-server's diagnostics. */
  async function diagnostics(name: string, text: string, mode: YamlExtensionSetting): Promise<string[]> {
    setting = mode;
    const uri = pathToFileURL(join(folder, name)).href;
    texts.set(uri, text);
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: 1, text } });
    const deadline = Date.now() + 30_000;
    while (!published.has(uri)) {
      if (Date.now() > deadline) throw new Error(`no diagnostics for ${name}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return published.get(uri)!.map((d) => String(typeof d.message === 'string' ? d.message : (d.message as { value: string }).value).split('\n')[0]!);
  }

  it('off: the foreign schema lands on the policy file (the problem)', async () => {
    const found = await diagnostics('p-off.yaml', policy('security.istio.io/v1', 'ALLOW'), 'off');
    assert.ok(found.some((m) => /jobs/.test(m)), JSON.stringify(found));
  });

  it('quiet: the policy file gets our empty schema, so the YAML extension reports nothing on it', async () => {
    assert.deepEqual(await diagnostics('p-quiet.yaml', policy('security.istio.io/v1', 'allow'), 'quiet'), []);
  });

  it('schemas: our schema of the document\'s kind validates it (a lower-case action is refused)', async () => {
    const found = await diagnostics('p-schemas.yaml', policy('security.istio.io/v1', 'allow'), 'schemas');
    assert.ok(found.some((m) => m.includes('ALLOW') && m.includes('DENY')), JSON.stringify(found));
    assert.ok(!found.some((m) => /jobs/.test(m)), JSON.stringify(found));
  });

  it('schemas: a version whose schema refers to a sibling file is resolved through our URIs, never the .invalid host', async () => {
    const found = await diagnostics('p-beta.yaml', policy('security.istio.io/v1beta1', 'allow'), 'schemas');
    assert.ok(found.some((m) => m.includes('ALLOW')), JSON.stringify(found));
    assert.ok(contentAsked.includes('meshpolicy://schemas/istio/authorizationpolicy.v1.schema.json'), JSON.stringify(contentAsked));
    assert.ok(contentAsked.every((u) => u.startsWith('meshpolicy://schemas/')), JSON.stringify(contentAsked));
  });

  it('a file that is not a mesh policy is left to the YAML extension\'s own choice', async () => {
    const found = await diagnostics('d-quiet.yaml', DEPLOYMENT, 'quiet');
    assert.ok(found.some((m) => /jobs/.test(m)), JSON.stringify(found));
  });

  it('so is a file that also holds another kind (a Helm output): its Deployment keeps its schema', async () => {
    const found = await diagnostics('d-mixed.yaml', `${DEPLOYMENT}---\n${policy('security.istio.io/v1', 'ALLOW')}`, 'quiet');
    assert.ok(found.some((m) => /jobs/.test(m)), JSON.stringify(found));
  });

  it('quiet: a policy test file gets our empty schema too', async () => {
    assert.deepEqual(await diagnostics('t-quiet.yaml', POLICY_TESTS, 'quiet'), []);
  });

  it('schemas: a policy test file gets the policy-test schema, its calls the access record\'s, through our URIs', async () => {
    const found = await diagnostics('t-schemas.yaml', POLICY_TESTS, 'schemas');
    assert.ok(!found.some((m) => /jobs/.test(m)), JSON.stringify(found));
    assert.ok(found.some((m) => /allow, deny, external, unknown|Value is not accepted/.test(m)), JSON.stringify(found));
    assert.ok(found.some((m) => /verdict/.test(m) && /not allowed/.test(m)), JSON.stringify(found));
    assert.ok(found.some((m) => /Incorrect type|integer/.test(m)), JSON.stringify(found));
    assert.equal(found.length, 3, JSON.stringify(found));
    assert.ok(contentAsked.includes('meshpolicy://schemas/policy-test.schema.json') && contentAsked.includes('meshpolicy://schemas/access-record.schema.json'), JSON.stringify(contentAsked));
  });
});
