import { CORE_SCHEMA, load } from 'js-yaml';
import type { IstioExtensionProvider, IstioPathNormalization, IstioSettings, ProjectConfig } from '../config/projectConfig';
import type { Declared, Inventory } from '../inventory/inventory';
import { isRecord } from '../plainValues';

/**
 * Istio's MeshConfig as a workspace declares it: the `data.mesh` YAML of the `istio` ConfigMap
 * (`istio-<revision>` for a revision), or `spec.meshConfig` of an IstioOperator. Only the fields
 * that change authorization decisions are kept.
 */
export interface MeshConfigInfo extends Declared {
  /** `ConfigMap istio-system/istio`, `IstioOperator istio-system/control-plane`. */
  label: string;
  /** The control plane revision: '' for the default one. */
  revision: string;
  /** The ConfigMap named `istio`, the one the default revision's istiod reads. */
  defaultConfigMap: boolean;
  rootNamespace?: string;
  trustDomain?: string;
  trustDomainAliases?: string[];
  /** Absent when the mesh config has no `extensionProviders` (istiod then has none). */
  extensionProviders?: IstioExtensionProvider[];
  /** `pathNormalization.normalization`, `DEFAULT` read as `BASE`; absent when not set. */
  pathNormalization?: IstioPathNormalization;
  /** Why `data.mesh` could not be read; nothing else is set then. */
  problem?: string;
}

/** The MeshConfig `extensionProviders` kinds that a CUSTOM policy can name (istiod's extauthz.go
 * `processExtensionProvider` builds ext_authz filters only from these two). */
const EXT_AUTHZ_KINDS = new Set(['envoyExtAuthzHttp', 'envoyExtAuthzGrpc']);


/** The mesh config a Kubernetes object declares, if it is one (`object`: the object as plain data). */
export function meshConfigOf(object: Record<string, unknown>, declared: Declared): MeshConfigInfo | undefined {
  const apiVersion = object['apiVersion'];
  const kind = object['kind'];
  const metadata = isRecord(object['metadata']) ? object['metadata'] : {};
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : '';
  const namespace = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : 'default';
  if (apiVersion === 'v1' && kind === 'ConfigMap') {
    if (name !== 'istio' && !name.startsWith('istio-')) return undefined;
    const data = isRecord(object['data']) ? object['data'] : undefined;
    const mesh = data?.['mesh'];
    // (istio-sidecar-injector and other istio-* ConfigMaps hold no `mesh` key)
    if (typeof mesh !== 'string') return undefined;
    const info: MeshConfigInfo = { ...declared, label: `ConfigMap ${namespace}/${name}`, revision: name === 'istio' ? '' : name.slice('istio-'.length), defaultConfigMap: name === 'istio' };
    let parsed: unknown;
    try {
      parsed = mesh.trim() === '' ? {} : load(mesh, { schema: CORE_SCHEMA, json: true });
    } catch (error) {
      return { ...info, problem: `data.mesh is not YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
    }
    if (parsed === null || parsed === undefined) parsed = {};
    if (!isRecord(parsed)) return { ...info, problem: 'data.mesh is not a mapping of MeshConfig fields' };
    return { ...info, ...meshFields(parsed) };
  }
  if (kind === 'IstioOperator' && typeof apiVersion === 'string' && apiVersion.startsWith('install.istio.io/')) {
    const spec = isRecord(object['spec']) ? object['spec'] : {};
    const meshConfig = spec['meshConfig'];
    if (!isRecord(meshConfig)) return undefined;
    const revision = typeof spec['revision'] === 'string' && spec['revision'] !== 'default' ? spec['revision'] : '';
    return { ...declared, label: `IstioOperator ${namespace}/${name}`, revision, defaultConfigMap: false, ...meshFields(meshConfig) };
  }
  return undefined;
}

/** MeshConfig `ProxyPathNormalization.NormalizationType` (istio/api mesh/v1alpha1/config.proto):
 * `DEFAULT` is `BASE`, what istiod configures when the field is unset. */

/** MeshConfig's `pathNormalization.normalization` values, `DEFAULT` being `BASE`. */
export const PATH_NORMALIZATIONS: Readonly<Record<string, IstioPathNormalization>> = { DEFAULT: 'BASE', NONE: 'NONE', BASE: 'BASE', MERGE_SLASHES: 'MERGE_SLASHES', DECODE_AND_MERGE_SLASHES: 'DECODE_AND_MERGE_SLASHES' };

function meshFields(mesh: Record<string, unknown>): Pick<MeshConfigInfo, 'rootNamespace' | 'trustDomain' | 'trustDomainAliases' | 'extensionProviders' | 'pathNormalization'> {
  const out: ReturnType<typeof meshFields> = {};
  if (typeof mesh['rootNamespace'] === 'string' && mesh['rootNamespace'] !== '') out.rootNamespace = mesh['rootNamespace'];
  if (typeof mesh['trustDomain'] === 'string' && mesh['trustDomain'] !== '') out.trustDomain = mesh['trustDomain'];
  const aliases = mesh['trustDomainAliases'];
  if (Array.isArray(aliases)) out.trustDomainAliases = aliases.filter((a): a is string => typeof a === 'string');
  const providers = mesh['extensionProviders'];
  if (Array.isArray(providers)) out.extensionProviders = extensionProviders(providers);
  // (the proxies' path normalization before authorization: istio.io docs/ops/best-practices/security
  // "Customize your system on path normalization")
  const normalization = isRecord(mesh['pathNormalization']) ? mesh['pathNormalization']['normalization'] : undefined;
  if (typeof normalization === 'string' && Object.hasOwn(PATH_NORMALIZATIONS, normalization)) out.pathNormalization = PATH_NORMALIZATIONS[normalization];
  return out;
}

/**
 * The entries of `extensionProviders`, each with the reason istiod cannot use it for CUSTOM
 * (extauthz.go `processExtensionProvider`, `getExtAuthz`): not an ext_authz kind (a tracing or
 * logging provider is left out of the resolved providers), a name given twice, or a port out of
 * range. What needs the cluster (whether the `service` exists) is not judged.
 */
function extensionProviders(entries: unknown[]): IstioExtensionProvider[] {
  const seen = new Map<string, number>();
  for (const entry of entries) if (isRecord(entry) && typeof entry['name'] === 'string') seen.set(entry['name'], (seen.get(entry['name']) ?? 0) + 1);
  const out: IstioExtensionProvider[] = [];
  for (const entry of entries) {
    if (!isRecord(entry) || typeof entry['name'] !== 'string' || entry['name'] === '') continue;
    const name = entry['name'];
    const type = Object.keys(entry).find((key) => key !== 'name');
    const provider: IstioExtensionProvider = { name, ...(type ? { type } : {}) };
    const settings = type ? entry[type] : undefined;
    // (protobuf's JSON mapping takes a uint32 as a number or a decimal string: the ext-authz task writes port: "9000")
    const raw = isRecord(settings) ? settings['port'] : undefined;
    const port = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (type === undefined || !EXT_AUTHZ_KINDS.has(type)) provider.problem = `it is ${type ? `a ${type} provider` : 'a provider of no kind'}, not envoyExtAuthzHttp or envoyExtAuthzGrpc`;
    else if ((seen.get(name) ?? 0) > 1) provider.problem = 'its name is declared more than once (extension provider names must be unique)';
    else if (!(typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535)) provider.problem = `its port ${raw === undefined ? 'is not set' : JSON.stringify(raw)} is not in [1, 65535]`;
    out.push(provider);
  }
  return out;
}

/** What the CUSTOM semantics read of the Istio settings. */
export type ProviderSettings = Pick<IstioSettings, 'extensionProviders' | 'meshConfig'>;

/** Whether a CUSTOM policy naming `name` is turned into DENY rules by istiod under these
 * settings, and why; undefined when the provider is usable or the mesh config is unknown. */
export function unusableProvider(istio: ProviderSettings, name: string | undefined): string | undefined {
  const declared = istio.extensionProviders;
  if (declared === undefined) return undefined;
  if (name === undefined || name === '') return 'it names no provider';
  const provider = declared.find((p) => p.name === name);
  const from = istio.meshConfig ? ` (${istio.meshConfig})` : '';
  if (!provider) {
    const names = declared.filter((p) => !p.problem).map((p) => p.name);
    return `meshConfig.extensionProviders${from} does not declare ${JSON.stringify(name)}${names.length ? `; it declares ${names.map((n) => JSON.stringify(n)).join(', ')}` : '; it declares no ext_authz provider'}`;
  }
  return provider.problem ? `extension provider ${JSON.stringify(name)}${from} cannot be used: ${provider.problem}` : undefined;
}

/** Whether the provider is known to be HTTP-only (envoyExtAuthzHttp: istiod builds no TCP filter for it). */
export function httpOnlyProvider(istio: ProviderSettings, name: string | undefined): boolean {
  return istio.extensionProviders?.find((p) => p.name === name)?.type === 'envoyExtAuthzHttp';
}

/**
 * The mesh config that applies when the workspace has several: the default revision's `istio`
 * ConfigMap, else an IstioOperator of the default revision, else the first in the order the
 * files were read; with a note when they disagree on a field read here, and one per mesh config
 * that cannot be read.
 */
export function chooseMeshConfig(found: readonly MeshConfigInfo[]): { chosen: MeshConfigInfo | undefined; notes: string[] } {
  const notes = found.filter((m) => m.problem).map((m) => `${m.label} is not used: ${m.problem}`);
  const usable = found.filter((m) => !m.problem);
  const chosen = usable.find((m) => m.defaultConfigMap) ?? usable.find((m) => m.revision === '') ?? usable[0];
  if (chosen && usable.some((m) => fieldsKey(m) !== fieldsKey(chosen))) {
    notes.push(`the workspace declares ${usable.length} Istio mesh configs that disagree (${usable.map((m) => m.label).join(', ')}): using ${chosen.label}`);
  }
  return { chosen, notes };
}

function fieldsKey(m: MeshConfigInfo): string {
  return JSON.stringify([m.rootNamespace, m.trustDomain, m.trustDomainAliases, m.extensionProviders, m.pathNormalization]);
}

/** What to tell the user about the mesh config in use: the notes of the choice, then (`verbose`) where the extension providers came from. */
export function meshConfigNotes(istio: IstioSettings, verbose: boolean): string[] {
  const lines = (istio.meshConfigNotes ?? []).map((note) => `Istio mesh config: ${note}`);
  if (verbose && istio.meshConfig) lines.push(`Istio mesh config: extension providers from ${istio.meshConfig}: ${istio.extensionProviders?.map((p) => p.name).join(', ') || 'none'}`);
  return lines;
}

const effective = new WeakSet<ProjectConfig>();
const lastEffective = new WeakMap<ProjectConfig, { inventory: Inventory; key: string; config: ProjectConfig }>();

/**
 * The configuration with the workspace's mesh config filled in: a key `.meshpolicy.yaml` sets
 * wins over the mesh config, which wins over the defaults. The same object is returned while the
 * result stays equal (checks and simulations keyed on the configuration object keep their work).
 * A configuration that is already such a result is returned as it is.
 */
export function withMeshConfig(base: ProjectConfig, inventory: Inventory): ProjectConfig {
  if (effective.has(base)) return base;
  const last = lastEffective.get(base);
  if (last && last.inventory === inventory) return last.config;
  const { chosen, notes } = chooseMeshConfig(inventory.meshConfigs ?? []);
  const set = new Set(base.istioSet ?? []);
  const istio: IstioSettings = { ...base.istio };
  if (chosen) {
    if (!set.has('rootNamespace') && chosen.rootNamespace !== undefined) istio.rootNamespace = chosen.rootNamespace;
    if (!set.has('trustDomain') && chosen.trustDomain !== undefined) istio.trustDomain = chosen.trustDomain;
    if (!set.has('trustDomainAliases') && chosen.trustDomainAliases !== undefined) istio.trustDomainAliases = chosen.trustDomainAliases;
    if (!set.has('extensionProviders')) {
      istio.extensionProviders = chosen.extensionProviders ?? [];
      istio.meshConfig = chosen.label;
    }
    if (!set.has('pathNormalization') && chosen.pathNormalization !== undefined) istio.pathNormalization = chosen.pathNormalization;
  }
  if (notes.length) istio.meshConfigNotes = notes;
  const key = JSON.stringify(istio);
  if (last && last.key === key) {
    lastEffective.set(base, { ...last, inventory });
    return last.config;
  }
  const config: ProjectConfig = key === JSON.stringify(base.istio) ? base : { ...base, istio };
  if (config !== base) effective.add(config);
  lastEffective.set(base, { inventory, key, config });
  return config;
}
