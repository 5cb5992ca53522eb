import type { Inventory, WorkloadInfo } from '../../inventory/inventory';
import type { Check } from '../check';
import { isRec, listText, quote, rec, str, type Rec } from './lib/common';
import { linkerdModel, selectedWorkloads, spec, type LinkerdItem, type LinkerdModel } from './lib/model';
import { describeWorkload, selectedPorts } from './lib/probes';
import { selectorKey, selectsAll } from './lib/selectors';

/** Two Servers that select the same port of the same pods. Since Linkerd 2.18 both are
 * admitted and the policy controller uses one per port: the oldest by creationTimestamp, then
 * by name; the other is skipped for that port ("Port already matched by another server;
 * skipping", linkerd/linkerd2:policy-controller/k8s/index/src/inbound/index.rs
 * `reindex_servers`). Before 2.18 the admission webhook rejected the second one.
 *
 * With an inventory: a workload that both selectors match and a port number both select.
 * Without one (or for external workloads): selectors that are the same (or one that selects
 * everything) and the same `port` value. */

interface Overlap {
  other: LinkerdItem;
  where: string;
}

function selectorOf(item: LinkerdItem): { type: 'pod' | 'external'; selector: Rec } | undefined {
  const s = spec(item);
  if (isRec(s['podSelector'])) return { type: 'pod', selector: s['podSelector'] };
  if (isRec(s['externalWorkloadSelector'])) return { type: 'external', selector: s['externalWorkloadSelector'] };
  return undefined;
}

function created(item: LinkerdItem): number | undefined {
  const text = str(rec(item.value['metadata'])['creationTimestamp']);
  if (!text) return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : time;
}

/** -1 when `a` wins, 1 when `b` wins, 0 when the creation order decides and is not known. A
 * Server with a creationTimestamp exists already; one without is yet to be created, so newer. */
function winner(a: LinkerdItem, b: LinkerdItem): number {
  const ta = created(a);
  const tb = created(b);
  if (ta === undefined && tb === undefined) return 0;
  if (ta === undefined) return 1;
  if (tb === undefined) return -1;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.name < b.name ? -1 : 1;
}

function portText(port: unknown): string {
  return typeof port === 'string' ? quote(port) : String(port);
}

/** Every overlap of a namespace's Servers, computed once per workspace state: Server name →
 * the other Servers it shares a pod port with, and where. */
const cache = new WeakMap<LinkerdModel, { inventory: Inventory; byNamespace: Map<string, Map<string, Overlap[]>> }>();

function overlapsIn(model: LinkerdModel, inventory: Inventory, namespace: string): Map<string, Overlap[]> {
  model.inNamespace(namespace);
  let entry = cache.get(model.untracked);
  if (!entry || entry.inventory !== inventory) {
    entry = { inventory, byNamespace: new Map() };
    cache.set(model.untracked, entry);
  }
  const known = entry.byNamespace.get(namespace);
  if (known) return known;
  const servers = model.named(namespace, 'Server').flatMap((item) => {
    const selector = selectorOf(item);
    const port = spec(item)['port'];
    return selector && port !== undefined ? [{ item, selector, port, key: selectorKey(selector.selector), all: selectsAll(selector.selector) }] : [];
  });
  type S = (typeof servers)[number];
  const found = new Map<string, Map<string, { other: LinkerdItem; workloads: string[]; ports: Set<number>; same: boolean }>>();
  const note = (a: S, b: S) => {
    const mine = found.get(a.item.name) ?? new Map();
    found.set(a.item.name, mine);
    const current = mine.get(b.item.name) ?? { other: b.item, workloads: [], ports: new Set<number>(), same: false };
    mine.set(b.item.name, current);
    return current;
  };
  // Same selector (or one selecting every pod) and the same port value: no inventory needed.
  const groups = new Map<string, S[]>();
  for (const s of servers) {
    const k = `${s.selector.type}\u0000${typeof s.port}\u0000${String(s.port)}`;
    const list = groups.get(k) ?? [];
    list.push(s);
    groups.set(k, list);
  }
  for (const group of groups.values()) {
    const bySelector = new Map<string, S[]>();
    for (const s of group) {
      const list = bySelector.get(s.key) ?? [];
      list.push(s);
      bySelector.set(s.key, list);
    }
    const everything = group.filter((s) => s.all);
    const pairs = new Set<string>();
    const pair = (a: S, b: S) => {
      if (a === b || pairs.has(`${a.item.name}\u0000${b.item.name}`)) return;
      pairs.add(`${a.item.name}\u0000${b.item.name}`).add(`${b.item.name}\u0000${a.item.name}`);
      note(a, b).same = true;
      note(b, a).same = true;
    };
    for (const list of bySelector.values()) for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) pair(list[i]!, list[j]!);
    for (const a of everything) for (const b of group) pair(a, b);
  }
  // With the inventory: a workload both select, and a port number both select on it.
  if (inventory.present) {
    const byWorkload = new Map<WorkloadInfo, S[]>();
    for (const s of servers) {
      if (s.selector.type !== 'pod') continue;
      for (const w of selectedWorkloads(inventory, s.item)) {
        const list = byWorkload.get(w) ?? [];
        list.push(s);
        byWorkload.set(w, list);
      }
    }
    for (const [workload, selecting] of byWorkload) {
      if (selecting.length < 2) continue;
      const matching = selecting.map((s) => ({ s, ports: selectedPorts(workload.ports, s.port) }));
      for (let i = 0; i < matching.length; i++) {
        for (let j = i + 1; j < matching.length; j++) {
          const a = matching[i]!;
          const b = matching[j]!;
          const common = a.ports.filter((p) => b.ports.includes(p));
          if (!common.length) continue;
          for (const [x, y] of [[a.s, b.s], [b.s, a.s]] as const) {
            const overlap = note(x, y);
            overlap.workloads.push(describeWorkload(workload));
            for (const p of common) overlap.ports.add(p);
          }
        }
      }
    }
  }
  const result = new Map<string, Overlap[]>();
  for (const s of servers) {
    const list: Overlap[] = [];
    for (const o of found.get(s.item.name)?.values() ?? []) {
      const where = o.workloads.length
        ? `port ${listText([...o.ports].sort((x, y) => x - y).map(String))} of the pods of ${listText([...new Set(o.workloads)])}`
        : `port ${portText(s.port)} of the same pods`;
      list.push({ other: o.other, where });
    }
    result.set(s.item.name, list);
  }
  entry.byNamespace.set(namespace, result);
  return result;
}

export const overlappingServers: Check = {
  code: 'MPA2009',
  mesh: 'linkerd',
  title: 'Servers overlap on the same pods and port',
  defaultSeverity: 'warning',
  upstream: 'Linkerd policy controller: "Port already matched by another server; skipping" (before 2.18 the admission webhook: "Server spec ... already defines a policy for port ...")',
  kinds: ['Server'],
  run(context) {
    const model = linkerdModel(context.workspace);
    const self = model.itemOf(context.resource);
    if (!self || !self.name) return;
    // Only the first copy of a Server (the same object may be written in several files).
    if (model.find(self.namespace, 'Server', self.name) !== self) return;
    for (const { other, where } of overlapsIn(model, context.workspace.inventory, self.namespace).get(self.name) ?? []) {
      const order = winner(self, other);
      if (order < 0) continue;
      const verdict = order > 0
        ? `only one Server applies per port, the oldest, so ${quote(other.name)} applies there and this one is ignored`
        : `only one Server applies per port: the one created first (then by name), which the manifests cannot tell; the other is ignored there`;
      context.report({ path: ['spec', 'port'] }, `Server ${quote(self.name)} and Server ${quote(other.name)} both select ${where}: ${verdict} (the policy controller logs "Port already matched by another server; skipping"; before Linkerd 2.18 the second one is rejected)`);
    }
  },
};
