import type { Check } from '../check';

/** Consul checks, MPA3xxx. */
export const CONSUL_CHECKS: Check[] = [];
