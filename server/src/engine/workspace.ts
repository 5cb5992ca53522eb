import type { WorkspaceView } from './checks/check';
import { defaultConfig, type ProjectConfig } from './config/projectConfig';
import { withMeshConfig } from './istio/meshConfig';
import { withLinkerdInstall } from './linkerd/install';
import { emptyInventory, inventoryContribution, inventoryContributionKey, mergeInventory, type Inventory } from './inventory/inventory';
import type { Recognition } from './recognize';
import type { Resource } from './resource';
import { parsedCleanly, type SourceFile } from './source/sourceFile';

export interface PreparedFile {
  file: SourceFile;
  recognition: Recognition;
}

/**
 * The files of a workspace, as far as checks across files need them: every recognized resource
 * and the inventory. The inventory is rebuilt lazily after a change to what some file adds to
 * it; otherwise it stays the same object, so that what is derived from it (indexes, lint
 * results of checks that read it) is kept.
 */
export class WorkspaceModel implements WorkspaceView {
  private readonly files = new Map<string, PreparedFile>();
  private cachedInventory: Inventory | undefined;
  private cachedResources: { file: SourceFile; resource: Resource }[] | undefined;
  private cachedFiles: SourceFile[] | undefined;

  private baseConfig: ProjectConfig;

  constructor(config: ProjectConfig = defaultConfig(process.cwd())) {
    this.baseConfig = config;
  }

  /** The configuration with the workspace's Istio mesh config and Linkerd install filled in where
   * `.meshpolicy.yaml` is silent (`istio/meshConfig.ts`, `linkerd/install.ts`); the same object
   * while those stay equal. Set it to the configuration as read. */
  get config(): ProjectConfig {
    const inventory = this.inventory;
    return withLinkerdInstall(withMeshConfig(this.baseConfig, inventory), inventory);
  }

  set config(config: ProjectConfig) {
    this.baseConfig = config;
  }

  update(prepared: PreparedFile): void {
    const path = prepared.file.path;
    const inventoryChanged = inventoryContributionKey(this.files.get(path)?.file) !== inventoryContributionKey(prepared.file);
    this.files.set(path, prepared);
    this.invalidate(inventoryChanged);
  }

  remove(path: string): void {
    const old = this.files.get(path);
    if (this.files.delete(path)) this.invalidate(inventoryContributionKey(old?.file) !== '');
  }

  private invalidate(inventoryChanged: boolean): void {
    if (inventoryChanged) this.cachedInventory = undefined;
    this.cachedResources = undefined;
    this.cachedFiles = undefined;
  }

  /** The resources of the documents that parse cleanly: what checks across files and the simulators see. */
  get resources(): { file: SourceFile; resource: Resource }[] {
    this.cachedResources ??= [...this.files.values()].flatMap((p) => p.recognition.resources
      .filter((resource) => parsedCleanly(p.file.documents[resource.documentIndex]))
      .map((resource) => ({ file: p.file, resource })));
    return this.cachedResources;
  }

  get sourceFiles(): SourceFile[] {
    this.cachedFiles ??= [...this.files.values()].map((p) => p.file);
    return this.cachedFiles;
  }

  sourceFile(path: string): SourceFile | undefined {
    return this.files.get(path)?.file;
  }

  /** A copy with the same files and configuration but no policies: what a set of policies of its own (generated ones) is checked against. */
  withoutPolicies(): WorkspaceModel {
    const copy = new WorkspaceModel(this.baseConfig);
    for (const prepared of this.files.values()) copy.update({ file: prepared.file, recognition: { resources: [], unserved: [] } });
    return copy;
  }

  get inventory(): Inventory {
    if (!this.cachedInventory) {
      const inventory = emptyInventory();
      for (const prepared of this.files.values()) mergeInventory(inventory, inventoryContribution(prepared.file));
      this.cachedInventory = inventory;
    }
    return this.cachedInventory;
  }
}
