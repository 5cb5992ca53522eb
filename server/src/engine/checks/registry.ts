import type { Check } from './check';
import { CONSUL_CHECKS } from './consul';
import { ISTIO_CHECKS } from './istio';
import { LINKERD_CHECKS } from './linkerd';

export const ALL_CHECKS: readonly Check[] = [...ISTIO_CHECKS, ...LINKERD_CHECKS, ...CONSUL_CHECKS];
