import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { ipBlockError } from './netip';
import { AP, conditionsOf, rulesOf, sourcesOf, specOf, strings, whenKey, type Obj } from './util';

const IP_FIELDS = ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'];
export const IP_KEYS = new Set(['source.ip', 'remote.ip', 'destination.ip']);

/** A corrected value when the mistake is mechanical: spaces, a `10.0.*` wildcard, leading zeros. */
export function suggestIp(value: string): { value: string; why: string; preferred: boolean } | undefined {
  const trimmed = value.trim();
  if (trimmed !== value && !ipBlockError(trimmed)) return { value: trimmed, why: 'remove the spaces', preferred: true };
  const wildcard = /^(\d{1,3}(?:\.\d{1,3}){0,2})((?:\.\*){1,3})$/.exec(trimmed);
  if (wildcard) {
    const octets = wildcard[1]!.split('.');
    const stars = wildcard[2]!.length / 2;
    if (octets.length + stars <= 4) {
      const cidr = `${[...octets.map((o) => String(Number(o))), ...Array(4 - octets.length).fill('0')].join('.')}/${octets.length * 8}`;
      if (!ipBlockError(cidr)) return { value: cidr, why: 'IP blocks take no wildcards; write the range as a CIDR', preferred: true };
    }
  }
  if (/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,3})?$/.test(trimmed)) {
    const [address, bits] = trimmed.split('/');
    const fixed = address!.split('.').map((o) => String(Number(o))).join('.') + (bits !== undefined ? `/${Number(bits)}` : '');
    if (fixed !== trimmed && !ipBlockError(fixed)) return { value: fixed, why: 'write the numbers without leading zeros', preferred: false };
  }
  return undefined;
}

export function reportIp(ctx: CheckContext, path: NodePath, value: string, prefix: string): void {
  if (value === '') return; // MPA1006
  const error = ipBlockError(value);
  if (!error) return;
  const suggestion = suggestIp(value);
  const node = ctx.locate(path).node;
  const fixes: Fix[] = suggestion && node ? [{ title: `Change to ${suggestion.value}`, edits: [replaceScalar(ctx.file, node, suggestion.value)], preferred: suggestion.preferred }] : [];
  const range = /^\s*[\d.]+\s*-\s*[\d.]+\s*$/.test(value) ? '; ranges are not supported, list CIDR blocks instead' : '';
  ctx.report({ path }, `${prefix}${error}${range}${suggestion ? ` (${suggestion.why}: ${suggestion.value})` : ''}`, { fixes });
}

function checkFields(ctx: CheckContext, object: Obj, path: NodePath): void {
  for (const field of IP_FIELDS) {
    for (const { value, index } of strings(object[field])) reportIp(ctx, [...path, field, index], value, `${field}: `);
  }
}

/** istiod's ValidateIPs (§1.9.2 R5, W4): Go netip semantics for addresses and CIDR blocks. */
export const badIpCheck: Check = {
  code: 'MPA1007',
  mesh: 'istio',
  title: 'Bad IP address or CIDR block',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook: "bad CIDR range (VALUE): ERROR", "bad IP address (VALUE)"',
  kinds: [AP],
  run(ctx) {
    for (const rule of rulesOf(specOf(ctx))) {
      for (const source of sourcesOf(rule)) checkFields(ctx, source.source, source.path);
      for (const condition of conditionsOf(rule)) {
        const key = whenKey(condition.condition);
        if (!key || !IP_KEYS.has(key)) continue;
        for (const field of ['values', 'notValues']) {
          for (const { value, index } of strings(condition.condition[field])) reportIp(ctx, [...condition.path, field, index], value, `invalid \`${field === 'values' ? 'value' : 'notValue'}\` for \`key\` ${key}: `);
        }
      }
    }
  },
};
