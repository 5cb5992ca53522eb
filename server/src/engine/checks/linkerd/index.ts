import type { Check } from '../check';

/** Linkerd checks, MPA2xxx. */
export const LINKERD_CHECKS: Check[] = [];
