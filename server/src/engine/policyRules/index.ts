import type { Mesh } from '../meshes';
import { consulRules } from './consul';
import { istioRules } from './istio';
import { linkerdRules } from './linkerd';
import type { RuleOutliner } from './types';

/** Per mesh, the parts of a resource that are rules: the editor's lenses and hovers and the
 * audit's unused rules both read them from here. */
export const RULE_OUTLINERS: Record<Mesh, RuleOutliner> = { istio: istioRules, linkerd: linkerdRules, consul: consulRules };
export type { RuleOutliner, RulePath } from './types';
