import { servedCatalogEntries } from '../crds/adapt';
import { crdLabel, type InstalledCrd } from '../crds/installed';
import { installedCrdProblems, type StructuralProblem } from '../crds/structural';
import { replaceScalar } from '../edits';
import type { Fix } from '../findings';
import { apiVersionOf } from '../schema/catalog';
import { sharedRegistry } from '../schema/registry';
import { decodePath } from '../schema/schemaFindings';
import type { NodePath } from '../source/tree';
import type { Check, CheckContext } from './check';

/**
 * A mesh resource against the CustomResourceDefinitions of its kind found in the workspace (a
 * vendored chart's, or the cluster's own from `kubectl get crd -o yaml`). Our schemas follow the
 * latest upstream CRDs; a cluster runs the CRDs of the mesh release it has installed, and the API
 * server takes or refuses the resource by those. So this reports what the installed CRD refuses
 * or does not know and our schema does not already report: a version the CRD does not serve, a
 * field added in a later release, a value an older release did not allow. Nothing is reported
 * for a kind without a CRD in the workspace. Consul config entries (HCL, JSON) are not custom
 * resources and are not looked at.
 */
function reportInstalledCrdProblems(context: CheckContext): void {
  const { resource, workspace, value } = context;
  if (resource.entry.kind === undefined || !resource.apiVersion) return;
  const reported = new Set<string>();
  const report = (where: Parameters<CheckContext['report']>[0], message: string, options: { fixes?: Fix[]; defer?: true }): void => {
    if (reported.has(message)) return;
    reported.add(message);
    context.report(where, message, options);
  };
  // Our schema is validated again only where the CRD says something (most resources meet no CRD).
  let ours: Set<string> | undefined;
  for (const said of installedCrdProblems(workspace.inventory.crds, resource.apiVersion, resource.kind, value)) {
    const named = `the CustomResourceDefinition ${crdLabel(said.crd)}`;
    if ('unserved' in said) {
      const served = said.crd.versions.filter((v) => v.served).map((v) => `${said.crd.group}/${v.name}`);
      const message = `${named} does not serve ${resource.apiVersion}${served.length ? ` (it serves ${served.join(', ')})` : ' (it serves no version)'}: the API server refuses the resource (no matches for kind "${resource.kind}" in version "${resource.apiVersion}")`;
      const fixes = versionFixes(context, said.crd);
      report({ path: ['apiVersion'] }, message, fixes ? { fixes } : {});
      continue;
    }
    const { problem } = said;
    ours ??= pathsOurSchemaReports(context);
    if (ours.has(pathKey(problem.path))) continue;
    // A value the CRD refuses is often one the mesh's webhook refuses too, which its check says better.
    report(placeOf(context, problem), `${problem.message}: ${consequence(problem, named, said.version.name)}`, problem.kind === 'invalid' ? { defer: true } : {});
  }
}

function consequence(problem: StructuralProblem, named: string, version: string): string {
  if (problem.kind === 'unknown') {
    return `${named} does not declare it in ${version}; kubectl apply refuses the resource (strict field validation), and a client that does not ask for it (Helm, Argo CD, Flux) has the API server drop the field, so the mesh never sees it`;
  }
  return `${named} refuses the resource`;
}

function placeOf(context: CheckContext, problem: StructuralProblem): { path: NodePath; part?: 'key' | 'value' } {
  if (problem.kind === 'unknown') return { path: problem.path, part: 'key' };
  if (problem.kind === 'missing') {
    // The object that lacks the field: its key, or the resource's kind when it is the resource itself.
    const parent = problem.path.slice(0, -1);
    return parent.length > 0 ? { path: parent, part: 'key' } : { path: ['kind'] };
  }
  return context.locate(problem.path).node ? { path: problem.path } : { path: problem.path.slice(0, -1), part: 'key' };
}

/** The fields our own schema already reports (its errors are the lint's MPA01xx findings), so that the same problem is not reported twice. */
function pathsOurSchemaReports(context: CheckContext): Set<string> {
  const paths = new Set<string>();
  for (const error of sharedRegistry().validate(context.resource.entry, context.value)) {
    const path = decodePath(error.instancePath);
    const params = error.params as { additionalProperty?: unknown; missingProperty?: unknown };
    if (error.keyword === 'additionalProperties') path.push(String(params.additionalProperty));
    else if (error.keyword === 'required') path.push(String(params.missingProperty));
    paths.add(path.join('/'));
  }
  return paths;
}

function pathKey(path: NodePath): string {
  return path.map(String).join('/');
}

/** Change the apiVersion to each version the CRD serves that we know the kind in (never preferred: updating the CRD may be what is meant). */
function versionFixes(context: CheckContext, crd: InstalledCrd): Fix[] | undefined {
  const node = context.locate(['apiVersion']).node;
  if (!node || !context.resource.apiVersion) return undefined;
  const fixes = servedCatalogEntries(context.resource.apiVersion, context.resource.kind, [crd])
    .map((entry) => apiVersionOf(entry)!)
    .map((target) => ({ title: `Change to ${target}`, edits: [replaceScalar(context.file, node, target)] }));
  return fixes.length > 0 ? fixes : undefined;
}

/** The check of one mesh: its code and kinds, the rest shared. */
export function installedCrdCheck(options: Pick<Check, 'code' | 'mesh' | 'kinds'>): Check {
  return {
    ...options,
    title: "The cluster's CustomResourceDefinition refuses or does not know this",
    defaultSeverity: 'error',
    upstream: 'the API server\'s structural schema validation and pruning (apiextensions.k8s.io/v1)',
    run: reportInstalledCrdProblems,
  };
}
