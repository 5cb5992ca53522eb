import type { Range, RelatedLocation } from '../../findings';
import type { Resource } from '../../resource';
import { dryRunAnnotated, readAttachable, type TargetRef } from '../../simulate/istio/attachable';
import type { SourceFile } from '../../source/sourceFile';
import { locate } from '../../source/tree';
import { admissionRefusals } from '../admission';
import type { Check, WorkspaceFact } from '../check';
import { readFact } from '../facts';
import { hasZtunnelHttpParts, matchesEverything, ruleCovers } from './ruleCover';
import { AP, actionOf, isObj, list, specOf, type Obj } from './util';
import { mayRunAtZtunnel } from './workspaceIndex';
import { resourceValue } from '../../resourceValue';

/** A DENY AuthorizationPolicy the cluster would take and enforce: not a dry run, not refused by
 * istiod's webhook (a schema error is the lint's own error on that policy). */
interface DenyPolicy {
  namespace: string;
  name: string;
  selector: Array<[string, string]> | null;
  targetRefs: TargetRef[] | null;
  rules: Array<{ index: number; rule: Obj; file: string; range: Range; ztunnelHttp: boolean }>;
}

function isDryRun(value: Obj): boolean {
  return dryRunAnnotated(isObj(value['metadata']) ? value['metadata'] : {});
}

type EnforcedDeny = Omit<DenyPolicy, 'rules'> & { rules: unknown[] };

/** Per resource object, what it says as a DENY policy the cluster enforces (null: it is none).
 * Kept because the admission checks cost more than reading it; ranges are read afresh, since a
 * resource that moves in its file keeps its object. */
const enforcedDenies = new WeakMap<Resource, { value: object; deny: EnforcedDeny | null }>();

function enforcedDeny(file: SourceFile, resource: Resource): EnforcedDeny | null {
  const value = resourceValue(resource) as Obj;
  const cached = enforcedDenies.get(resource);
  if (cached?.value === value) return cached.deny;
  let known: EnforcedDeny | null = null;
  const spec = isObj(value['spec']) ? value['spec'] : undefined;
  if (actionOf(spec) === 'DENY' && !isDryRun(value) && admissionRefusals(file, resource, [], { schema: false }).length === 0) {
    const { namespace, name, selector, targetRefs } = readAttachable(file, resource, 0);
    known = { namespace, name, selector, targetRefs, rules: list(spec?.['rules']) };
  }
  enforcedDenies.set(resource, { value, deny: known });
  return known;
}

const DENY_POLICIES: WorkspaceFact<DenyPolicy[]> = {
  compute(workspace) {
    const out: DenyPolicy[] = [];
    for (const { file, resource } of workspace.resources) {
      if (resource.mesh !== 'istio' || resource.kind !== AP) continue;
      const deny = enforcedDeny(file, resource);
      if (!deny) continue;
      const rules = deny.rules.flatMap((rule, i) => {
        const node = locate(resource.node, ['spec', 'rules', i]).node;
        return isObj(rule) && node ? [{ index: i, rule, file: file.path, range: file.lines.range(node.span), ztunnelHttp: hasZtunnelHttpParts(rule) }] : [];
      });
      out.push({ ...deny, rules });
    }
    return out;
  },
  key: (list) => JSON.stringify(list),
};

function sameGroup(a: string, b: string): boolean {
  const core = (g: string) => (g === 'core' ? '' : g);
  return core(a) === core(b);
}

/**
 * Whether the DENY policy attaches wherever the ALLOW policy does, at the same proxy (spec §1.2):
 * both by selector (or namespace-wide), the DENY one namespace-wide or mesh-wide, or with a
 * selector whose every label the ALLOW one's selector also requires; or both by targetRefs in one
 * namespace, the DENY one naming every target of the ALLOW one.
 */
function attachesWherever(deny: DenyPolicy, allow: { namespace: string; selector: Array<[string, string]> | null; targetRefs: TargetRef[] | null }, root: string): boolean {
  if (allow.targetRefs) {
    return deny.targetRefs !== null && deny.namespace === allow.namespace &&
      allow.targetRefs.every((a) => deny.targetRefs!.some((d) => sameGroup(d.group, a.group) && d.kind === a.kind && d.name === a.name && d.namespace === a.namespace));
  }
  if (deny.targetRefs) return false;
  if (deny.namespace !== allow.namespace && deny.namespace !== root) return false;
  if (!deny.selector || deny.selector.length === 0) return true;
  const required = new Map(allow.selector ?? []);
  return deny.selector.every(([k, v]) => required.get(k) === v);
}

/**
 * Istio evaluates DENY policies before ALLOW ones (spec §1.3): an ALLOW rule whose every request
 * a DENY rule attached to the same workloads matches allows nothing. Checked with the sound
 * covering of `ruleCover.ts`, so a wildcard or CIDR is reasoned about but never guessed.
 */
export const allowOverriddenByDenyCheck: Check = {
  code: 'MPA1040',
  mesh: 'istio',
  title: 'ALLOW rule that a DENY policy always overrides',
  defaultSeverity: 'warning',
  upstream: 'none (istiod accepts it; the Istio docs: DENY policies are evaluated before ALLOW policies)',
  kinds: [AP],
  run(ctx) {
    const spec = specOf(ctx);
    if (actionOf(spec) !== 'ALLOW' || isDryRun(ctx.value)) return;
    const rules = list(spec?.['rules']);
    if (rules.length === 0) return;
    const denies = readFact(ctx.workspace, DENY_POLICIES);
    if (denies.length === 0) return;
    const root = ctx.workspace.config.istio.rootNamespace;
    const { namespace, selector, targetRefs } = readAttachable(ctx.file, ctx.resource, 0);
    const applying = denies.filter((d) => attachesWherever(d, { namespace, selector, targetRefs }, root));
    if (applying.length === 0) return;
    const atZtunnel = !targetRefs && mayRunAtZtunnel(ctx.workspace.inventory, namespace, root);
    rules.forEach((rule, index) => {
      if (!isObj(rule)) return;
      for (const deny of applying) {
        const covering = deny.rules.find((d) => !(atZtunnel && d.ztunnelHttp) && ruleCovers(d.rule, rule));
        if (!covering) continue;
        const found = covering.index;
        const denyName = `DENY policy ${deny.namespace}/${deny.name}`;
        const what = matchesEverything(covering.rule)
          ? `${denyName} has a rule (rules[${found}]) that matches every request`
          : `every request it matches, rules[${found}] of ${denyName} matches too`;
        const related: RelatedLocation[] = [{ file: covering.file, range: covering.range, message: `the DENY rule that matches first` }];
        ctx.report({ path: ['spec', 'rules', index] },
          `rules[${index}] allows nothing: ${what}, and Istio evaluates DENY policies before ALLOW policies, so those requests are denied; narrow the DENY rule, or remove this one`,
          { related });
        return;
      }
    });
  },
};
