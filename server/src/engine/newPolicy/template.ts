import { servedApiVersion } from '../crds/adapt';
import type { Mesh } from '../meshes';
import type { TemplateFacts } from './facts';
import { SnippetWriter } from './snippet';

/** A new policy to start from: one or more documents, written as a snippet whose tab stops offer
 * the workspace's namespaces, workloads and identities (`facts.ts`). */
export interface PolicyTemplate {
  /** Stable: tests and docs name templates by it. */
  id: string;
  mesh: Mesh;
  /** YAML custom resources, or an HCL config entry for `consul config write`. */
  format: 'yaml' | 'hcl';
  /** What the completion list shows, mesh and kind first (`Istio AuthorizationPolicy: ...`). */
  label: string;
  /** What the policy does once filled in, and what else it needs to work. */
  description: string;
  body(facts: TemplateFacts, writer: SnippetWriter): string;
}

/** `apiVersion: ...\nkind: ...`, in the version the cluster's CRDs serve when the workspace has them. */
export function header(apiVersion: string, kind: string, facts: TemplateFacts): string {
  return `apiVersion: ${servedApiVersion(apiVersion, kind, facts.crds)}\nkind: ${kind}`;
}

/** The common tab stops, named alike in every template so that a multi-document one mirrors them. */
export const stops = {
  namespace: (facts: TemplateFacts, w: SnippetWriter) => w.stop('namespace', facts.namespaces, 'default'),
  app: (facts: TemplateFacts, w: SnippetWriter) => w.stop('app', facts.apps, 'my-app'),
  callerNamespace: (facts: TemplateFacts, w: SnippetWriter) => w.stop('callerNamespace', facts.callerNamespaces, 'default'),
  callerServiceAccount: (facts: TemplateFacts, w: SnippetWriter) => w.stop('callerServiceAccount', facts.callerServiceAccounts, 'my-client'),
  text: (w: SnippetWriter, key: string, fallback: string) => w.stop(key, [], fallback),
  choice: (w: SnippetWriter, key: string, values: readonly string[]) => w.stop(key, values, values[0] ?? ''),
};
