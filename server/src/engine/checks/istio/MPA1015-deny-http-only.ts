import type { Check } from '../check';
import { ambientScope } from './ambient';
import { AP, TCP_SOURCE_FIELDS, actionOf, has, hasTargetRefs, isObj, list, rulesOf, specOf } from './util';

/** istiod's DENY warning (§1.7, §1.9.2 WN2), with the webhook's exact condition. */
export const denyHttpOnlyCheck: Check = {
  code: 'MPA1015',
  mesh: 'istio',
  title: 'DENY rule with only HTTP attributes',
  defaultSeverity: 'warning',
  upstream: 'istiod webhook warning: "configured AuthorizationPolicy will deny all traffic to TCP ports under its scope due to the use of only HTTP attributes in a DENY rule; it is recommended to explicitly specify the port"',
  kinds: [AP],
  run(ctx) {
    const spec = specOf(ctx);
    if (actionOf(spec) !== 'DENY') return;
    if (!hasTargetRefs(spec)) {
      // ztunnel, not Envoy, enforces it for every selected workload: there an HTTP-only DENY rule
      // never matches (mesh-semantics §1.7, ambient), the opposite of this warning; MPA1030 says so.
      const scope = ambientScope(ctx, spec);
      if (scope.ambient && scope.ztunnelWorkloads.length === scope.workloads.length) return;
    }
    for (const rule of rulesOf(spec)) {
      const sources = list(rule.rule['from']).filter(isObj).map((f) => f['source']).filter(isObj);
      const operations = list(rule.rule['to']).filter(isObj).map((t) => t['operation']).filter(isObj);
      const fromExists = sources.length > 0;
      const toExists = operations.length > 0;
      const tcpInFrom = sources.some((s) => TCP_SOURCE_FIELDS.some((f) => has(s, f)));
      const tcpInTo = operations.some((o) => has(o, 'ports') || has(o, 'notPorts'));
      if (toExists && !tcpInTo) {
        const who = tcpInFrom ? 'all TCP traffic from the sources of this rule' : 'all traffic to TCP ports under its scope';
        ctx.report({ path: [...rule.path, 'to'], part: 'key' },
          `this DENY rule will deny ${who}: on a TCP port its HTTP-only attributes (hosts, methods, paths) are ignored, so the rest of the rule matches every connection; it is recommended to explicitly specify the port (ports)`);
      } else if (fromExists && !toExists && !tcpInFrom) {
        ctx.report({ path: [...rule.path, 'from'], part: 'key' },
          'this DENY rule will deny all traffic to TCP ports under its scope: its sources set no TCP attribute (principals, namespaces, serviceAccounts, ipBlocks, remoteIpBlocks), and the HTTP-only ones (requestPrincipals) are ignored on TCP, so the rule matches every TCP connection; it is recommended to explicitly specify the port (to.operation.ports)');
      }
    }
  },
};
