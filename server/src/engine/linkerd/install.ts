import { parse } from 'yaml';
import type { ProjectConfig } from '../config/projectConfig';
import type { Inventory } from '../inventory/inventory';
import { isRecord } from '../plainValues';
import { isDnsName } from '../strings';

/**
 * What a Linkerd install says of its identities, from its `linkerd-config` ConfigMap (in the
 * control plane's namespace; `data.values` holds the chart's values, `identityTrustDomain`
 * among them), as `kubectl get cm -n linkerd linkerd-config -o yaml` saves it.
 */
export interface LinkerdInstallInfo {
  controlPlaneNamespace: string;
  /** Absent when `data.values` does not say (or is not YAML). */
  trustDomain?: string;
}

/** The install a ConfigMap describes, when it is Linkerd's `linkerd-config`. */
export function linkerdInstallOf(value: Record<string, unknown>): LinkerdInstallInfo | undefined {
  const metadata = isRecord(value['metadata']) ? value['metadata'] : {};
  if (metadata['name'] !== 'linkerd-config') return undefined;
  const namespace = typeof metadata['namespace'] === 'string' && metadata['namespace'] !== '' ? metadata['namespace'] : 'default';
  const data = isRecord(value['data']) ? value['data'] : {};
  let trustDomain: string | undefined;
  if (typeof data['values'] === 'string') {
    try {
      // (the chart's values: small, and its own document; a broken one says nothing)
      const values: unknown = parse(data['values'], { maxAliasCount: 10 });
      const domain = isRecord(values) ? values['identityTrustDomain'] : undefined;
      if (typeof domain === 'string' && isDnsName(domain)) trustDomain = domain;
    } catch {
      trustDomain = undefined;
    }
  }
  return { controlPlaneNamespace: namespace, ...(trustDomain ? { trustDomain } : {}) };
}

const effective = new WeakMap<ProjectConfig, { inventory: Inventory; config: ProjectConfig }>();

/**
 * The configuration with the workspace's Linkerd install filled in where `.meshpolicy.yaml` does
 * not set `linkerd.trustDomain` or `linkerd.controlPlaneNamespace` (the first `linkerd-config`
 * read; the one in namespace `linkerd` when there are several). The same object while the
 * inventory is.
 */
export function withLinkerdInstall(base: ProjectConfig, inventory: Inventory): ProjectConfig {
  const installs = inventory.linkerdInstalls ?? [];
  if (!installs.length) return base;
  const last = effective.get(base);
  if (last && last.inventory === inventory) return last.config;
  const install = installs.find((i) => i.controlPlaneNamespace === 'linkerd') ?? installs[0]!;
  const set = new Set(base.linkerdSet ?? []);
  const linkerd = {
    ...base.linkerd,
    ...(!set.has('controlPlaneNamespace') ? { controlPlaneNamespace: install.controlPlaneNamespace } : {}),
    ...(!set.has('trustDomain') && install.trustDomain ? { trustDomain: install.trustDomain } : {}),
  };
  const same = linkerd.controlPlaneNamespace === base.linkerd.controlPlaneNamespace && linkerd.trustDomain === base.linkerd.trustDomain;
  const config = same ? base : { ...base, linkerd };
  effective.set(base, { inventory, config });
  return config;
}
