import { isRecord } from '../plainValues';

export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

const MODES = new Set<string>(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']);

/**
 * The mode of a PeerAuthentication `mtls` (or `portLevelMtls` entry) block: UNSET when the block
 * or its mode is absent; undefined when the mode is outside the CRD's enum, for which the API
 * server refuses the whole resource (the simulator and the checks then leave it out alike).
 */
export function mtlsModeOf(block: unknown): MtlsMode | undefined {
  if (!isRecord(block)) return 'UNSET';
  const mode = block['mode'];
  if (mode === undefined || mode === null) return 'UNSET';
  return typeof mode === 'string' && MODES.has(mode) ? (mode as MtlsMode) : undefined;
}
