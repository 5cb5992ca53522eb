import type { Check } from '../check';
import { AP, HTTP_OPERATION_FIELDS, HTTP_SOURCE_FIELDS, actionOf, conditionsOf, has, isHttpWhenKey, operationsOf, rulesOf, sourcesOf, specOf, whenKey } from './util';

/**
 * §1.7 and istio/istio#37920: on a TCP port an ALLOW rule that uses any HTTP-only attribute is
 * dropped whole, including its `to` entries that only name ports. Reported when a rule has a
 * ports-only `to` entry (clearly meant for TCP) next to another `to` entry with HTTP fields.
 */
export const mixedHttpTcpCheck: Check = {
  code: 'MPA1024',
  mesh: 'istio',
  title: 'ALLOW rule mixes HTTP and TCP operations',
  defaultSeverity: 'warning',
  upstream: 'none (istiod generates the rule and drops it on TCP filter chains); behaviour described in the Istio TCP authorization task',
  kinds: [AP],
  run(ctx) {
    const spec = specOf(ctx);
    if (actionOf(spec) !== 'ALLOW') return;
    for (const rule of rulesOf(spec)) {
      const operations = operationsOf(rule);
      const httpOperation = operations.find((o) => HTTP_OPERATION_FIELDS.some((f) => has(o.operation, f)));
      if (!httpOperation) continue;
      const httpFields = HTTP_OPERATION_FIELDS.filter((f) => has(httpOperation.operation, f));
      const others = [
        ...sourcesOf(rule).flatMap((s) => HTTP_SOURCE_FIELDS.filter((f) => has(s.source, f))),
        ...conditionsOf(rule).map((c) => whenKey(c.condition)).filter((k): k is string => k !== undefined && isHttpWhenKey(k)),
      ];
      for (const operation of operations) {
        const tcpOnly = (has(operation.operation, 'ports') || has(operation.operation, 'notPorts')) && !HTTP_OPERATION_FIELDS.some((f) => has(operation.operation, f));
        if (!tcpOnly) continue;
        ctx.report({ path: [...operation.path], part: 'key' },
          `on a TCP port this whole rule is dropped, because to[${httpOperation.index}] uses HTTP-only ${[...new Set([...httpFields, ...others])].join(', ')}: to[${operation.index}] (ports only) therefore never allows TCP traffic; move it to a rule of its own`);
      }
    }
  },
};
