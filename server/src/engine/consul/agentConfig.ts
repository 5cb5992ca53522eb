import type { SourceFile } from '../source/sourceFile';
import { getEntry, getScalarString, type ObjectNode, type Span } from '../source/tree';
import { blockAt, entryExtent, entryReader, placeOf } from './configEntries';

/**
 * What a workspace says of the Consul agents' default intention policy (mesh-semantics: the
 * agent's `default_intention_policy` when set, else the ACL default `acl.default_policy`, which is
 * `allow` when ACLs are disabled; hashicorp/consul agent/agent_endpoint.go `AgentConnectAuthorize`,
 * PR #20544), from
 * - **agent configuration files** (HCL or JSON): a top level with `default_intention_policy`, or
 *   an `acl` block with a key only Consul's has (`default_policy`, `down_policy`, `tokens`,
 *   `enable_token_persistence`) or beside a top-level key only Consul's has (`connect`,
 *   `ui_config`, ...), so that a Nomad agent's `acl { enabled = true }` is not taken;
 * - **consul-k8s Helm values**: `global.acls.manageSystemACLs`, with which the chart enables ACLs
 *   with `default_policy = "deny"` on the servers (charts/consul/templates/server-config-configmap.yaml).
 *
 * Consul merges every configuration file of an agent, so the settings of all the files are
 * merged here too, the first file (in path order) winning where two set one key differently.
 */
export interface AgentConfigDefinition {
  kind: 'agent configuration' | 'Helm values';
  file: SourceFile;
  span: Span;
  defaultIntentionPolicy?: 'allow' | 'deny';
  aclEnabled?: boolean;
  aclDefaultPolicy?: 'allow' | 'deny';
}

export const agentConfigsIn: (file: SourceFile) => readonly AgentConfigDefinition[] = entryReader(read);

/** What the file's agent settings say, places included ('' when it has none). */
export function agentConfigDigest(file: SourceFile): string {
  const found = agentConfigsIn(file);
  return found.length ? JSON.stringify(found.map((d) => [placeOf(d.file, d.span), d.defaultIntentionPolicy ?? null, d.aclEnabled ?? null, d.aclDefaultPolicy ?? null])) : '';
}

/** The default intention policy the definitions give, and why; undefined when none says. */
export function agentDefaultPolicy(definitions: readonly AgentConfigDefinition[]): { policy: 'allow' | 'deny'; source: string } | undefined {
  if (definitions.length === 0) return undefined;
  const first = <K extends 'defaultIntentionPolicy' | 'aclEnabled' | 'aclDefaultPolicy'>(key: K) => definitions.find((d) => d[key] !== undefined);
  const place = (d: AgentConfigDefinition) => `${d.kind} ${placeOf(d.file, d.span)}`;
  const intention = first('defaultIntentionPolicy');
  if (intention) return { policy: intention.defaultIntentionPolicy!, source: `default_intention_policy = "${intention.defaultIntentionPolicy}" in the ${place(intention)}` };
  const enabled = first('aclEnabled');
  if (!enabled?.aclEnabled) {
    const where = enabled ?? definitions[0]!;
    return { policy: 'allow', source: `ACLs ${enabled ? 'disabled' : 'not enabled (no acl.enabled)'} in the ${place(where)}` };
  }
  if (enabled.kind === 'Helm values') return { policy: 'deny', source: `global.acls.manageSystemACLs in the ${place(enabled)} (the chart sets acl.default_policy = "deny")` };
  const policy = first('aclDefaultPolicy');
  return policy
    ? { policy: policy.aclDefaultPolicy!, source: `acl.default_policy = "${policy.aclDefaultPolicy}" in the ${place(policy)}` }
    : { policy: 'allow', source: `ACLs enabled without acl.default_policy (allow) in the ${place(enabled)}` };
}

const CONSUL_ONLY_ACL_KEYS = ['default_policy', 'down_policy', 'tokens', 'enable_token_persistence'];
/** Top-level keys of a Consul agent's configuration that Nomad's does not have. */
const CONSUL_ONLY_KEYS = ['connect', 'ui_config', 'bootstrap_expect', 'node_name', 'client_addr', 'recursors', 'primary_datacenter'];

function read(file: SourceFile, node: ObjectNode, out: AgentConfigDefinition[]): void {
  // (Kubernetes objects and config entries are something else)
  if (getEntry(node, 'apiVersion') || getEntry(node, 'kind') || getEntry(node, 'Kind')) return;
  const acls = blockAt(blockAt(node, 'global'), 'acls');
  const manage = scalarAt(acls, 'manageSystemACLs');
  if (typeof manage === 'boolean') {
    out.push({ kind: 'Helm values', file, span: entryExtent(file, node), aclEnabled: manage });
    return;
  }
  const acl = blockAt(node, 'acl');
  const intention = policyAt(node, 'default_intention_policy');
  const isConsulAcl = acl !== undefined && (CONSUL_ONLY_ACL_KEYS.some((key) => getEntry(acl, key) !== undefined) || CONSUL_ONLY_KEYS.some((key) => getEntry(node, key) !== undefined));
  if (intention === undefined && !isConsulAcl) return;
  const enabled = isConsulAcl ? scalarAt(acl, 'enabled') : undefined;
  const aclDefault = isConsulAcl ? policyAt(acl, 'default_policy') : undefined;
  out.push({
    kind: 'agent configuration', file, span: entryExtent(file, node),
    ...(intention ? { defaultIntentionPolicy: intention } : {}),
    ...(typeof enabled === 'boolean' ? { aclEnabled: enabled } : {}),
    ...(aclDefault ? { aclDefaultPolicy: aclDefault } : {}),
  });
}


function scalarAt(node: ObjectNode | undefined, key: string): unknown {
  const value = getEntry(node, key)?.value;
  return value?.type === 'scalar' ? value.value : undefined;
}

/** `allow` or `deny` (Consul reads them in any case); anything else leaves the key unset. */
function policyAt(node: ObjectNode | undefined, key: string): 'allow' | 'deny' | undefined {
  const value = getScalarString(node, key)?.toLowerCase();
  return value === 'allow' || value === 'deny' ? value : undefined;
}
