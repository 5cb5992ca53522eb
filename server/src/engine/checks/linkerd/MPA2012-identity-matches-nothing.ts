import { namespaceKnown, type Inventory } from '../../inventory/inventory';
import type { Check, CheckContext } from '../check';
import { arr, closest, isRec, namespaceOf, someText, quote, replaceFix, str, targetsKind } from './lib/common';
import { parseIstioSpiffe, parseServiceAccountIdentity } from './lib/identity';
import { authnRefKind, linkerdModel } from './lib/model';

/** Mesh identities no client can have. Linkerd gives a meshed pod the DNS-like identity
 * `<serviceaccount>.<namespace>.serviceaccount.identity.<control-plane-ns>.<trust-domain>`
 * (§2.2), so:
 *   - an Istio-style SPIFFE ID (`spiffe://<td>/ns/<ns>/sa/<sa>`) for a ServiceAccount the
 *     inventory has matches none of its pods (only a client whose certificate carries exactly
 *     that URI, such as a SPIRE-identified external workload);
 *   - a Service DNS name (`web.emojivoto.svc.cluster.local`) is not an identity at all;
 *   - a ServiceAccount reference named `*` is the literal identity `*.<ns>.serviceaccount...`,
 *     not a wildcard (ServiceAccount identities are exact, never patterns);
 *   - with an inventory: an identity, identityRef, ServiceAccount reference or ServerAuthorization
 *     serviceAccount naming a ServiceAccount that the namespace does not have but that is one
 *     typo away from one it has (in namespaces whose ServiceAccounts the workspace declares);
 *     a namespace (wildcard identity or Namespace reference) that the workspace does not know
 *     but that is one typo away from one it does. Names merely absent are left alone: the
 *     workspace may not hold every workload. */

interface Names {
  serviceAccounts: Map<string, Set<string>>;
  managed: Set<string>;
  namespaces: Set<string>;
}

const cache = new WeakMap<Inventory, Names>();

function names(inventory: Inventory): Names {
  const cached = cache.get(inventory);
  if (cached) return cached;
  const serviceAccounts = new Map<string, Set<string>>();
  const add = (ns: string, sa: string) => {
    const set = serviceAccounts.get(ns) ?? new Set<string>(['default']);
    set.add(sa);
    serviceAccounts.set(ns, set);
  };
  const managed = new Set<string>();
  for (const sa of inventory.serviceAccounts) {
    add(sa.namespace, sa.name);
    managed.add(sa.namespace);
  }
  for (const w of inventory.workloads) add(w.namespace, w.serviceAccount);
  const namespaces = new Set<string>([...inventory.namespaces.keys(), ...inventory.workloads.map((w) => w.namespace), ...inventory.serviceAccounts.map((s) => s.namespace), ...inventory.services.map((s) => s.namespace)]);
  const out = { serviceAccounts, managed, namespaces };
  cache.set(inventory, out);
  return out;
}

/** The control-plane namespace and trust domain the workspace's other identities use, when
 * they agree on one; else Linkerd's defaults. */
function identitySuffix(context: CheckContext, trustDomain: string): string {
  const suffixes = new Set<string>();
  for (const item of linkerdModel(context.workspace).items) {
    const spec = item.value['spec'];
    const ids = isRec(spec) ? [...arr(spec['identities']), ...arr(isRec(spec['client']) && isRec(spec['client']['meshTLS']) ? spec['client']['meshTLS']['identities'] : [])] : [];
    for (const id of ids) {
      const parsed = typeof id === 'string' ? parseServiceAccountIdentity(id) : undefined;
      if (parsed && parsed.suffix.endsWith(`.${trustDomain}`)) suffixes.add(parsed.suffix);
    }
  }
  return suffixes.size === 1 ? [...suffixes][0]! : `linkerd.${trustDomain}`;
}

type Rewrite = (name: string) => string;
const same: Rewrite = (name) => name;

/** Where a namespace was written, and how to write another one there. */
interface NamespaceSite {
  path: (string | number)[];
  rewrite: Rewrite;
}

/** Reports a ServiceAccount the inventory says is not there; when the namespace is not one the
 * workspace declares ServiceAccounts for, looks at the namespace instead (if it was written). */
function checkServiceAccount(context: CheckContext, path: (string | number)[], namespace: string, name: string, what: string, rewrite: Rewrite, namespaceSite?: NamespaceSite): void {
  const inventory = context.workspace.inventory;
  if (!inventory.present) return;
  const known = names(inventory);
  if (!known.managed.has(namespace)) {
    if (namespaceSite) checkNamespace(context, namespaceSite, namespace, what);
    return;
  }
  const accounts = known.serviceAccounts.get(namespace) ?? new Set(['default']);
  if (accounts.has(name)) return;
  // The inventory may not hold every workload: an unknown name is reported only when it is one
  // typo away from a ServiceAccount the namespace has.
  const near = closest(name, accounts);
  if (!near) return;
  context.report({ path }, `${what} names ServiceAccount ${quote(name)}, which namespace ${namespace} does not have; did you mean ${quote(near)}? (the workspace declares ${someText([...accounts].sort().map(quote), 8)} there) As written no workload has this identity`, {
    fixes: replaceFix(context, path, rewrite(near), `Change to ${quote(rewrite(near))}`),
  });
}

/** Reports a namespace nothing in the inventory lives in, when it is a near miss of one that is. */
function checkNamespace(context: CheckContext, site: NamespaceSite, namespace: string, what: string): void {
  const inventory = context.workspace.inventory;
  if (!inventory.present || namespaceKnown(inventory, namespace)) return;
  const near = closest(namespace, names(inventory).namespaces);
  if (!near) return;
  context.report({ path: site.path }, `${what} names namespace ${quote(namespace)}, which the workspace does not have; did you mean ${quote(near)}? As written it matches no workload`, {
    fixes: replaceFix(context, site.path, site.rewrite(near), `Change to ${quote(site.rewrite(near))}`),
  });
}

function checkIdentity(context: CheckContext, path: (string | number)[], id: string, allowSpiffe: boolean): void {
  const istio = parseIstioSpiffe(id);
  if (istio && allowSpiffe) {
    // Only when the inventory shows the ServiceAccount: its pods then present the DNS identity
    // (a SPIRE-identified external workload could carry exactly this URI).
    const inventory = context.workspace.inventory;
    if (!inventory.present || !names(inventory).serviceAccounts.get(istio.namespace)?.has(istio.serviceAccount)) return;
    const dns = `${istio.serviceAccount}.${istio.namespace}.serviceaccount.identity.${identitySuffix(context, istio.trustDomain)}`;
    context.report({ path }, `${quote(id)} is an Istio-style SPIFFE ID; Linkerd identifies the pods of ServiceAccount ${istio.namespace}/${istio.serviceAccount} by the DNS-like name ${dns}, so as written this matches none of them (only a client whose certificate carries exactly this URI)`, {
      fixes: replaceFix(context, path, dns, `Change to ${quote(dns)}`),
    });
    return;
  }
  if (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.[a-z0-9]([-a-z0-9]*[a-z0-9])?\.svc(\.|$)/.test(id)) {
    const [service, namespace] = id.split('.');
    context.report({ path }, `${quote(id)} is the DNS name of Service ${namespace}/${service}, not a mesh identity: clients present the identity of their ServiceAccount (<serviceaccount>.${namespace}.serviceaccount.identity.${context.workspace.config.linkerd.controlPlaneNamespace}.${context.workspace.config.linkerd.trustDomain}), so this matches no client`);
    return;
  }
  const parsed = parseServiceAccountIdentity(id);
  if (!parsed) return;
  const what = `identity ${quote(id)}`;
  const site: NamespaceSite = { path, rewrite: (ns) => `${parsed.serviceAccount}.${ns}.serviceaccount.identity.${parsed.suffix}` };
  if (parsed.serviceAccount === '*') checkNamespace(context, site, parsed.namespace, what);
  else checkServiceAccount(context, path, parsed.namespace, parsed.serviceAccount, what, (sa) => `${sa}.${parsed.namespace}.serviceaccount.identity.${parsed.suffix}`, site);
}

/** A ServiceAccount reference: `name` and an optional `namespace` (the resource's own by default). */
function checkReference(context: CheckContext, base: (string | number)[], ref: Record<string, unknown>, own: string, what: string): void {
  const name = str(ref['name']);
  if (!name) return;
  const written = str(ref['namespace']);
  if (name === '*') {
    // The policy controller turns a ServiceAccount into IdentityMatch::Exact without parsing it
    // (index.rs policy_client_authz, meshtls_authentication.rs, server_authorization.rs).
    const namespace = written ?? own;
    context.report({ path: [...base, 'name'] }, `${what} names ServiceAccount "*", which is not a wildcard: Linkerd compares the identity *.${namespace}.serviceaccount.identity... literally, and no client has it. To admit every ServiceAccount of namespace ${namespace}, use an identityRef of kind Namespace (or the identity "*.${namespace}.serviceaccount.identity.<control-plane-ns>.<trust-domain>")`);
    return;
  }
  checkServiceAccount(context, [...base, 'name'], written ?? own, name, what, same, written !== undefined ? { path: [...base, 'namespace'], rewrite: same } : undefined);
}

export const identityMatchesNothing: Check = {
  code: 'MPA2012',
  mesh: 'linkerd',
  title: 'Identity matches no workload',
  defaultSeverity: 'warning',
  upstream: 'none (the policy is accepted; clients are simply never authorized by it)',
  kinds: ['MeshTLSAuthentication', 'AuthorizationPolicy', 'ServerAuthorization'],
  run(context) {
    const spec = context.value['spec'];
    if (!isRec(spec)) return;
    const own = namespaceOf(context.resource);
    switch (context.resource.kind) {
      case 'MeshTLSAuthentication':
        arr(spec['identities']).forEach((id, i) => {
          if (typeof id === 'string') checkIdentity(context, ['spec', 'identities', i], id, true);
        });
        arr(spec['identityRefs']).forEach((ref, i) => {
          if (!isRec(ref)) return;
          const name = str(ref['name']);
          if (!name) return;
          if (targetsKind(ref, 'core', 'ServiceAccount')) checkReference(context, ['spec', 'identityRefs', i], ref, own, 'this reference');
          else if (targetsKind(ref, 'core', 'Namespace')) checkNamespace(context, { path: ['spec', 'identityRefs', i, 'name'], rewrite: same }, name, 'this reference');
        });
        break;
      case 'AuthorizationPolicy':
        arr(spec['requiredAuthenticationRefs']).forEach((ref, i) => {
          if (isRec(ref) && authnRefKind(ref) === 'serviceaccount') checkReference(context, ['spec', 'requiredAuthenticationRefs', i], ref, own, 'this reference');
        });
        break;
      case 'ServerAuthorization': {
        const client = spec['client'];
        const meshTLS = isRec(client) ? client['meshTLS'] : undefined;
        if (!isRec(meshTLS)) break;
        // SPIFFE IDs are a schema error here (the CRD pattern is DNS-like only).
        arr(meshTLS['identities']).forEach((id, i) => {
          if (typeof id === 'string') checkIdentity(context, ['spec', 'client', 'meshTLS', 'identities', i], id, false);
        });
        arr(meshTLS['serviceAccounts']).forEach((sa, i) => {
          if (isRec(sa)) checkReference(context, ['spec', 'client', 'meshTLS', 'serviceAccounts', i], sa, own, 'this serviceAccount');
        });
        break;
      }
    }
  },
};
