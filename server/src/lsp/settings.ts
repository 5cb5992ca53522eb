import type { RuleSetting } from '../engine/config/projectConfig';
import { DEFAULT_READ_LIMITS, type ReadLimits } from '../engine/source/sourceFile';

const RULE_SETTINGS = new Set(['error', 'warning', 'info', 'hint', 'off']);

/** The `meshPolicy.*` settings the server reads; the client contributes the same names. */
export interface ServerSettings {
  validateWorkspace: boolean;
  /** Path of the project configuration; empty means `.meshpolicy.yaml` at the workspace root. */
  configFile: string;
  /** Severity or off per finding code; wins over `.meshpolicy.yaml`. */
  rules: Record<string, RuleSetting>;
  traffic: {
    /** Read the access logs and show what the policies would decide (off: lint only). */
    enabled: boolean;
    /** Git ref whose policies the simulation is compared with (lens text, MPA4006); empty: no comparison. */
    baseline: string;
  };
  limits: {
    maxFileSizeMB: number;
    maxDocuments: number;
    maxNodes: number;
    maxDepth: number;
  };
}

export const DEFAULT_SETTINGS: ServerSettings = {
  validateWorkspace: true,
  configFile: '',
  rules: {},
  traffic: { enabled: true, baseline: 'HEAD' },
  limits: {
    maxFileSizeMB: DEFAULT_READ_LIMITS.maxFileBytes / (1024 * 1024),
    maxDocuments: DEFAULT_READ_LIMITS.maxDocuments,
    maxNodes: DEFAULT_READ_LIMITS.maxNodes,
    maxDepth: DEFAULT_READ_LIMITS.maxDepth,
  },
};

export function mergeSettings(raw: unknown): ServerSettings {
  const input = (raw && typeof raw === 'object' ? raw : {}) as Partial<ServerSettings>;
  const trafficInput = (input.traffic && typeof input.traffic === 'object' ? input.traffic : {}) as Partial<ServerSettings['traffic']>;
  const limits = (input.limits && typeof input.limits === 'object' ? input.limits : {}) as Partial<ServerSettings['limits']>;
  const positive = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback);
  return {
    validateWorkspace: typeof input.validateWorkspace === 'boolean' ? input.validateWorkspace : DEFAULT_SETTINGS.validateWorkspace,
    configFile: typeof input.configFile === 'string' ? input.configFile : '',
    rules: Object.fromEntries(Object.entries(input.rules && typeof input.rules === 'object' ? input.rules : {})
      .filter((entry): entry is [string, RuleSetting] => typeof entry[1] === 'string' && RULE_SETTINGS.has(entry[1]))),
    traffic: {
      enabled: typeof trafficInput.enabled === 'boolean' ? trafficInput.enabled : DEFAULT_SETTINGS.traffic.enabled,
      baseline: typeof trafficInput.baseline === 'string' ? trafficInput.baseline.trim() : DEFAULT_SETTINGS.traffic.baseline,
    },
    limits: {
      maxFileSizeMB: positive(limits.maxFileSizeMB, DEFAULT_SETTINGS.limits.maxFileSizeMB),
      maxDocuments: positive(limits.maxDocuments, DEFAULT_SETTINGS.limits.maxDocuments),
      maxNodes: positive(limits.maxNodes, DEFAULT_SETTINGS.limits.maxNodes),
      maxDepth: positive(limits.maxDepth, DEFAULT_SETTINGS.limits.maxDepth),
    },
  };
}

export function readLimits(settings: ServerSettings): ReadLimits {
  return {
    maxFileBytes: settings.limits.maxFileSizeMB * 1024 * 1024,
    maxDocuments: settings.limits.maxDocuments,
    maxNodes: settings.limits.maxNodes,
    maxDepth: settings.limits.maxDepth,
  };
}
