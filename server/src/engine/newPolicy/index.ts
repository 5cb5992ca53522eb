import type { Suggestion } from '../complete';
import { CONSUL_TEMPLATES } from '../consul/templates';
import { installedCrdsFor, servedVersion } from '../crds/installed';
import { ISTIO_TEMPLATES } from '../istio/templates';
import { LINKERD_TEMPLATES } from '../linkerd/templates';
import type { Resource } from '../resource';
import { resourceAt } from '../resourceAt';
import { apiVersionOf, type CatalogEntry } from '../schema/catalog';
import type { SchemaRegistry } from '../schema/registry';
import { inHclComment } from '../source/hclReader';
import type { SourceFile } from '../source/sourceFile';
import type { TemplateFacts } from './facts';
import { SnippetWriter } from './snippet';
import type { PolicyTemplate } from './template';

export { templateFacts, type TemplateFacts } from './facts';
export type { PolicyTemplate } from './template';

/** Every template, Istio's, Linkerd's and Consul's, in the order the completion list shows them. */
export const POLICY_TEMPLATES: readonly PolicyTemplate[] = [...ISTIO_TEMPLATES, ...LINKERD_TEMPLATES, ...CONSUL_TEMPLATES];

/** A template written out for these facts, as a snippet. */
export function templateSnippet(template: PolicyTemplate, facts: TemplateFacts): string {
  const writer = new SnippetWriter();
  return writer.finish(template.body(facts, writer));
}

/**
 * Completion where no policy is recognized yet: in an empty document, the templates of a new
 * policy; in a document being started, `apiVersion` and `kind` and their values from our catalog
 * (the versions the cluster's CRDs serve first). Nothing in files that are plainly something
 * else (a CI workflow, a Helm chart's values, our configuration).
 */
export function newPolicySuggestions(file: SourceFile, resources: Resource[], registry: SchemaRegistry, offset: number, facts: TemplateFacts): Suggestion[] {
  if (OTHER_FILES.test(file.path.replace(/\\/g, '/'))) return [];
  if (file.format === 'hcl') return hclStart(file, resources, offset, facts);
  if (file.format !== 'yaml') return [];
  const lines = file.text.split(/\r\n?|\n/);
  const position = file.lines.position(offset);
  const line = lines[position.line] ?? '';
  if (SEPARATOR.test(line)) return [];
  const before = line.slice(0, position.character);
  const after = line.slice(position.character);
  const documentLines = documentAround(lines, position.line);
  const written = documentLines.filter((l) => !BLANK.test(l));
  const lineSpan = (from: number, to: number) => ({ start: offset - (position.character - from), end: offset + (to - position.character) });

  if (written.length === 0 && /^[A-Za-z-]*$/.test(before) && BLANK.test(after) && othersAreKubernetes(lines, position.line)) {
    const replace = lineSpan(0, line.length);
    return POLICY_TEMPLATES.filter((t) => t.format === 'yaml').map((template) => templateSuggestion(template, facts, replace));
  }
  if (resourceAt(file, resources, offset)) return [];
  const topLevel = new Map(written.flatMap((l) => {
    const m = /^([A-Za-z][\w.-]*):\s*(.*?)\s*(#.*)?$/.exec(l);
    return m ? [[m[1]!, m[2]!.replace(/^["']|["']$/g, '')] as const] : [];
  }));
  if (![...topLevel.keys()].every((key) => KUBERNETES_KEYS.has(key))) return [];
  const valueMatch = /^(apiVersion|kind):[ \t]+(["']?)([^"'\s#]*)$/.exec(before);
  if (valueMatch) {
    const typedStart = before.length - valueMatch[3]!.length;
    const rest = /^[^\s"'#]*/.exec(after)![0].length;
    const replace = lineSpan(typedStart, position.character + rest);
    const entries = registry.catalog.entries.filter((e): e is CatalogEntry & { kind: string } => e.kind !== undefined && e.version !== undefined);
    return valueMatch[1] === 'apiVersion'
      ? apiVersionValues(entries, topLevel.get('kind'), facts, replace)
      : kindValues(entries, topLevel.get('apiVersion'), replace);
  }
  const keyMatch = /^([A-Za-z]*)$/.exec(before);
  if (keyMatch && !/^[ \t]*\S*:/.test(after)) {
    const replace = lineSpan(0, position.character + /^[A-Za-z]*/.exec(after)![0].length);
    return ['apiVersion', 'kind'].filter((key) => !topLevel.has(key)).map((key) => ({ label: key, kind: 'field' as const, insertText: `${key}: `, replace, required: true, detail: 'string' }));
  }
  return [];
}

/** Files that are plainly not policies, though YAML or HCL. */
const OTHER_FILES = /(^|\/)(\.github\/|\.gitlab-ci\.ya?ml$|docker-compose[^/]*\.ya?ml$|compose\.ya?ml$|Chart\.ya?ml$|values[^/]*\.ya?ml$|kustomization\.ya?ml$|\.meshpolicy\.ya?ml$|[^/]*\.pkr\.hcl$|[^/]*\.nomad\.hcl$)/;
const SEPARATOR = /^(---|\.\.\.)(\s.*)?$/;
const BLANK = /^\s*(#.*)?$/;
/** The top-level keys of a Kubernetes object being written. */
const KUBERNETES_KEYS = new Set(['apiVersion', 'kind', 'metadata', 'spec']);

function documentAround(lines: readonly string[], cursor: number): string[] {
  let first = cursor;
  while (first > 0 && !SEPARATOR.test(lines[first - 1]!)) first--;
  let last = cursor;
  while (last < lines.length - 1 && !SEPARATOR.test(lines[last + 1]!)) last++;
  return [...lines.slice(first, cursor), ...lines.slice(cursor + 1, last + 1)];
}

/** A new document goes into an empty file, or one whose other documents are Kubernetes objects. */
function othersAreKubernetes(lines: readonly string[], cursor: number): boolean {
  let document: string[] = [];
  const documents: string[][] = [];
  lines.forEach((line, index) => {
    if (SEPARATOR.test(line)) {
      documents.push(document);
      document = [];
    } else if (index !== cursor && !BLANK.test(line)) document.push(line);
  });
  documents.push(document);
  return documents.every((d) => d.length === 0 || d.some((l) => /^(apiVersion|kind):/.test(l)));
}

function templateSuggestion(template: PolicyTemplate, facts: TemplateFacts, replace: { start: number; end: number }): Suggestion {
  return {
    label: template.label,
    kind: 'template',
    insertText: templateSnippet(template, facts),
    replace,
    detail: `new ${template.mesh === 'consul' ? 'Consul' : template.mesh === 'istio' ? 'Istio' : 'Linkerd'} policy`,
    documentation: template.description,
  };
}

function apiVersionValues(entries: ReadonlyArray<CatalogEntry & { kind: string }>, kind: string | undefined, facts: TemplateFacts, replace: { start: number; end: number }): Suggestion[] {
  const kinds = new Map<string, string[]>();
  for (const entry of entries) {
    if (kind && entry.kind !== kind) continue;
    const apiVersion = apiVersionOf(entry)!;
    kinds.set(apiVersion, [...(kinds.get(apiVersion) ?? []), entry.kind]);
  }
  const refusedBy = (apiVersion: string) => (kind ? [kind] : kinds.get(apiVersion)!).some((k) => installedCrdsFor(facts.crds, apiVersion, k).some((crd) => !servedVersion(crd, apiVersion)));
  const suggestions = [...kinds].map(([apiVersion, named]) => {
    const refused = refusedBy(apiVersion);
    return { suggestion: { label: apiVersion, kind: 'value' as const, insertText: apiVersion, replace, detail: refused ? 'not served by the cluster\'s CustomResourceDefinition' : [...new Set(named)].join(', ') }, refused };
  });
  return [...suggestions.filter((s) => !s.refused), ...suggestions.filter((s) => s.refused)].map((s) => s.suggestion);
}

function kindValues(entries: ReadonlyArray<CatalogEntry & { kind: string }>, apiVersion: string | undefined, replace: { start: number; end: number }): Suggestion[] {
  const known = apiVersion !== undefined && entries.some((e) => apiVersionOf(e) === apiVersion);
  const versions = new Map<string, string>();
  for (const entry of entries) {
    if (known && apiVersionOf(entry) !== apiVersion) continue;
    if (!versions.has(entry.kind)) versions.set(entry.kind, apiVersionOf(entry)!);
  }
  return [...versions].map(([kind, version]) => ({ label: kind, kind: 'value' as const, insertText: kind, replace, detail: version }));
}

/** An empty HCL file: the config entry templates; `Kind = "` in one being started: its kind. */
function hclStart(file: SourceFile, resources: Resource[], offset: number, facts: TemplateFacts): Suggestion[] {
  if (resources.length > 0 || inHclComment(file.text, offset)) return [];
  const lineStart = file.text.lastIndexOf('\n', offset - 1) + 1;
  const before = file.text.slice(lineStart, offset);
  const kindValue = /^\s*Kind\s*=\s*"([\w-]*)$/.exec(before);
  if (kindValue) {
    const rest = /^[\w-]*/.exec(file.text.slice(offset))![0].length;
    return [{ label: 'service-intentions', kind: 'value', insertText: 'service-intentions', replace: { start: offset - kindValue[1]!.length, end: offset + rest }, detail: 'Consul config entry' }];
  }
  const others = file.text.slice(0, lineStart) + file.text.slice(offset).replace(/^[^\n]*/, '');
  const lineEnd = offset + /^[^\n]*/.exec(file.text.slice(offset))![0].length;
  if (!/^[A-Za-z-]*$/.test(before) || !/^\s*$/.test(file.text.slice(offset, lineEnd)) || !/^(\s|#[^\n]*|\/\/[^\n]*)*$/.test(others)) return [];
  return POLICY_TEMPLATES.filter((t) => t.format === 'hcl').map((template) => templateSuggestion(template, facts, { start: lineStart, end: lineEnd }));
}
