import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUnder, outermostFolders } from '../../client/src/folders';

// One language server per outermost workspace folder (client/src/servers.ts, as Microsoft's
// lsp-multi-server-sample): a folder inside another is part of the outer folder's project.
const folder = (uri: string) => ({ uri: { toString: () => uri }, name: uri.split('/').pop()! });

describe('workspace folders and their servers', () => {
  it('a folder inside another gets no server of its own; siblings and look-alike names do', () => {
    const shop = folder('file:///ws/shop');
    const shopPolicies = folder('file:///ws/shop/policies');
    const shopfront = folder('file:///ws/shopfront');
    const mesh = folder('file:///ws/mesh');
    assert.deepEqual(outermostFolders([shopPolicies, shop, shopfront, mesh]).map((f) => f.name), ['shop', 'shopfront', 'mesh']);
    assert.deepEqual(outermostFolders([mesh]).map((f) => f.name), ['mesh']);
  });

  it('a document belongs to the folder it lies under, not to one whose name it starts with', () => {
    const shop = folder('file:///ws/shop');
    assert.ok(isUnder({ toString: () => 'file:///ws/shop/security/authz.yaml' }, shop));
    assert.ok(isUnder({ toString: () => 'file:///ws/shop' }, shop));
    assert.ok(!isUnder({ toString: () => 'file:///ws/shopfront/authz.yaml' }, shop));
    assert.ok(isUnder({ toString: () => 'file:///authz.yaml' }, folder('file:///')));
  });
});
