import type { Mesh } from '../../meshes';
import type { TrafficShape } from '../../traffic/ingest/types';
import { consulGenerator } from './consul';
import type { GenerateOptions } from './evidence';
import { istioGenerator } from './istio';
import { linkerdGenerator } from './linkerd';
import { checkGenerated, withHeaderLines, withSelfCheck, type SelfCheck } from './selfCheck';
import { inServedVersions } from '../../crds/adapt';
import type { GeneratedPolicies, PolicyGenerator } from './types';
import type { WorkspaceModel } from '../../workspace';

export const GENERATORS: Record<Mesh, PolicyGenerator> = { istio: istioGenerator, linkerd: linkerdGenerator, consul: consulGenerator };

/** Least-privilege policies for one mesh from the observed allowed calls (see evidence.ts for the rules). */
export function generatePolicies(mesh: Mesh, shapes: readonly TrafficShape[], options: GenerateOptions = {}): GeneratedPolicies {
  return GENERATORS[mesh].generate(shapes, options);
}

/**
 * Generated policies with their self-check at the end of the header comment, and the check:
 * `workspace` (the inventory and configuration, no policies of its own) gets the generated file
 * at `options.path` and is changed, so give it a copy or a throwaway one. The check gives the
 * event loop turns and stops once `options.signal` is aborted (`Pace`).
 */
export async function generateChecked(mesh: Mesh, shapes: readonly TrafficShape[], workspace: WorkspaceModel, options: GenerateOptions & { path: string; signal?: AbortSignal }): Promise<{ generated: GeneratedPolicies; check: SelfCheck }> {
  const written = generatePolicies(mesh, shapes, options);
  // In versions the cluster's CRDs serve (the self-check then decides them as the cluster stores them).
  const served = inServedVersions(written.yaml, workspace.inventory.crds);
  const draft = withHeaderLines({ ...written, yaml: served.yaml }, served.notes.map((note) => `Cluster CRDs: ${note}`));
  const check = await checkGenerated(draft, shapes, workspace, options);
  return { generated: withSelfCheck(draft, check), check };
}

export { checkGenerated, selfCheckLines, withSelfCheck, type SelfCheck } from './selfCheck';
export { PLAINTEXT_CALLERS, type GenerateOptions, type PlaintextCallers } from './evidence';
export type { GeneratedPolicies, GenerationSummary, PolicyGenerator } from './types';
