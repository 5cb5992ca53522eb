import type { Resource } from '../resource';
import { resourceValue, sameText } from '../resourceValue';
import type { NodePath, ObjectNode, SourceNode } from '../source/tree';
import type { InstalledCrd } from './installed';
import { installedCrdProblems } from './structural';

/**
 * A mesh resource as the cluster stores it, by the CustomResourceDefinitions of the workspace:
 * what the simulators compile. A resource the installed CRD refuses (a version it does not serve,
 * a value its schema refuses) is never stored, so it decides nothing (`admissionRefusals` reads
 * the reasons recorded here). A field the CRD does not declare is dropped, as the API server
 * prunes it for a client that does not ask for strict field validation (Helm, Argo CD, Flux;
 * `kubectl apply` refuses the resource instead, and the lint says so): the mesh then enforces the
 * policy without it. Without a CRD for the kind, the resource is its own stored form.
 */
const refusals = new WeakMap<Resource, string[]>();
const drops = new WeakMap<Resource, string[]>();
const variants = new WeakMap<Resource, string>();

/** What the CRDs make of one resource text. */
interface CrdVerdict {
  refused: string[];
  dropped: NodePath[];
  notes: string[];
  variant: string;
}

/**
 * Verdicts by the resource of the cached parse its text was placed from (`sameText`), for one
 * list of CRDs (the inventory's, a new list whenever it changes), and the stored copy by the
 * resource itself: every compile asks for every resource, and most are unchanged since the last.
 */
const verdicts = new WeakMap<Resource, { crds: readonly InstalledCrd[]; verdict: CrdVerdict | undefined }>();
const copies = new WeakMap<Resource, { crds: readonly InstalledCrd[]; stored: Resource }>();

export function storedByInstalledCrds<T extends { resource: Resource }>(entry: T, crds: readonly InstalledCrd[] | undefined): T {
  const { resource } = entry;
  if (!crds?.length || resource.entry.kind === undefined || !resource.apiVersion) return entry;
  const copy = copies.get(resource);
  if (copy?.crds === crds) return { ...entry, resource: copy.stored };
  const text = sameText(resource);
  let known = verdicts.get(text);
  if (known?.crds !== crds) verdicts.set(text, (known = { crds, verdict: verdictOf(resource, crds) }));
  const { verdict } = known;
  if (!verdict) return entry;
  const stored: Resource = { ...resource, node: withoutPaths(resource.node, verdict.dropped) };
  refusals.set(stored, verdict.refused);
  drops.set(stored, verdict.notes);
  variants.set(stored, verdict.variant);
  copies.set(resource, { crds, stored });
  return { ...entry, resource: stored };
}

function verdictOf(resource: Resource, crds: readonly InstalledCrd[]): CrdVerdict | undefined {
  const refused: string[] = [];
  const dropped = new Map<string, NodePath>();
  const notes = new Set<string>();
  for (const said of installedCrdProblems(crds, resource.apiVersion!, resource.kind, resourceValue(resource))) {
    if ('unserved' in said) refused.push(`the CustomResourceDefinition ${said.crd.name} does not serve ${resource.apiVersion}`);
    else if (said.problem.kind === 'unknown') {
      dropped.set(JSON.stringify(said.problem.path), said.problem.path);
      notes.add(`the API server drops ${said.problem.field}, which the CustomResourceDefinition ${said.crd.name} does not declare in ${said.version.name} (as a client without strict field validation stores it)`);
    } else refused.push(`the CustomResourceDefinition ${said.crd.name} refuses it: ${said.problem.message}`);
  }
  if (refused.length === 0 && dropped.size === 0) return undefined;
  return { refused, dropped: [...dropped.values()], notes: [...notes], variant: JSON.stringify([refused, [...dropped.keys()]]) };
}

/** Why the installed CRD refuses to store `resource` (a resource from `storedByInstalledCrds`), if it does. */
export function installedCrdRefusals(resource: Resource): readonly string[] {
  return refusals.get(resource) ?? [];
}

/** The fields the installed CRD drops from `resource` (a resource from `storedByInstalledCrds`), in words, for the walkthrough. */
export function installedCrdDrops(resource: Resource): readonly string[] {
  return drops.get(resource) ?? [];
}

/** What the installed CRDs changed of `resource` (`''`: nothing), for the compiled forms' variant: the same text compiles differently once a CRD drops or refuses part of it. */
export function installedCrdVariant(resource: Resource): string {
  return variants.get(resource) ?? '';
}

/** `node` without the entries at `paths` (object keys and list indexes below it); untouched parts are shared, spans kept. */
function withoutPaths(node: ObjectNode, paths: readonly NodePath[]): ObjectNode {
  const copy = (current: SourceNode, remaining: readonly NodePath[]): SourceNode => {
    if (remaining.length === 0) return current;
    if (current.type === 'object') {
      const here = new Set(remaining.filter((p) => p.length === 1).map((p) => String(p[0])));
      return {
        ...current,
        entries: current.entries.filter((e) => !here.has(e.key)).map((e) => {
          const below = remaining.filter((p) => p.length > 1 && String(p[0]) === e.key).map((p) => p.slice(1));
          return below.length ? { ...e, value: copy(e.value, below) } : e;
        }),
      };
    }
    if (current.type === 'array') {
      return { ...current, items: current.items.map((item, i) => {
        const below = remaining.filter((p) => p.length > 1 && p[0] === i).map((p) => p.slice(1));
        return below.length ? copy(item, below) : item;
      }) };
    }
    return current;
  };
  return copy(node, paths) as ObjectNode;
}
