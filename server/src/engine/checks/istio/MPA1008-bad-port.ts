import { replaceScalar } from '../../edits';
import type { Fix } from '../../findings';
import type { NodePath } from '../../source/tree';
import type { Check, CheckContext } from '../check';
import { AP, conditionsOf, operationsOf, rulesOf, specOf, strings, whenKey } from './util';

/** Go strconv.ParseUint(port, 10, 32) plus istiod's `<= 65535`. */
export function portError(value: string): string | undefined {
  if (!/^[0-9]+$/.test(value)) return `strconv.ParseUint: parsing ${JSON.stringify(value)}: invalid syntax`;
  const n = Number(value);
  if (n > 0xffffffff) return `strconv.ParseUint: parsing ${JSON.stringify(value)}: value out of range`;
  if (n > 65535) return 'above 65535';
  return undefined;
}

function report(ctx: CheckContext, path: NodePath, value: string, prefix: string): void {
  if (value === '') return; // MPA1006
  const error = portError(value);
  if (!error) return;
  let hint = '';
  const fixes: Fix[] = [];
  const trimmed = value.trim();
  if (trimmed !== value && !portError(trimmed)) {
    const node = ctx.locate(path).node;
    if (node) fixes.push({ title: `Change to "${trimmed}"`, edits: [replaceScalar(ctx.file, node, trimmed)], preferred: true });
    hint = '; remove the spaces';
  } else if (/^\s*\d+\s*[-:]\s*\d+\s*$/.test(value)) hint = '; port ranges are not supported, list each port';
  else if (/^[0-9]*[A-Za-z]/.test(trimmed)) hint = '; ports are numbers (the container port), not port names';
  else if (trimmed.includes('*')) hint = '; ports take no wildcards (leave the field out to match any port)';
  else if (trimmed.includes(',')) hint = '; write one port per list item';
  ctx.report({ path }, `${prefix}bad port (${value}): ${error}${hint}`, { fixes });
}

/** istiod's ValidatePorts (§1.9.2 O3, W4 destination.port): one base-10 number up to 65535. */
export const badPortCheck: Check = {
  code: 'MPA1008',
  mesh: 'istio',
  title: 'Bad port',
  defaultSeverity: 'error',
  admissionRefusal: true,
  upstream: 'istiod webhook: "bad port (VALUE): ERROR"',
  kinds: [AP],
  run(ctx) {
    for (const rule of rulesOf(specOf(ctx))) {
      for (const operation of operationsOf(rule)) {
        for (const field of ['ports', 'notPorts']) {
          for (const { value, index } of strings(operation.operation[field])) report(ctx, [...operation.path, field, index], value, `${field}: `);
        }
      }
      for (const condition of conditionsOf(rule)) {
        if (whenKey(condition.condition) !== 'destination.port') continue;
        for (const field of ['values', 'notValues']) {
          for (const { value, index } of strings(condition.condition[field])) report(ctx, [...condition.path, field, index], value, `invalid \`${field === 'values' ? 'value' : 'notValue'}\` for \`key\` destination.port: `);
        }
      }
    }
  },
};
