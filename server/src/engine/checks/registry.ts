import type { Check } from './check';
import { CONSUL_CHECKS } from './consul';
import { ISTIO_CHECKS } from './istio';
import { LINKERD_CHECKS } from './linkerd';

let all: readonly Check[] | undefined;

/** Every check, gathered on first use rather than at module load: some checks read what the
 * admission checks refuse (`admission.ts`), which reads this list, so the modules import each other. */
export function allChecks(): readonly Check[] {
  return (all ??= [...ISTIO_CHECKS, ...LINKERD_CHECKS, ...CONSUL_CHECKS]);
}
