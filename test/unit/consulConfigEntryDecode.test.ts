import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeConfigEntry } from '../../server/src/engine/consul/configEntryDecode';

/**
 * A `service-intentions` config entry decoded as `consul config write` decodes it: mapstructure
 * with WeaklyTypedInput and HookWeakDecodeFromSlice (hashicorp/consul `command/config/write`
 * `newDecodeConfigEntry`), then every unused key refused ("invalid config key"). Expected values
 * follow mapstructure's documented weak conversions and Go's strconv.ParseBool.
 */

const source = (fields: Record<string, unknown>) => ({ Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', ...fields }] });
const http = (fields: Record<string, unknown>) => source({ Permissions: [{ Action: 'allow', HTTP: fields }] });

describe('consul config entry decoding (consul config write)', () => {
  const decoded: { name: string; entry: Record<string, unknown>; path: (string | number)[]; expect: unknown }[] = [
    { name: 'a single method is lifted into a list', entry: http({ Methods: 'GET' }), path: ['Sources', 0, 'Permissions', 0, 'HTTP', 'Methods'], expect: ['GET'] },
    { name: 'a single header map is lifted into a list', entry: http({ Header: { Name: 'x-a', Present: true } }), path: ['Sources', 0, 'Permissions', 0, 'HTTP', 'Header'], expect: [{ Name: 'x-a', Present: true }] },
    { name: 'Present "true" is a bool', entry: http({ Header: [{ Name: 'x-a', Present: 'true' }] }), path: ['Sources', 0, 'Permissions', 0, 'HTTP', 'Header', 0, 'Present'], expect: true },
    { name: 'Invert "F" is false (strconv.ParseBool)', entry: http({ Header: [{ Name: 'x-a', Exact: 'v', Invert: 'F' }] }), path: ['Sources', 0, 'Permissions', 0, 'HTTP', 'Header', 0, 'Invert'], expect: false },
    { name: 'IgnoreCase 1 (a number) is true', entry: http({ Header: [{ Name: 'x-a', Exact: 'v', IgnoreCase: 1 }] }), path: ['Sources', 0, 'Permissions', 0, 'HTTP', 'Header', 0, 'IgnoreCase'], expect: true },
    { name: 'an empty string is false', entry: http({ Header: [{ Name: 'x-a', Exact: 'v', Invert: '' }] }), path: ['Sources', 0, 'Permissions', 0, 'HTTP', 'Header', 0, 'Invert'], expect: false },
    { name: 'a number where a string is wanted is its decimal text', entry: http({ Header: [{ Name: 'x-version', Exact: 2 }] }), path: ['Sources', 0, 'Permissions', 0, 'HTTP', 'Header', 0, 'Exact'], expect: '2' },
    { name: 'a bool where a string is wanted is "1" or "0"', entry: http({ Header: [{ Name: 'x-debug', Exact: true }] }), path: ['Sources', 0, 'Permissions', 0, 'HTTP', 'Header', 0, 'Exact'], expect: '1' },
    { name: 'a one-item list where one value is wanted is that value', entry: source({ Action: ['deny'] }), path: ['Sources', 0, 'Action'], expect: 'deny' },
    { name: 'a one-item list of maps where a block is wanted (HCL) is that map', entry: source({ Permissions: [{ Action: 'allow', HTTP: [{ PathPrefix: '/v1' }] }] }), path: ['Sources', 0, 'Permissions', 0, 'HTTP'], expect: { PathPrefix: '/v1' } },
    { name: 'an empty map where a list is wanted is an empty list', entry: { Kind: 'service-intentions', Name: 'api', Sources: {} }, path: ['Sources'], expect: [] },
    { name: 'keys in another letter case name the same field', entry: { kind: 'service-intentions', name: 'api', sources: [{ name: 'web', action: 'allow' }] }, path: ['Sources', 0, 'Action'], expect: 'allow' },
    { name: 'Meta values become strings, a list of maps merged', entry: { Kind: 'service-intentions', Name: 'api', Meta: [{ team: 'a' }, { tier: 2 }], Sources: [{ Name: 'web', Action: 'allow' }] }, path: ['Meta'], expect: { team: 'a', tier: '2' } },
    { name: 'a null value is as if absent', entry: source({ Action: 'allow', Description: null }), path: ['Sources', 0, 'Description'], expect: undefined },
    { name: 'a claim path written as one string is a one-element path', entry: { Kind: 'service-intentions', Name: 'api', JWT: { Providers: [{ Name: 'okta', VerifyClaims: [{ Path: 'perms', Value: 'admin' }] }] }, Sources: [{ Name: 'web', Action: 'allow' }] }, path: ['JWT', 'Providers', 0, 'VerifyClaims', 0, 'Path'], expect: ['perms'] },
  ];
  for (const c of decoded) {
    it(`decodes: ${c.name}`, () => {
      const result = decodeConfigEntry(c.entry);
      assert.deepEqual(result.refusals, []);
      let at: unknown = result.value;
      for (const segment of c.path) at = (at as Record<string | number, unknown> | undefined)?.[segment];
      assert.deepEqual(at, c.expect);
    });
  }

  const refused: { name: string; entry: Record<string, unknown>; refusals: RegExp[] }[] = [
    { name: 'an unknown key in a source', entry: source({ Action: 'allow', Colour: 'blue' }), refusals: [/^invalid config key "Sources\[0\]\.Colour"$/] },
    { name: 'an unknown top-level key', entry: { ...source({ Action: 'allow' }), Protocol: 'http' }, refusals: [/^invalid config key "Protocol"$/] },
    { name: 'an unknown key deep in HTTP', entry: http({ PathPrefix: '/', Verb: 'GET' }), refusals: [/^invalid config key "Sources\[0\]\.Permissions\[0\]\.HTTP\.Verb"$/] },
    { name: 'a bool that strconv cannot parse', entry: http({ Header: [{ Name: 'x-a', Present: 'yes' }] }), refusals: [/cannot parse 'Sources\[0\]\.Permissions\[0\]\.HTTP\.Header\[0\]\.Present' as bool/] },
    { name: 'a map where a string is wanted', entry: source({ Action: { value: 'allow' } }), refusals: [/'Sources\[0\]\.Action' expected a string, got a map/] },
    { name: 'a list of two where one value is wanted', entry: source({ Action: ['allow', 'deny'] }), refusals: [/'Sources\[0\]\.Action' expected a string, got a list/] },
    { name: 'a string where a block is wanted', entry: source({ Permissions: [{ Action: 'allow', HTTP: '/v1' }] }), refusals: [/'Sources\[0\]\.Permissions\[0\]\.HTTP' expected a map/] },
    { name: 'an int that does not parse', entry: source({ Action: 'allow', Precedence: 'high' }), refusals: [/cannot parse 'Sources\[0\]\.Precedence' as int/] },
    { name: 'a legacy time that is not RFC 3339', entry: source({ Action: 'allow', LegacyCreateTime: 'yesterday' }), refusals: [/'Sources\[0\]\.LegacyCreateTime' is not an RFC 3339 time/] },
    { name: 'decode errors alone are named, not the unused keys beside them', entry: source({ Action: { value: 'allow' }, Colour: 'blue' }), refusals: [/expected a string, got a map/] },
  ];
  for (const c of refused) {
    it(`refuses: ${c.name}`, () => {
      const { refusals } = decodeConfigEntry(c.entry);
      assert.equal(refusals.length, c.refusals.length, refusals.join('\n'));
      c.refusals.forEach((pattern, i) => assert.match(refusals[i]!, pattern));
    });
  }

  it('accepts the forms strconv accepts, ints included', () => {
    for (const text of ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']) {
      assert.deepEqual(decodeConfigEntry(http({ Header: [{ Name: 'x', Exact: 'v', Invert: text }] })).refusals, [], text);
    }
    for (const text of ['9', '-3', '0x1F', '0o17', '0b101', '017', '1_000', '']) {
      assert.deepEqual(decodeConfigEntry(source({ Action: 'allow', Precedence: text })).refusals, [], text);
    }
    for (const text of ['TRUE ', 'yes', 'on']) assert.equal(decodeConfigEntry(http({ Header: [{ Name: 'x', Exact: 'v', Invert: text }] })).refusals.length, 1, text);
  });
});
