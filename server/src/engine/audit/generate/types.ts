import type { Mesh } from '../../meshes';
import type { TrafficShape } from '../../traffic/ingest/types';
import type { Evidence, GenerateOptions, Skipped } from './evidence';

export interface GeneratedPolicies {
  mesh: Mesh;
  /** Multi-document YAML, with comments stating the evidence. */
  yaml: string;
  /** Resources written (documents). */
  resources: number;
  summary: GenerationSummary;
}

export interface GenerationSummary {
  /** Observed allowed calls with a caller identity: what the policies allow. */
  counted: number;
  /** Observed denied calls to the destinations that got policies (none of them is allowed, except conflicts). */
  denied: number;
  destinations: { name: string; calls: number; callers: number; resources: string[] }[];
  skipped: Skipped[];
  /** Observed denied calls to destinations that got no policy: the mesh default still decides them. */
  unprotectedDenied: Evidence['unprotectedDenied'];
  /** Requests seen both allowed and denied: allowed (the evidence for allowing wins), listed here. */
  conflicts: { destination: string; caller: string; request: string; allowed: number; denied: number }[];
  /** Path templates made from several observed paths. */
  templates: number;
}

/** One mesh's generator: observed traffic in, policies out. */
export interface PolicyGenerator {
  mesh: Mesh;
  generate(shapes: readonly TrafficShape[], options: GenerateOptions): GeneratedPolicies;
}
