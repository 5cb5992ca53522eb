// The .vsix holds the bundles, the schemas, the rule pages, the HCL language files, the manifest, README and LICENSE, and nothing else.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ensureVsix, listZip, readCentralDirectory, repoRoot } from './helpers';

test('the vsix holds only the bundles, schemas, rule pages, HCL language files, manifest, README and LICENSE', (t) => {
  const vsix = ensureVsix();
  const size = fs.statSync(vsix).size;
  t.diagnostic(`vsix: ${vsix} (${(size / 1024).toFixed(0)} KiB)`);
  const names = listZip(vsix).map((e) => e.name);
  // the JS reader must agree with unzip (it is the fallback where unzip is missing)
  assert.deepEqual([...readCentralDirectory(fs.readFileSync(vsix)).map((e) => e.name)].sort(), [...names].sort());

  assert.ok(names.includes('extension/dist/server.js'), 'extension/dist/server.js');
  assert.ok(names.includes('extension/dist/client.js'), 'extension/dist/client.js');
  assert.ok(names.includes('extension/dist/cli.js'), 'extension/dist/cli.js');
  assert.ok(names.includes('extension/schemas/istio/catalog.json'), 'extension/schemas/istio/catalog.json');
  assert.ok(names.includes('extension/package.json'), 'extension/package.json');
  assert.ok(names.some((n) => /^extension\/LICENSE(\.txt|\.md)?$/i.test(n)), 'LICENSE');
  // the HCL language package.json contributes: its grammar and its configuration
  assert.ok(names.includes('extension/languages/hcl.tmLanguage.json'), 'extension/languages/hcl.tmLanguage.json');
  assert.ok(names.includes('extension/languages/hcl.language-configuration.json'), 'extension/languages/hcl.language-configuration.json');
  // every rule's page, which the diagnostics link to (codeDescription), and of docs/ nothing else
  const pages = fs.readdirSync(path.join(repoRoot, 'docs', 'rules')).filter((f) => f.endsWith('.md')).sort();
  assert.ok(pages.includes('MPA0104.md') && pages.includes('README.md'));
  assert.deepEqual(names.filter((n) => n.startsWith('extension/docs/')).sort(), pages.map((f) => `extension/docs/rules/${f}`));

  const bad = names.filter((n) =>
    /\.ts$/.test(n) || /\.map$/.test(n) ||
    /(^|\/)(test|examples|node_modules|out|src|bench|\.vscode-e2e|\.git)\//.test(n) || (/(^|\/)docs\//.test(n) && !/^extension\/docs\/rules\/[^/]+\.md$/.test(n)));
  assert.deepEqual(bad, [], 'no sources, maps, tests, examples or node_modules');

  const allowed = [
    /^\[Content_Types\]\.xml$/, /^extension\.vsixmanifest$/,
    /^extension\/dist\/(client|server|cli)\.js$/, /^extension\/schemas\//, /^extension\/docs\/rules\/[^/]+\.md$/,
    /^extension\/package\.json$/, /^extension\/readme\.md$/i, /^extension\/license(\.txt|\.md)?$/i,
    /^extension\/languages\/hcl\.(tmLanguage|language-configuration)\.json$/,
  ];
  assert.deepEqual(names.filter((n) => !allowed.some((re) => re.test(n))), [], 'unexpected files in the vsix');
  // (2.5 MiB: the CEL evaluator for the CRDs' validation rules, @bufbuild/cel with its protobuf
  // runtime and RE2, is about 0.87 MB in each of the server and CLI bundles)
  assert.ok(size < 2.5 * 1024 * 1024, `vsix is ${size} bytes, limit 2.5 MiB`);
});

test('the extension carries no telemetry: no SDK, no telemetry API use, no setting that enables it', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  const dependencies = Object.keys({ ...(manifest['dependencies'] as object), ...(manifest['optionalDependencies'] as object | undefined) });
  assert.deepEqual(dependencies.filter((d) => /telemetry|insights|analytics|sentry|segment|posthog|mixpanel|bugsnag|datadog|newrelic/i.test(d)), [], 'no telemetry or crash-reporting package');
  const text = JSON.stringify(manifest);
  assert.doesNotMatch(text, /telemetry|aiKey|instrumentationKey|connectionString/i, 'package.json names no telemetry key or setting');
  // Our code never calls VS Code's or LSP's telemetry APIs (the LSP libraries define telemetry/event; we never send or forward it; Istio's Telemetry kind is data).
  const sources = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
  const users = [...sources(path.join(repoRoot, 'client', 'src')), ...sources(path.join(repoRoot, 'server', 'src'))]
    .filter((f) => /\.telemetry\b|telemetry\/event|TelemetryLogger|isTelemetryEnabled|onTelemetry|TelemetryEventNotification/.test(fs.readFileSync(f, 'utf8')));
  assert.deepEqual(users, [], 'no source file uses a telemetry API');
});
