import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from '../../server/src/engine/config/projectConfig';
import { Engine } from '../../server/src/engine/engine';
import type { Mesh } from '../../server/src/engine/meshes';
import { headersTestedBy } from '../../server/src/engine/simulate/testedHeaders';
import { collectTrafficFiles } from '../../server/src/engine/traffic/ingest/files';
import { ingestTraffic } from '../../server/src/engine/traffic/ingest/ingest';
import type { TrafficShape } from '../../server/src/engine/traffic/ingest/types';
import { collectPolicyFiles } from '../../server/src/engine/workspaceFiles';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { EXAMPLES } from './paths';

/** One of examples/<name> (a mesh's, or e.g. istio-dry-run): its files read into a workspace (texts kept for edits) and its access logs folded into shapes. */
export interface ExampleTraffic {
  workspace: WorkspaceModel;
  texts: Map<string, string>;
  shapes: TrafficShape[];
}

export async function loadExampleTraffic(engine: Engine, example: Mesh | 'istio-dry-run'): Promise<ExampleTraffic> {
  const dir = join(EXAMPLES, example);
  const workspace = new WorkspaceModel(defaultConfig(dir));
  const texts = new Map<string, string>();
  for (const path of collectPolicyFiles([dir]).files) {
    const text = readFileSync(path, 'utf8');
    texts.set(path, text);
    workspace.update(engine.prepare(engine.read(path, text)));
  }
  const traffic = collectTrafficFiles([join(dir, 'traffic')], workspace.config).files;
  const model = await ingestTraffic(traffic, { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
  return { workspace, texts, shapes: model.shapes };
}

/** A linear congruential generator: the same edits on every run. */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}
