// The .vsix holds the bundles, the schemas, the manifest, README and LICENSE, and nothing else.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { ensureVsix, listZip, readCentralDirectory } from './helpers';

test('the vsix holds only the bundles, schemas, manifest, README and LICENSE', (t) => {
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

  const bad = names.filter((n) =>
    /\.ts$/.test(n) || /\.map$/.test(n) ||
    /(^|\/)(test|examples|node_modules|out|src|bench|docs|\.vscode-e2e|\.git)\//.test(n));
  assert.deepEqual(bad, [], 'no sources, maps, tests, examples or node_modules');

  const allowed = [
    /^\[Content_Types\]\.xml$/, /^extension\.vsixmanifest$/,
    /^extension\/dist\/(client|server|cli)\.js$/, /^extension\/schemas\//,
    /^extension\/package\.json$/, /^extension\/readme\.md$/i, /^extension\/license(\.txt|\.md)?$/i,
  ];
  assert.deepEqual(names.filter((n) => !allowed.some((re) => re.test(n))), [], 'unexpected files in the vsix');
  assert.ok(size < 2 * 1024 * 1024, `vsix is ${size} bytes, limit 2 MiB`);
});
