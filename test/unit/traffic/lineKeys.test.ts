import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashKeyParts } from '../../../server/src/engine/traffic/formats/common';
import { keyPartIs, LineKeys, memoKey } from '../../../server/src/engine/traffic/ingest/lineKeys';
import type { LinePeek } from '../../../server/src/engine/traffic/readerTypes';

function peek(parts: string[], hash = hashKeyParts(parts)): LinePeek {
  return { parts, hash, time: undefined, side: 'inbound', mesh: 'istio', requestId: undefined, method: 'GET', host: undefined, path: '/' };
}

describe('line keys (ingest/lineKeys.ts)', () => {
  it('keeps a key from the second line of its hash on, then finds it', () => {
    const keys = new LineKeys();
    assert.equal(keys.intern(peek(['r1', 'GET', '/a'])), undefined);
    assert.equal(keys.fresh, true, 'the first line is read in full');
    const second = keys.intern(peek(['r1', 'GET', '/a']));
    assert.ok(second);
    assert.equal(keys.fresh, true, 'the line that makes the key is read in full too');
    assert.equal(second.text, 'r1\u0001GET\u0001/a');
    assert.equal(keys.intern(peek(['r1', 'GET', '/a'])), second);
    assert.equal(keys.fresh, false);
  });

  it('tells keys with one hash apart by their parts', () => {
    const keys = new LineKeys();
    const a = ['r1', 'GET', '/a'];
    const b = ['r1', 'GET', '/b'];
    // the same (forced) hash for different parts: each gets its own key
    keys.intern(peek(a, 7));
    const ka = keys.intern(peek(a, 7));
    const kb = keys.intern(peek(b, 7));
    assert.ok(ka && kb);
    assert.notEqual(ka, kb);
    assert.equal(keys.intern(peek(b, 7)), kb);
    assert.equal(keys.intern(peek(a, 7)), ka);
    // a part split differently, or one part more or fewer, is another key
    assert.notEqual(keys.intern(peek(['r1', 'GET/', 'a'], 7)), ka);
    assert.notEqual(keys.intern(peek(['r1', 'GET', '/a', ''], 7)), ka);
    assert.notEqual(keys.intern(peek(['r1', 'GET'], 7)), ka);
  });

  it('hashes the parts with their boundaries', () => {
    assert.notEqual(hashKeyParts(['ab', 'c']), hashKeyParts(['a', 'bc']));
    assert.equal(hashKeyParts(['ab', 'c']), hashKeyParts(['ab', 'c']));
    assert.ok(hashKeyParts(['x']) >= 0 && hashKeyParts(['x']) < 2 ** 30);
  });

  it('gives a detached key for a line that waits with its key alone: same text, never found, no memo', () => {
    const keys = new LineKeys();
    const parts = ['r1', 'GET', '/a'];
    const detached = keys.detached(parts, hashKeyParts(parts));
    assert.equal(detached.text, 'r1\u0001GET\u0001/a');
    assert.equal(detached.kept, false);
    assert.equal(memoKey(detached), undefined, 'its memo is not used');
    // it does not count as a sighting: the next line of that key is still the first
    assert.equal(keys.intern(peek(parts)), undefined);
    const kept = keys.intern(peek(parts))!;
    assert.equal(memoKey(kept), kept);
  });

  it('reads one part of a key in place', () => {
    const text = ['r1', 'GET', '', '\u0000', '/a/b'].join('\u0001');
    assert.equal(keyPartIs(text, 1, 'GET'), true);
    assert.equal(keyPartIs(text, 1, 'GE'), false);
    assert.equal(keyPartIs(text, 1, 'GETX'), false);
    // an absent ('') or empty (U+0000) part is undefined
    assert.equal(keyPartIs(text, 2, undefined), true);
    assert.equal(keyPartIs(text, 3, undefined), true);
    assert.equal(keyPartIs(text, 2, ''), true);
    assert.equal(keyPartIs(text, 1, undefined), false);
    assert.equal(keyPartIs(text, 4, '/a/b'), true);
    assert.equal(keyPartIs(text, 4, '/a'), false);
    assert.equal(keyPartIs(text, 0, 'r1'), true);
    // past the last part
    assert.equal(keyPartIs(text, 5, undefined), false);
  });
});
