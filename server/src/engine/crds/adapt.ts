import { parse } from 'yaml';
import { isRecord } from '../plainValues';
import { resourceLabel } from '../resource';
import { apiVersionOf, type CatalogEntry } from '../schema/catalog';
import { sharedRegistry } from '../schema/registry';
import { installedCrdsFor, versionOf, type InstalledCrd } from './installed';
import { installedCrdProblems } from './structural';

/**
 * Resources we write (generated least-privilege policies, translations) in versions the
 * cluster serves: a document whose `apiVersion` a CRD of the workspace does not serve is moved to
 * a version that every such CRD serves and whose schema (ours) takes the document as written, in
 * our catalog's order. What cannot be written so, and fields the cluster's CRD does not declare,
 * are said in `notes`: the API server would refuse the first and drop the second.
 *
 * The text is our own writers' (a document per `---` line, `apiVersion:` and `kind:` at the start
 * of a line), so the version is changed in place and every comment stays.
 */
export function inServedVersions(yaml: string, crds: readonly InstalledCrd[] | undefined): { yaml: string; notes: string[] } {
  if (!crds?.length) return { yaml, notes: [] };
  const notes: string[] = [];
  const documents = yaml.split(/^(?=---$)/m).map((text) => {
    const apiVersion = /^apiVersion: *(\S+) *$/m.exec(text)?.[1];
    const kind = /^kind: *(\S+) *$/m.exec(text)?.[1];
    if (!apiVersion || !kind) return text;
    const matching = installedCrdsFor(crds, apiVersion, kind);
    if (matching.length === 0) return text;
    let value: unknown;
    try {
      value = parse(text.replace(/^---$/m, ''));
    } catch {
      return text;
    }
    if (!isRecord(value)) return text;
    const metadata = isRecord(value['metadata']) ? value['metadata'] : {};
    const label = resourceLabel({ kind, ...(typeof metadata['namespace'] === 'string' ? { namespace: metadata['namespace'] } : {}), ...(typeof metadata['name'] === 'string' ? { name: metadata['name'] } : {}) });
    let written = apiVersion;
    if (!servesAll(matching, versionOf(apiVersion))) {
      const target = servedCatalogEntries(apiVersion, kind, matching).find((entry) => sharedRegistry().validate(entry, { ...value, apiVersion: apiVersionOf(entry) }).length === 0);
      if (!target) {
        notes.push(`${label}: the cluster's CustomResourceDefinition does not serve ${apiVersion}, and no version it serves takes the resource as written; the API server would refuse it`);
        return text;
      }
      written = apiVersionOf(target)!;
      text = text.replace(/^apiVersion: *\S+ *$/m, `apiVersion: ${written}`);
      notes.push(`${label}: written as ${written}, which the cluster's CustomResourceDefinition serves (not ${apiVersion})`);
    }
    for (const said of installedCrdProblems(matching, written, kind, { ...value, apiVersion: written })) {
      if ('unserved' in said) continue;
      notes.push(`${label}: ${said.problem.kind === 'unknown' ? `the cluster's CustomResourceDefinition does not declare ${said.problem.field}: the API server would drop it (or kubectl refuse the resource)` : `the cluster's CustomResourceDefinition refuses it: ${said.problem.message}`}`);
    }
    return text;
  });
  return { yaml: documents.join(''), notes: [...new Set(notes)] };
}

/** `apiVersion` for a new resource of `kind`, or, when a CRD of the workspace does not serve it, the first version of our catalog that every such CRD serves. */
export function servedApiVersion(apiVersion: string, kind: string, crds: readonly InstalledCrd[] | undefined): string {
  const matching = installedCrdsFor(crds, apiVersion, kind);
  if (servesAll(matching, versionOf(apiVersion))) return apiVersion;
  const target = servedCatalogEntries(apiVersion, kind, matching)[0];
  return (target && apiVersionOf(target)) ?? apiVersion;
}

/** Our catalog's entries of `kind`, in the group of `apiVersion`, in a version every CRD of `crds` serves; in the catalog's order. */
export function servedCatalogEntries(apiVersion: string, kind: string, crds: readonly InstalledCrd[]): CatalogEntry[] {
  const group = apiVersion.slice(0, apiVersion.indexOf('/'));
  return sharedRegistry().catalog.entries.filter((entry) => entry.kind === kind && entry.group === group && entry.version !== undefined && servesAll(crds, entry.version));
}

function servesAll(crds: readonly InstalledCrd[], version: string): boolean {
  return crds.every((crd) => crd.versions.some((v) => v.name === version && v.served));
}
