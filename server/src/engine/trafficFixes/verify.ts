import type { WorkspaceView } from '../checks/check';
import type { Engine } from '../engine';
import type { Fix } from '../findings';
import { applyEdits } from '../fixAll';
import type { Inventory } from '../inventory/inventory';
import type { Resource } from '../resource';
import { Simulation } from '../simulate';
import type { Decision } from '../simulate/types';
import type { SourceFile } from '../source/sourceFile';
import type { AccessRecord } from '../traffic/accessRecord';

/** The workspace with some files replaced by new text: what the policies would be after a fix. */
export class OverlayWorkspace implements WorkspaceView {
  readonly resources: ReadonlyArray<{ file: SourceFile; resource: Resource }>;
  readonly sourceFiles: ReadonlyArray<SourceFile>;

  constructor(private readonly base: WorkspaceView, private readonly replaced: Map<string, { file: SourceFile; resources: Resource[] }>) {
    this.resources = [
      ...base.resources.filter((r) => !replaced.has(r.file.path)),
      ...[...replaced.values()].flatMap((p) => p.resources.map((resource) => ({ file: p.file, resource }))),
    ];
    this.sourceFiles = [...base.sourceFiles.filter((f) => !replaced.has(f.path)), ...[...replaced.values()].map((p) => p.file)];
  }

  get inventory(): Inventory {
    return this.base.inventory;
  }

  get config(): WorkspaceView['config'] {
    return this.base.config;
  }

  sourceFile(path: string): SourceFile | undefined {
    return this.replaced.get(path)?.file ?? this.base.sourceFile(path);
  }
}

/** The workspace as it would be with the fix applied (edits to `file`). */
export function workspaceWithFix(engine: Engine, workspace: WorkspaceView, file: SourceFile, fix: Fix): OverlayWorkspace {
  const text = applyEdits(file, fix.edits);
  const prepared = engine.prepare(engine.read(file.path, text));
  return new OverlayWorkspace(workspace, new Map([[file.path, { file: prepared.file, resources: prepared.recognition.resources }]]));
}

export interface FixEffect {
  before: Decision;
  after: Decision;
}

/** Decides the calls again with the fix applied. */
export function decideWithFix(engine: Engine, workspace: WorkspaceView, file: SourceFile, fix: Fix, calls: readonly AccessRecord[]): Decision[] {
  const simulation = new Simulation(workspaceWithFix(engine, workspace, file, fix));
  return calls.map((c) => simulation.decide(c));
}
