import { matchesLabels, type WorkloadInfo } from '../../inventory/inventory';
import { inventoryWaypoints, isAmbient } from '../../istio/ambient';
import { gatewayNameOf, istioAttachesToWorkload } from '../../simulate/attachment';
import { F, T } from '../../simulate/istio/call';
import type { NodePath } from '../../source/tree';
import type { Check, WorkspaceFact } from '../check';
import { readFact } from '../facts';
import { AP, actionOf, conditionsOf, has, matchLabelsOf, namespaceOf, nonEmpty, rulesOf, sourcesOf, specOf, targetRefsOf, whenKey, type Action, type Obj, type RuleItem } from './util';
import { inMesh, inventoryIndex, requestAuthentications, type RequestAuthInfo } from './workspaceIndex';

const REQUEST_AUTHS: WorkspaceFact<RequestAuthInfo[]> = {
  compute: (workspace) => requestAuthentications(workspace.resources),
  key: (list) => JSON.stringify(list),
};

/** How many workloads a message names before "and N more". */
const NAMED = 3;

interface JwtUse {
  path: NodePath;
  /** As the message names it: `requestPrincipals`, `when request.auth.claims[groups]`. */
  name: string;
  /** A not… form (notRequestPrincipals, notValues): it matches every request without a request identity. */
  negative: boolean;
  rule: RuleItem;
  /** The source entry (index in `from`) when the field is in a source. */
  from: number | undefined;
}

/** The fields of a rule that read the request identity a validated JWT gives (§1.8), in order:
 * in a source, the positive form first, since it decides whether the entry can match. */
function jwtUses(rule: RuleItem): JwtUse[] {
  const out: JwtUse[] = [];
  for (const s of sourcesOf(rule)) {
    for (const field of ['requestPrincipals', 'notRequestPrincipals']) {
      if (has(s.source, field)) out.push({ path: [...s.path, field], name: field, negative: field !== 'requestPrincipals', rule, from: s.index });
    }
  }
  for (const c of conditionsOf(rule)) {
    const key = whenKey(c.condition);
    if (!key?.startsWith('request.auth.')) continue;
    const positive = nonEmpty(c.condition['values']);
    if (!positive && !nonEmpty(c.condition['notValues'])) continue;
    out.push({ path: [...c.path, 'key'], name: `when ${key}${positive ? '' : ' (notValues)'}`, negative: !positive, rule, from: undefined });
  }
  return out;
}

/** Without a request identity a positive list never matches: a `when` entry then rules out the
 * whole rule, a source only its entry of `from`, unless every entry has one. */
function excludesRule(use: JwtUse): boolean {
  if (use.negative) return false;
  if (use.from === undefined) return true;
  return sourcesOf(use.rule).every((s) => has(s.source, 'requestPrincipals'));
}

/** The first rule's field, or the one that rules the rule out when one does (it decides). */
function firstJwtUse(spec: Obj | undefined): JwtUse | undefined {
  for (const rule of rulesOf(spec)) {
    const uses = jwtUses(rule);
    if (uses.length) return uses.find(excludesRule) ?? uses[0];
  }
  return undefined;
}

/** Whether the rule constrains anything besides this (not…) field. */
function ruleHasMore(use: JwtUse): boolean {
  const rule = use.rule;
  if (nonEmpty(rule.rule['to'])) return true;
  if (conditionsOf(rule).some((c) => c.path.join('/') !== use.path.slice(0, -1).join('/'))) return true;
  if (use.from === undefined) return sourcesOf(rule).length > 0;
  return Object.keys(sourcesOf(rule).find((s) => s.index === use.from)?.source ?? {}).length > 1;
}

/** What the field does to the rule when no request carries a request identity (§1.3, §1.8). */
function effectOf(use: JwtUse, action: Action): string {
  const rule = `rules[${use.rule.index}]`;
  if (use.negative) {
    const what = ruleHasMore(use) ? 'every request its other conditions match' : 'every request';
    switch (action) {
      case 'ALLOW': return `matches every request: it excludes no caller, and ${rule} allows ${what}, with a token or without`;
      case 'DENY': return `matches every request, valid token or not: ${rule} denies ${what}`;
      case 'AUDIT': return `matches every request: ${rule} audits ${what}`;
      case 'CUSTOM': return `matches every request: ${rule} sends ${what} to the external authorizer`;
    }
  }
  if (!excludesRule(use)) return `never matches: ${rule}.from[${use.from}] matches nothing, and the rule matches only through its other sources`;
  switch (action) {
    case 'ALLOW': return `never matches: ${rule} allows nothing, and the requests it is meant to allow are denied unless another ALLOW rule allows them`;
    case 'DENY': return `never matches: ${rule} denies nothing, with a token or without`;
    case 'AUDIT': return `never matches: ${rule} audits nothing`;
    case 'CUSTOM': return `never matches: ${rule} sends no request to the external authorizer`;
  }
}

/** The workloads named, a few of them and then how many more. */
function listWorkloads(workloads: WorkloadInfo[]): string {
  const named = workloads.slice(0, NAMED).map((w) => `${w.namespace}/${w.name}`).join(', ');
  const more = workloads.length - NAMED;
  return `workload${workloads.length === 1 ? '' : 's'} ${named}${more > 0 ? ` and ${more} more` : ''}`;
}

/** No key that both select on has different values: some workload may carry both sets of labels. */
function compatible(selector: ReadonlyArray<readonly [string, string]>, labels: Record<string, string>): boolean {
  return selector.every(([k, v]) => labels[k] === undefined || labels[k] === v);
}

/**
 * Istio docs, RequestAuthentication and "Authorization with JWT": `requestPrincipals` and the
 * `request.auth.*` conditions read what a RequestAuthentication's JWT validation stores; where
 * none applies, no request has it (§1.8). With the inventory, the workloads the policy selects
 * are checked one by one against the RequestAuthentications that attach to them; without it
 * (or with none selected), the check speaks only when no RequestAuthentication of the policy's
 * namespace or the root namespace could attach at all.
 */
export const jwtWithoutRequestAuthenticationCheck: Check = {
  code: 'MPA1035',
  mesh: 'istio',
  title: 'JWT condition with no RequestAuthentication',
  defaultSeverity: 'warning',
  upstream: 'Istio docs: RequestAuthentication ("a request without credentials is accepted but has no authenticated identity"), Authorization policy conditions (request.auth.* "requires request authentication policy applied"); istio/istio#35973',
  kinds: [AP],
  run(ctx) {
    const spec = specOf(ctx);
    const action = actionOf(spec);
    if (!spec || action === undefined) return;
    const use = firstJwtUse(spec);
    if (!use) return;
    const refs = targetRefsOf(spec).map((r) => r.ref);
    const selector = matchLabelsOf(spec);
    // Both set: the API server rejects the policy.
    if (refs.length && selector) return;
    const ras = readFact(ctx.workspace, REQUEST_AUTHS);
    const root = ctx.workspace.config.istio.rootNamespace;
    const ns = namespaceOf(ctx.resource);
    const { inventory } = ctx.workspace;
    const here = (ra: RequestAuthInfo, at: string) => ra.namespace === at || ra.namespace === root;
    const waypoints = inventoryWaypoints(inventory);
    const isWaypoint = (at: string, gateway: string, labels?: Record<string, string>) => waypoints.has(`${at}/${gateway}`) || labels?.['gateway.istio.io/managed'] === 'istio.io-mesh-controller';
    /** Whether some RequestAuthentication attaches to (T) or may attach to (U) the workload. */
    const covers = (w: WorkloadInfo) => ras.some((ra) => here(ra, w.namespace) && istioAttachesToWorkload(ra, w.namespace, w.labels, gatewayNameOf(w.labels)) !== F);
    let what: string | undefined;
    if (refs.length) {
      what = uncoveredRefs(refs, ras, ns, here, isWaypoint, inventory.present ? inventoryIndex(inventory).workloadsByNamespace.get(ns) ?? [] : [], covers);
    } else {
      const selected = inventory.present
        ? (ns === root ? inventory.workloads : inventoryIndex(inventory).workloadsByNamespace.get(ns) ?? []).filter((w) => !selector || matchesLabels(selector, w.labels))
        : [];
      if (selected.length) {
        // Only proxies that enforce this policy: in the mesh, not ztunnel (MPA1030), not a waypoint.
        const enforced = selected.filter((w) => {
          const gateway = gatewayNameOf(w.labels);
          return inMesh(w, inventory) && !isAmbient(w.labels, inventory.namespaces.get(w.namespace)?.labels) && !(gateway && isWaypoint(w.namespace, gateway, w.labels));
        });
        const bare = enforced.filter((w) => !covers(w));
        if (bare.length) what = listWorkloads(bare);
      } else {
        const labels = selector ?? {};
        const gateway = gatewayNameOf(labels);
        const could = ras.some((ra) => {
          if (ns !== root && !here(ra, ns)) return false;
          if (ra.targetRefs) return gateway !== undefined && ra.namespace === ns && istioAttachesToWorkload(ra, ns, labels, gateway) === T;
          return ra.selector === null || compatible(ra.selector, labels);
        });
        if (!could) what = selector && Object.keys(selector).length ? 'the workloads it selects' : ns === root ? 'the workloads of the mesh' : `namespace ${ns}`;
      }
    }
    if (what === undefined) return;
    ctx.report(
      { path: use.path, part: 'key' },
      `${use.name} reads the identity of a validated JWT, but no RequestAuthentication applies to ${what}: no token is validated there, so no request has a request principal or claims, and it ${effectOf(use, action)}; add a RequestAuthentication with jwtRules for them`,
    );
  },
};

/**
 * The targetRefs a RequestAuthentication may not cover, named for the message; undefined when
 * every one may be covered. A RequestAuthentication with the same ref covers it; so may, for
 * lack of knowing which waypoint serves a Service, any that targets a Gateway, and any that
 * targets the waypoint GatewayClass. A Gateway API gateway that is not a waypoint also takes
 * selector and namespace-wide RequestAuthentications (§1.2 item 2).
 */
function uncoveredRefs(
  refs: Obj[], ras: RequestAuthInfo[], ns: string,
  here: (ra: RequestAuthInfo, at: string) => boolean,
  isWaypoint: (at: string, gateway: string) => boolean,
  workloads: WorkloadInfo[], covers: (w: WorkloadInfo) => boolean,
): string | undefined {
  const uncovered: string[] = [];
  for (const ref of refs) {
    const kind = typeof ref['kind'] === 'string' ? ref['kind'] : '';
    const name = typeof ref['name'] === 'string' ? ref['name'] : '';
    const group = typeof ref['group'] === 'string' ? ref['group'] : '';
    const targeted = ras.some((ra) => ra.targetRefs?.some((r) => {
      if (r.kind === 'GatewayClass') return true;
      if (kind === 'GatewayClass') return true;
      if ((kind === 'Service' || kind === 'ServiceEntry') && r.kind === 'Gateway') return true;
      return here(ra, ns) && r.kind === kind && r.name === name && (r.group === group || (r.group === 'core' && group === '') || (r.group === '' && group === 'core'));
    }));
    if (targeted) continue;
    if (kind === 'Gateway' && !isWaypoint(ns, name)) {
      const pods = workloads.filter((w) => gatewayNameOf(w.labels) === name);
      const gatewayLabels = { 'gateway.networking.k8s.io/gateway-name': name };
      const podsCovered = pods.length
        ? pods.every(covers)
        : ras.some((ra) => here(ra, ns) && !ra.targetRefs && (ra.selector === null || compatible(ra.selector, gatewayLabels)));
      if (podsCovered) continue;
    }
    uncovered.push(`${kind || 'targetRef'} ${name}`);
  }
  return uncovered.length ? uncovered.join(', ') : undefined;
}
