import type { Check } from '../check';

/** Istio checks, MPA1xxx. */
export const ISTIO_CHECKS: Check[] = [];
