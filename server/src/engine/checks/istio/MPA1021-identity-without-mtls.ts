import { matchesLabels } from '../../inventory/inventory';
import type { Check } from '../check';
import { readFact } from '../facts';
import { AP, MTLS_SOURCE_FIELDS, MTLS_WHEN_KEYS, actionOf, conditionsOf, has, hasTargetRefs, matchLabelsOf, namespaceOf, operationsOf, rulesOf, sourcesOf, specOf, strings, whenKey, type RuleItem } from './util';
import { PEER_MODES, resolvePeerMode as resolve, type ResolvedPeerMode as Resolved } from './peerModes';
import { inventoryIndex } from './workspaceIndex';

/** The ports the rule is limited to, when every `to` entry names ports. */
function rulePorts(rule: RuleItem): string[] | undefined {
  const operations = operationsOf(rule);
  if (operations.length === 0 || operations.some((o) => !has(o.operation, 'ports'))) return undefined;
  return operations.flatMap((o) => strings(o.operation['ports']).map((p) => String(Number(p.value))));
}

/** Kiali KIA0105 and §1.8: identity attributes need the peer certificate of an mTLS connection. */
export const identityWithoutMtlsCheck: Check = {
  code: 'MPA1021',
  mesh: 'istio',
  title: 'Identity match without STRICT mTLS',
  defaultSeverity: 'warning',
  upstream: 'Kiali KIA0105 "Unable to find a PeerAuthentication enabling mTLS for the workloads"; Istio docs "Dependency on mutual TLS"',
  kinds: [AP],
  run(ctx) {
    const spec = specOf(ctx);
    const action = actionOf(spec);
    if (!spec || action === 'CUSTOM' || action === undefined || hasTargetRefs(spec)) return;
    const { list, byNamespace: index } = readFact(ctx.workspace, PEER_MODES);
    if (list.length === 0) return;
    const uses = rulesOf(spec).flatMap((rule) => [
      ...sourcesOf(rule).flatMap((s) => MTLS_SOURCE_FIELDS.filter((f) => has(s.source, f)).map((f) => ({ rule, path: [...s.path, f], name: f }))),
      ...conditionsOf(rule).filter((c) => (MTLS_WHEN_KEYS as readonly string[]).includes(whenKey(c.condition) ?? '')).map((c) => ({ rule, path: [...c.path, 'key'], name: whenKey(c.condition)! })),
    ]);
    if (uses.length === 0) return;
    const root = ctx.workspace.config.istio.rootNamespace;
    const ns = namespaceOf(ctx.resource);
    const selector = matchLabelsOf(spec);
    const { inventory } = ctx.workspace;
    // The workloads in scope, with what decides their mode.
    const targets: Array<{ what: string; resolved: Resolved }> = [];
    const workloads = inventory.present
      ? (ns === root ? inventory.workloads : inventoryIndex(inventory).workloadsByNamespace.get(ns) ?? []).filter((w) => !selector || matchesLabels(selector, w.labels))
      : [];
    if (workloads.length) {
      for (const w of workloads) {
        const resolved = resolve(index, root, w.namespace, (labels) => (matchesLabels(labels, w.labels) ? 'yes' : 'no'));
        if (resolved) targets.push({ what: `workload ${w.namespace}/${w.name}`, resolved });
      }
    } else if (ns !== root) {
      const labels = selector ?? {};
      const resolved = resolve(index, root, ns, (paLabels) => {
        if (matchesLabels(paLabels, labels)) return 'yes';
        return Object.entries(paLabels).some(([k, v]) => labels[k] !== undefined && labels[k] !== v) ? 'no' : 'maybe';
      });
      if (resolved) targets.push({ what: selector && Object.keys(selector).length ? `the selected workloads` : `namespace ${ns}`, resolved });
    }
    for (const use of uses) {
      const ports = rulePorts(use.rule);
      for (const { what, resolved } of targets) {
        let mode = resolved.mode;
        let where = `${mode} from PeerAuthentication ${resolved.by.namespace}/${resolved.by.name}`;
        if (ports) {
          const weak = ports.filter((p) => (resolved.portLevel[p] ?? 'UNSET') !== 'UNSET' ? resolved.portLevel[p] !== 'STRICT' : mode !== 'STRICT');
          if (weak.length === 0) continue;
          const portModes = weak.filter((p) => resolved.portLevel[p] && resolved.portLevel[p] !== 'UNSET');
          if (portModes.length) {
            mode = resolved.portLevel[portModes[0]!]!;
            const by = resolved.portBy ?? resolved.by;
            where = `${mode} on port ${portModes[0]} from PeerAuthentication ${by.namespace}/${by.name}`;
          }
        } else if (mode === 'STRICT') {
          continue;
        }
        const effect = mode === 'DISABLE' ? 'no call carries a peer identity' : 'plain-text calls carry no peer identity';
        ctx.report({ path: use.path, part: 'key' }, `${use.name} needs mTLS, but mTLS is not STRICT for ${what} (${where}): ${effect}, so for them a positive list never matches and a not… list always matches; make mTLS STRICT for these workloads`);
        break;
      }
    }
  },
};
