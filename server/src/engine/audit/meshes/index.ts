import type { Mesh } from '../../meshes';
import { consulAudit } from './consul';
import { istioAudit } from './istio';
import { linkerdAudit } from './linkerd';
import type { AuditMeshModule } from './types';

export const AUDIT_MESHES: Record<Mesh, AuditMeshModule> = { istio: istioAudit, linkerd: linkerdAudit, consul: consulAudit };
export type { AuditMeshModule, RiskKind, RuleCandidate, StaticRisk } from './types';
