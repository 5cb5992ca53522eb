import type { Mesh } from '../../meshes';
import type { TrafficShape } from '../../traffic/ingest/types';
import { consulGenerator } from './consul';
import type { GenerateOptions } from './evidence';
import { istioGenerator } from './istio';
import { linkerdGenerator } from './linkerd';
import type { GeneratedPolicies, PolicyGenerator } from './types';

export const GENERATORS: Record<Mesh, PolicyGenerator> = { istio: istioGenerator, linkerd: linkerdGenerator, consul: consulGenerator };

/** Least-privilege policies for one mesh from the observed allowed calls (see evidence.ts for the rules). */
export function generatePolicies(mesh: Mesh, shapes: readonly TrafficShape[], options: GenerateOptions = {}): GeneratedPolicies {
  return GENERATORS[mesh].generate(shapes, options);
}

export { checkGenerated, selfCheckLines, withSelfCheck, type SelfCheck } from './selfCheck';
export type { GenerateOptions } from './evidence';
export type { GeneratedPolicies, GenerationSummary, PolicyGenerator } from './types';
