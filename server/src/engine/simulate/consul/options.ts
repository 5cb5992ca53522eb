import type { ProjectConfig } from '../../config/projectConfig';
import type { RequestNormalization } from './http';

/**
 * Settings the Consul simulator needs beyond the intentions themselves: from
 * `createConsulSimulator(options)`, else from `.meshpolicy.yaml`'s `consul:` section under the
 * same names (config/consulConfig.ts checks them). Every one has a default that keeps
 * the simulator honest: where a setting is unknown and the verdict depends on it, the verdict
 * is `unknown` and `missing` names the setting.
 */
export interface ConsulSimulatorOptions {
  /**
   * What happens when no intention decides. The effective value of the agent's
   * `default_intention_policy` when set, else of `acl.default_policy` (allow when ACLs are
   * disabled). Overrides `config.consul.defaultIntentionPolicy`.
   */
  defaultIntentionPolicy?: 'allow' | 'deny';
  /**
   * The local trust domain (`<cluster-id>.consul`). Set: local sources match only certificates of
   * this trust domain (Consul's newer rbac.go). Unset: any trust domain matches a local source
   * (older rbac.go; also the only choice when the cluster ID is not known).
   */
  trustDomain?: string;
  /** The admin partition of the destination proxies, and of CRDs and entries without Partition. */
  partition?: string;
  /**
   * Whether Consul Enterprise namespaces are in use. Unset: on when any intention names a
   * namespace or partition other than `default`. Off (Consul CE): every namespace is `default`,
   * and the namespaces of the record (Kubernetes namespaces) are not Consul's.
   */
  namespaces?: boolean;
  /** Cluster peers: the trust domain their certificates carry and their exported partition. */
  peers?: Record<string, { trustDomain: string; partition?: string }>;
  /** Sameness group members (Enterprise): local partitions and peers. */
  samenessGroups?: Record<string, { partitions?: string[]; peers?: string[] }>;
  /** The `Issuer` of jwt-provider config entries that are not in the workspace: a fallback.
   * A provider's entry in the workspace wins (see README "JWT providers"). */
  jwtProviders?: Record<string, { issuer?: string }>;
  /**
   * `MutualTLSMode = "permissive"` (service-defaults/proxy-defaults, Consul 1.16+): true for
   * every service, or the list of destination services. Plaintext calls to those are accepted
   * and intentions are not enforced on them.
   */
  permissiveMtls?: boolean | string[];
  /** The mesh entry's `HTTP.Incoming.RequestNormalization` (defaults: Consul CE 1.20.1+). */
  requestNormalization?: RequestNormalization;
}

export interface ResolvedOptions {
  defaultPolicy: 'allow' | 'deny';
  /** Where the default policy came from, for the trace. */
  defaultSource: string;
  trustDomain: string | undefined;
  partition: string | undefined;
  namespaces: boolean | undefined;
  peers: Record<string, { trustDomain: string; partition?: string }>;
  samenessGroups: Record<string, { partitions?: string[]; peers?: string[] }>;
  jwtProviders: Record<string, { issuer?: string }>;
  permissiveMtls: boolean | string[];
  normalization: RequestNormalization;
}

/**
 * The simulator's settings: its options, else `.meshpolicy.yaml`'s `consul:` section. The default
 * intention policy: the option, else the file's key when it is set, else what the workspace's
 * agent configuration or Helm values say (`agent`, `consul/agentConfig.ts`), else allow.
 */
export function resolveOptions(config: ProjectConfig | undefined, options: ConsulSimulatorOptions, agent?: { policy: 'allow' | 'deny'; source: string }): ResolvedOptions {
  const { defaultPolicy, defaultSource } = resolveDefaultPolicy(config, options, agent);
  const fromConfig: Partial<ConsulSimulatorOptions> = config?.consul ?? {};
  const pick = <K extends keyof ConsulSimulatorOptions>(key: K): ConsulSimulatorOptions[K] => (options[key] !== undefined ? options[key] : (fromConfig[key] as ConsulSimulatorOptions[K]));
  return {
    defaultPolicy,
    defaultSource,
    trustDomain: pick('trustDomain') || undefined,
    partition: pick('partition') || undefined,
    namespaces: pick('namespaces'),
    peers: pick('peers') ?? {},
    samenessGroups: pick('samenessGroups') ?? {},
    jwtProviders: pick('jwtProviders') ?? {},
    permissiveMtls: pick('permissiveMtls') ?? false,
    normalization: pick('requestNormalization') ?? {},
  };
}

/**
 * The default intention policy and where it comes from: the simulator option, else
 * `consul.defaultIntentionPolicy` when the configuration sets it, else what the workspace's agent
 * configuration says (`consul/agentConfig.ts`), else allow (Consul with ACLs disabled). `agent` is
 * true when the agents' files decided. The simulator and the checks (MPA3012-MPA3014) share it.
 */
export function resolveDefaultPolicy(config: ProjectConfig | undefined, options: Pick<ConsulSimulatorOptions, 'defaultIntentionPolicy'>, agent?: { policy: 'allow' | 'deny'; source: string }): { defaultPolicy: 'allow' | 'deny'; defaultSource: string; fromAgents: boolean } {
  const fromConfig: Partial<ConsulSimulatorOptions> = config?.consul ?? {};
  const written = fromConfig.defaultIntentionPolicy === 'deny' || fromConfig.defaultIntentionPolicy === 'allow' ? fromConfig.defaultIntentionPolicy : undefined;
  // (the configuration's default, allow, gives way to what the agents say; a value the file sets does not)
  const explicit = written !== undefined && (config?.consulSet?.includes('defaultIntentionPolicy') === true || written !== 'allow');
  const configured = explicit || !agent ? written : undefined;
  const defaultPolicy = options.defaultIntentionPolicy ?? configured ?? agent?.policy ?? 'allow';
  const defaultSource = options.defaultIntentionPolicy
    ? 'simulator option defaultIntentionPolicy'
    : configured && config?.file ? `consul.defaultIntentionPolicy in ${config.file}` : configured ? 'consul.defaultIntentionPolicy' : agent ? agent.source : 'Consul with ACLs disabled';
  return { defaultPolicy, defaultSource, fromAgents: !options.defaultIntentionPolicy && !configured && agent !== undefined };
}
