import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callerOf, describeCall } from '../../server/src/engine/traffic/describeCall';
import type { AccessRecord } from '../../server/src/engine/traffic/accessRecord';
import { visibleText } from '../../server/src/engine/strings';

describe('one line per call', () => {
  const cases: Array<[string, AccessRecord, string]> = [
    ['an identity', { source: { principal: 'cluster.local/ns/shop/sa/web' }, destination: { namespace: 'shop', workload: 'cart', port: 8080 }, request: { method: 'GET', path: '/items' } }, 'cluster.local/ns/shop/sa/web → shop/cart:8080 GET /items'],
    ['no principal: plaintext (docs/access-records.md)', { destination: { namespace: 'shop', workload: 'gw', port: 80 }, request: { method: 'GET', path: '/' } }, '(plaintext caller) → shop/gw:80 GET /'],
    ['a caller the log does not give', { source: { principalUnknown: true }, destination: { namespace: 'shop', workload: 'gw', port: 80 }, protocol: 'tcp' }, '(unknown caller) → shop/gw:80 tcp'],
    ['a terminal escape sequence in the path is shown, not sent', { source: { ip: '10.0.0.1' }, destination: { namespace: 'shop', workload: 'cart', port: 8080 }, request: { method: 'GET', path: '/\u001b[31mRED\u001b]0;pwned\u0007' } }, '10.0.0.1 → shop/cart:8080 GET /\\x1b[31mRED\\x1b]0;pwned\\x07'],
  ];
  for (const [name, record, line] of cases) it(name, () => assert.equal(describeCall(record), line));

  it('callerOf escapes control characters in an identity', () => {
    assert.equal(callerOf({ source: { principal: 'a\nb' } }), 'a\\x0ab');
  });

  it('visibleText leaves printable text, Unicode included, as it is', () => {
    assert.equal(visibleText('/café/日本?x=1 ok'), '/café/日本?x=1 ok');
    assert.equal(visibleText('\u0000\u007f\u009f\t'), '\\x00\\x7f\\x9f\\x09');
  });
});
