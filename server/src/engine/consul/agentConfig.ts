import { readSource } from '../source/read';
import { DEFAULT_READ_LIMITS, type SourceFile } from '../source/sourceFile';
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
 * - **ConfigMaps whose `data` holds agent configuration files** (keys ending in `.json` or
 *   `.hcl`, as consul-k8s mounts its server ConfigMap into the agents' configuration folder), each
 *   key a file, in the order of their names;
 * - **consul-k8s Helm values**: `global.acls.manageSystemACLs`, with which the chart enables ACLs
 *   with `default_policy = "deny"` on the servers (charts/consul/templates/server-config-configmap.yaml,
 *   `acl-config.json`), and `server.extraConfig`, the JSON the chart adds after it
 *   (`extra-from-values.json`), so its settings win.
 *
 * Consul reads an agent's configuration files in lexical order of their names and merges each
 * later one over the earlier ones (developer.hashicorp.com/consul/docs/agent/config, "Configuration
 * specified later will be merged into configuration specified earlier"), so here too a setting of
 * a later file (in path order) wins over the same setting earlier.
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
  return found.length ? JSON.stringify(found.map((d) => [d.kind, placeOf(d.file, d.span), d.defaultIntentionPolicy ?? null, d.aclEnabled ?? null, d.aclDefaultPolicy ?? null])) : '';
}

/** The default intention policy the definitions give, and why; undefined when none says. */
export function agentDefaultPolicy(definitions: readonly AgentConfigDefinition[]): { policy: 'allow' | 'deny'; source: string; decidedBy: AgentConfigDefinition } | undefined {
  if (definitions.length === 0) return undefined;
  const inOrder = definitions.map((d, i) => [d, i] as const)
    .sort(([a, i], [b, j]) => (a.file.path < b.file.path ? -1 : a.file.path > b.file.path ? 1 : i - j)).map(([d]) => d);
  const last = <K extends 'defaultIntentionPolicy' | 'aclEnabled' | 'aclDefaultPolicy'>(key: K) => inOrder.filter((d) => d[key] !== undefined).pop();
  const place = (d: AgentConfigDefinition) => `${d.kind} ${placeOf(d.file, d.span)}`;
  const intention = last('defaultIntentionPolicy');
  if (intention) return { policy: intention.defaultIntentionPolicy!, source: `default_intention_policy = "${intention.defaultIntentionPolicy}" in the ${place(intention)}`, decidedBy: intention };
  const enabled = last('aclEnabled');
  if (!enabled?.aclEnabled) {
    const where = enabled ?? inOrder[0]!;
    return { policy: 'allow', source: `ACLs ${enabled ? 'disabled' : 'not enabled (no acl.enabled)'} in the ${place(where)}`, decidedBy: where };
  }
  const policy = last('aclDefaultPolicy');
  if (policy?.kind === 'Helm values') return { policy: 'deny', source: `global.acls.manageSystemACLs in the ${place(policy)} (the chart sets acl.default_policy = "deny")`, decidedBy: policy };
  return policy
    ? { policy: policy.aclDefaultPolicy!, source: `acl.default_policy = "${policy.aclDefaultPolicy}" in the ${place(policy)}`, decidedBy: policy }
    : { policy: 'allow', source: `ACLs enabled without acl.default_policy (allow) in the ${place(enabled)}`, decidedBy: enabled };
}

const CONSUL_ONLY_ACL_KEYS = ['default_policy', 'down_policy', 'tokens', 'enable_token_persistence'];
/** Top-level keys of a Consul agent's configuration that Nomad's does not have. */
const CONSUL_ONLY_KEYS = ['connect', 'ui_config', 'bootstrap_expect', 'node_name', 'client_addr', 'recursors', 'primary_datacenter'];

function read(file: SourceFile, node: ObjectNode, out: AgentConfigDefinition[]): void {
  const kind = getScalarString(node, 'kind');
  if (kind === 'ConfigMap' && getScalarString(node, 'apiVersion') === 'v1') return readConfigMap(file, node, out);
  // (other Kubernetes objects and config entries are something else)
  if (getEntry(node, 'apiVersion') || getEntry(node, 'kind') || getEntry(node, 'Kind')) return;
  const acls = blockAt(blockAt(node, 'global'), 'acls');
  const manage = scalarAt(acls, 'manageSystemACLs');
  if (typeof manage === 'boolean') {
    out.push({ kind: 'Helm values', file, span: entryExtent(file, node), aclEnabled: manage, ...(manage ? { aclDefaultPolicy: 'deny' as const } : {}) });
    const extra = getEntry(blockAt(node, 'server'), 'extraConfig');
    if (extra?.value.type === 'scalar' && typeof extra.value.value === 'string') readEmbedded(file, extra.value.span, extra.value.value, 'json', true, out);
    return;
  }
  readAgentObject(file, node, entryExtent(file, node), false, out);
}

/** A ConfigMap's agent configuration files, each `data` key a file of the folder it is mounted as. */
function readConfigMap(file: SourceFile, node: ObjectNode, out: AgentConfigDefinition[]): void {
  const data = blockAt(node, 'data');
  const files = (data?.entries ?? []).filter((e) => /\.(json|hcl)$/.test(e.key)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const entry of files) {
    if (entry.value.type === 'scalar' && typeof entry.value.value === 'string') readEmbedded(file, entry.value.span, entry.value.value, entry.key.endsWith('.hcl') ? 'hcl' : 'json', false, out);
  }
}

/** Agent configuration held as text in a value (its findings are placed on that value). */
function readEmbedded(file: SourceFile, span: Span, text: string, format: 'json' | 'hcl', knownConsul: boolean, out: AgentConfigDefinition[]): void {
  const embedded = readSource(`${file.path}#embedded.${format}`, text, DEFAULT_READ_LIMITS, format);
  for (const document of embedded.documents) {
    if (document.root?.type === 'object') readAgentObject(file, document.root, span, knownConsul, out);
  }
}

function readAgentObject(file: SourceFile, node: ObjectNode, span: Span, knownConsul: boolean, out: AgentConfigDefinition[]): void {
  const acl = blockAt(node, 'acl');
  const intention = policyAt(node, 'default_intention_policy');
  const isConsulAcl = acl !== undefined && (knownConsul || CONSUL_ONLY_ACL_KEYS.some((key) => getEntry(acl, key) !== undefined) || CONSUL_ONLY_KEYS.some((key) => getEntry(node, key) !== undefined));
  if (intention === undefined && !isConsulAcl) return;
  const enabled = isConsulAcl ? scalarAt(acl, 'enabled') : undefined;
  const aclDefault = isConsulAcl ? policyAt(acl, 'default_policy') : undefined;
  out.push({
    kind: 'agent configuration', file, span,
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
