import type { Check } from '../check';
import { PA, memo } from './util';
import { labelsText, peerAuthentications, type PeerAuthInfo } from './workspaceIndex';

/** PeerAuthentications grouped by what they apply to: the mesh, one namespace, or one selector. */
const groups = memo((all: PeerAuthInfo[]) => {
  const out = new Map<string, PeerAuthInfo[]>();
  for (const pa of all) {
    const key = `${pa.namespace}\u0000${pa.labels ? JSON.stringify(Object.entries(pa.labels).sort()) : ''}`;
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push(pa);
  }
  return out;
});

/** Kiali KIA0002/KIA0003 and §1.8: at each level one PeerAuthentication applies (the oldest),
 * and selector policies in the root namespace are ignored altogether. */
export const peerAuthenticationConflictCheck: Check = {
  code: 'MPA1022',
  mesh: 'istio',
  title: 'Conflicting or ignored PeerAuthentication',
  defaultSeverity: 'warning',
  upstream: 'Kiali KIA0002 "More than one selector-less PeerAuthentication in the same namespace", KIA0003 "More than one PeerAuthentication for the same workload"; istiod ComposePeerAuthentication',
  kinds: [PA],
  run(ctx) {
    const all = peerAuthentications(ctx.workspace.resources);
    const self = all.find((pa) => pa.resource === ctx.resource)
      ?? all.find((pa) => pa.file.path === ctx.file.path && pa.resource.documentIndex === ctx.resource.documentIndex && pa.resource.path.join('/') === ctx.resource.path.join('/'));
    if (!self) return;
    const root = ctx.workspace.config.istio.rootNamespace;
    if (self.labels && self.namespace === root) {
      ctx.report({ path: ['spec', 'selector'], part: 'key' }, `PeerAuthentication with a selector in the root namespace ${root} is ignored: istiod only takes mesh-wide (selector-less) policies from the root namespace; move it to the namespace of the workloads`);
      return;
    }
    const key = `${self.namespace}\u0000${self.labels ? JSON.stringify(Object.entries(self.labels).sort()) : ''}`;
    const others = (groups(all).get(key) ?? []).filter((pa) => pa !== self);
    if (others.length === 0) return;
    const scope = self.labels ? `workloads with ${labelsText(self.labels)} in namespace ${self.namespace}` : self.namespace === root ? 'the whole mesh' : `namespace ${self.namespace}`;
    const names = others.map((o) => `${o.namespace}/${o.name}${o.file !== ctx.file ? ` (${o.file.path.split(/[\\/]/).pop()})` : ''}`).join(', ');
    const differ = others.some((o) => o.mode !== self.mode || JSON.stringify(o.portLevel) !== JSON.stringify(self.portLevel));
    const group = [self, ...others];
    const dated = group.every((pa) => pa.createdAt !== undefined);
    const oldest = dated ? group.reduce((a, b) => (b.createdAt! < a.createdAt! ? b : a)) : undefined;
    const outcome = oldest
      ? (oldest === self ? ': this one is the oldest, so it is used and the others are ignored' : `: only the oldest one (${oldest.namespace}/${oldest.name}) is used, so this one is ignored`)
      : `: only the oldest one is used${differ ? ', and they disagree, so the mTLS mode depends on creation order' : ''}`;
    ctx.report({ path: ['metadata', 'name'] }, `another PeerAuthentication applies to ${scope} as well (${names})${outcome}; keep one`);
  },
};
