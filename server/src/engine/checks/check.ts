import type { ProjectConfig } from '../config/projectConfig';
import type { Fix, RelatedLocation, Severity } from '../findings';
import type { Inventory } from '../inventory/inventory';
import type { Mesh } from '../meshes';
import type { Resource } from '../resource';
import type { SourceFile } from '../source/sourceFile';
import type { NodePath, SourceNode, Span } from '../source/tree';

/** Everything a check can see beyond its own resource. */
export interface WorkspaceView {
  /** Every recognized resource in the workspace (or in the files given to the CLI). */
  resources: ReadonlyArray<{ file: SourceFile; resource: Resource }>;
  inventory: Inventory;
  config: ProjectConfig;
  /** Every file the workspace read, policy or not (manifests, defaults entries ...). */
  sourceFiles: ReadonlyArray<SourceFile>;
  /** The file read at a path, if any. */
  sourceFile(path: string): SourceFile | undefined;
  /** A fact drawn from the whole workspace; a view that tracks what a check reads records it
   * (`readFact` is how checks ask). */
  fact?<T>(fact: WorkspaceFact<T>): T;
}

/**
 * Something several checks derive from the workspace's resources or files (the namespaces it
 * knows, its PeerAuthentications): computed once per state of the workspace and kept as the
 * same object while its `key` stays the same, so that the lint keeps the findings of a check
 * that read only facts (and the inventory and configuration) while they stay, instead of
 * running it again after every edit anywhere.
 */
export interface WorkspaceFact<T> {
  compute(workspace: WorkspaceView): T;
  /** Equal for equal values: the whole value, in text. */
  key(value: T): string;
  /** An index of the workspace rather than a fact: computed once per state like one, always the
   * new value, and never recorded by a tracking view. Its users record the finer facts they read
   * of it (the Linkerd model: the namespaces a check reads). */
  index?: true;
}

export type Where = { path: NodePath; part?: 'key' | 'value' } | { span: Span };

export interface CheckContext {
  file: SourceFile;
  resource: Resource;
  /** The resource as plain data, with null fields dropped (what the mesh validates). */
  value: Record<string, unknown>;
  workspace: WorkspaceView;
  /** The node at a path inside the resource, and the key that holds it. */
  locate(path: NodePath): { node: SourceNode | undefined; keySpan: Span | undefined };
  /** `defer`: the finding says again, in other words, what another error may already say at the
   * same place (an installed CRD refusing a value the mesh's webhook refuses too); the lint leaves
   * it out where another error of the resource starts at the same position. */
  report(where: Where, message: string, options?: { fixes?: Fix[]; severity?: Severity; defer?: true; related?: RelatedLocation[] }): void;
}

/** One semantic check: a module with a stable code, docs at docs/rules/<code>.md, and a table test. */
export interface Check {
  /** MPA1xxx Istio, MPA2xxx Linkerd, MPA3xxx Consul. */
  code: string;
  mesh: Mesh;
  title: string;
  defaultSeverity: Severity;
  /** The upstream message or analyzer this mirrors, e.g. "IST0127" or the webhook's words. */
  upstream?: string;
  /** Resource kinds the check looks at (`kind`, or the config-entry Kind). */
  kinds: string[];
  /** The check needs the inventory and is skipped when the workspace has none. */
  needsInventory?: boolean;
  /**
   * Every error this check reports (a finding at its default severity `error`, not one it lowers
   * to a warning) is a reason the mesh's admission (the API server or the mesh's validating
   * webhook) refuses to store the resource: such a resource is never in the cluster, so the
   * simulators leave it out (`admission.ts` `admissionRefusals`). A check so marked reads the
   * resource alone, never the workspace.
   */
  admissionRefusal?: true;
  run(context: CheckContext): void;
}
