import type { TrafficShape } from '../../traffic/ingest/types';
import { collectEvidence, plural, selectorOrSkip, workloadKeyer, type GenerateOptions, type Operation } from './evidence';
import { GenerationDraft } from './summary';
import type { GeneratedPolicies, PolicyGenerator } from './types';
import { dnsName } from './yaml';

/**
 * Istio: one ALLOW AuthorizationPolicy per workload, selected by its pod labels. One rule per
 * group of callers that make the same requests: `from.source.principals`, and `to.operation`
 * per port and method set with the paths (exact, or `{*}` templates). A workload no call was
 * observed allowed to gets an ALLOW policy without rules (allow-nothing).
 */
export const istioGenerator: PolicyGenerator = {
  mesh: 'istio',
  generate(shapes: readonly TrafficShape[], options: GenerateOptions): GeneratedPolicies {
    const evidence = collectEvidence('istio', shapes, workloadKeyer(false), options);
    const draft = new GenerationDraft();
    const { body, destinations, skipped, unprotected } = draft;
    for (const dest of evidence.destinations) {
      const selector = selectorOrSkip(dest, options.inventory, skipped, unprotected);
      if (!selector) continue;
      const name = dnsName(dest.workload ?? 'workload', 'least-privilege');
      body.document();
      const closed = dest.groups.length === 0;
      if (closed) body.comment(0, `${dest.key}: no call observed allowed, ${plural(dest.deniedCalls, 'observed denied call')}: an ALLOW policy without rules allows nothing.`);
      else body.comment(0, `${dest.key}: ${plural(dest.calls, 'allowed call')} from ${plural(new Set(dest.groups.flatMap((g) => g.callers.map((c) => c.principal))).size, 'caller')}${dest.deniedCalls ? `; ${plural(dest.deniedCalls, 'observed denied call')} stay denied` : ''}.`);
      body.key(0, 'apiVersion', 'security.istio.io/v1').key(0, 'kind', 'AuthorizationPolicy');
      body.key(0, 'metadata').key(2, 'name', name).key(2, 'namespace', dest.namespace);
      body.key(0, 'spec');
      body.key(2, 'selector').key(4, 'matchLabels');
      for (const [k, v] of Object.entries(selector)) body.key(6, k, v);
      body.key(2, 'action', 'ALLOW');
      if (!closed) body.key(2, 'rules');
      for (const group of dest.groups) {
        body.comment(4, `${plural(group.calls, 'call')} from ${group.callers.map((c) => c.principal).join(', ')}`);
        body.line(4, '- from:');
        body.line(8, '- source:');
        body.list(12, 'principals', group.callers.map((c) => ({ value: principal(c.principal), note: plural(c.calls, 'call') })));
        const ops = [...group.operations.map((o) => ({ op: o as Operation | undefined, port: o.port, calls: o.calls })), ...group.tcp.map((t) => ({ op: undefined, port: t.port, calls: t.calls }))];
        if (ops.every((o) => o.port === undefined && !o.op)) continue; // TCP on an unknown port: any port
        body.key(6, 'to');
        for (const { op, port, calls } of ops) {
          body.line(8, '- operation:', op ? plural(calls, 'call') : `${plural(calls, 'TCP connection')}`);
          if (port !== undefined) body.list(12, 'ports', [{ value: String(port) }]);
          if (!op) continue;
          if (op.methods.length) body.list(12, 'methods', op.methods.map((m) => ({ value: m })));
          // a request whose path the log does not give cannot be narrowed by path
          if (op.paths.every((p) => p.value !== '')) {
            body.list(12, 'paths', op.paths.map((p) => ({
              value: p.value,
              note: p.kind === 'template' ? `${p.distinct} distinct paths, ${plural(p.calls, 'call')}` : plural(p.calls, 'call'),
            })));
          }
        }
      }
      destinations.push({ name: dest.key, calls: dest.calls, callers: new Set(dest.groups.flatMap((g) => g.callers.map((c) => c.principal))).size, resources: [`AuthorizationPolicy ${dest.namespace}/${name}`] });
    }
    return draft.finish('istio', 'Istio', evidence, options);
  },
};

/** Istio principals are written without the spiffe:// scheme. */
function principal(value: string): string {
  return value.startsWith('spiffe://') ? value.slice('spiffe://'.length) : value;
}
