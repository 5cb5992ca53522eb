import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Severity } from '../findings';
import { readYaml } from '../source/yamlReader';
import { isDnsName } from '../strings';
import { toValue } from '../source/tree';
import { describeFsError, statRegularFile } from '../fsErrors';
import { isRecord } from '../plainValues';
import { ALL_RULES } from '../rules';
import { parseClickHouseSettings, type ClickHouseSettings } from './clickhouseConfig';
import { readConsulSettings, type ConsulSettings } from './consulConfig';
import { readerSectionProblems } from './readerSettings';
import { PATH_NORMALIZATIONS } from '../istio/meshConfig';

export type RuleSetting = Severity | 'off';

/** An entry of MeshConfig `extensionProviders`. */
export interface IstioExtensionProvider {
  name: string;
  /** Its kind (`envoyExtAuthzHttp`, `envoyExtAuthzGrpc`, `zipkin` ...): unknown for a name listed in `.meshpolicy.yaml`. */
  type?: string;
  /** Why istiod cannot use it for a CUSTOM policy (engine/istio/meshConfig.ts). */
  problem?: string;
}

/** MeshConfig `ProxyPathNormalization.NormalizationType`, `DEFAULT` resolved to `BASE`. */
export type IstioPathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

/** The Istio settings: `.meshpolicy.yaml`'s `istio:` keys, then the workspace's mesh config
 * (`engine/istio/meshConfig.ts` `withMeshConfig`), then the defaults. */
export interface IstioSettings {
  rootNamespace: string;
  trustDomain: string;
  /** MeshConfig's aliases of the trust domain (istiod's trust-domain bundle). */
  trustDomainAliases: string[];
  /** MeshConfig `extensionProviders`: undefined while the mesh config is unknown. */
  extensionProviders?: IstioExtensionProvider[];
  /** MeshConfig `pathNormalization.normalization` (`DEFAULT` read as `BASE`): undefined while the
   * mesh config does not set it, and then Istio's default, `BASE`, applies. */
  pathNormalization?: IstioPathNormalization;
  /** Where the extension providers were read: `ConfigMap istio-system/istio in <file>`, or `.meshpolicy.yaml`. */
  meshConfig?: string;
  /** What was noticed choosing among the workspace's mesh configs (several that disagree, one that cannot be read). */
  meshConfigNotes?: string[];
  /**
   * A stub verdict per CUSTOM (ext_authz) provider name: a CUSTOM policy of that provider that
   * matches a call decides it so, instead of leaving it an external decision.
   */
  customProviderVerdicts?: Record<string, 'allow' | 'deny'>;
}

/** The Linkerd settings of `.meshpolicy.yaml`'s `linkerd:`. */
export interface LinkerdSettings {
  defaultInboundPolicy: string;
  clusterNetworks: string[];
  /** The identity trust domain (`identityTrustDomain` of the install), default `cluster.local`. */
  trustDomain: string;
  /** The control plane's namespace, which identities name (`<sa>.<ns>.serviceaccount.identity.<it>.<trust domain>`), default `linkerd`. */
  controlPlaneNamespace: string;
}

export type IstioKey = 'rootNamespace' | 'trustDomain' | 'trustDomainAliases' | 'extensionProviders' | 'pathNormalization';
const ISTIO_KEYS: readonly IstioKey[] = ['rootNamespace', 'trustDomain', 'trustDomainAliases', 'extensionProviders', 'pathNormalization'];

/** `.meshpolicy.yaml`: one configuration for the editor and the CLI. Every key is optional. */
export interface ProjectConfig {
  /** Folder the relative globs are resolved against. */
  root: string;
  /** Where the configuration came from, or undefined for the defaults. */
  file?: string;
  traffic: string[];
  inventory: string[];
  istio: IstioSettings;
  /** The `istio:` keys the file sets: they win over the workspace's mesh config. */
  istioSet?: IstioKey[];
  /** The `linkerd:` identity keys the file sets: they win over the workspace's `linkerd-config`. */
  linkerdSet?: ('trustDomain' | 'controlPlaneNamespace')[];
  /** The Consul keys the file sets, which the workspace's agent configuration does not override. */
  consulSet?: 'defaultIntentionPolicy'[];
  linkerd: LinkerdSettings;
  /** The Consul simulator's settings (`ConsulSimulatorOptions`), the default intention policy always set. */
  consul: ConsulSettings;
  /** Severity per finding code, or off. */
  rules: Record<string, RuleSetting>;
  /** Options for the log readers (format overrides and the like), passed through as written. */
  readers: Record<string, unknown>;
  /** Where to query the logs when they sit in ClickHouse (`clickhouse:`; docs/scale.md). */
  clickhouse?: ClickHouseSettings;
  /** More request headers whose values are secret, beyond the built-in list (traffic/redact.ts). */
  redact: { headers: string[] };
  /** Problems found while reading the file, reported by the adapters. */
  problems: ConfigProblem[];
  /** The file could not be read or parsed: nothing of it applies (the CLI stops with exit 2). */
  unusable?: true;
}

/** A problem of the configuration file: as printed (`<file>: <what>`), and the key it is about. */
export interface ConfigProblem {
  message: string;
  /** The path of keys in the file (`['clickhouse', 'window', 'last']`); empty for the file as a whole. */
  key: readonly string[];
}

/** Reports a problem of the file at `key`, `message` without the file's name. */
export type ReportConfigProblem = (message: string, key: readonly string[]) => void;

export const CONFIG_FILE_NAME = '.meshpolicy.yaml';
export const DEFAULT_TRAFFIC_GLOBS: readonly string[] = ['**/*.log', '**/*.log.gz', '**/*.jsonl', '**/*.jsonl.gz', '**/traffic/**/*.json'];

export function defaultConfig(root: string): ProjectConfig {
  return {
    root,
    traffic: [...DEFAULT_TRAFFIC_GLOBS],
    inventory: ['**/*.yaml', '**/*.yml', '**/*.json'],
    istio: { rootNamespace: 'istio-system', trustDomain: 'cluster.local', trustDomainAliases: [] },
    linkerd: { defaultInboundPolicy: 'all-unauthenticated', clusterNetworks: ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'], trustDomain: 'cluster.local', controlPlaneNamespace: 'linkerd' },
    consul: { defaultIntentionPolicy: 'allow' },
    rules: {},
    readers: {},
    redact: { headers: [] },
    problems: [],
  };
}

const SEVERITIES = new Set(['error', 'warning', 'info', 'hint', 'off']);
const INBOUND_POLICIES = new Set(['all-unauthenticated', 'all-authenticated', 'cluster-unauthenticated', 'cluster-authenticated', 'deny', 'audit']);

/** Reads a configuration file; a file that cannot be used gives the defaults plus problems. */
export function loadConfig(file: string): ProjectConfig {
  const config = defaultConfig(dirname(resolve(file)));
  config.file = resolve(file);
  let text: string;
  try {
    statRegularFile(file);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    config.problems.push({ message: `cannot read ${file}: ${describeFsError(error)}`, key: [] });
    config.unusable = true;
    return config;
  }
  return parseConfig(text, config);
}

export function parseConfig(text: string, config: ProjectConfig): ProjectConfig {
  const name = config.file ?? CONFIG_FILE_NAME;
  const source = readYaml(name, text);
  const document = source.documents[0];
  const report: ReportConfigProblem = (message, key) => config.problems.push({ message: `${name}: ${message}`, key });
  const syntax = [...source.problems, ...(document?.problems ?? [])];
  for (const problem of syntax) {
    const { line, character } = source.lines.position(problem.span.start);
    config.problems.push({ message: `${name}:${line + 1}:${character + 1}: ${problem.message}`, key: [] });
  }
  if (syntax.some((p) => p.severity === 'error')) {
    // What a parser makes of a broken file is a guess: a rule switched off by it would hide findings.
    report('not used at all until its syntax error is fixed', []);
    config.unusable = true;
    return config;
  }
  const raw = toValue(document?.root);
  if (raw === undefined || raw === null) return config;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    report('expected a mapping at the top level', []);
    return config;
  }
  const value = raw as Record<string, unknown>;
  const known = new Set(['traffic', 'inventory', 'istio', 'linkerd', 'consul', 'rules', 'readers', 'clickhouse', 'redact']);
  for (const key of Object.keys(value)) if (!known.has(key)) report(`unknown key "${key}"`, [key]);
  const globs = (key: 'traffic' | 'inventory') => {
    const v = value[key];
    if (v === undefined) return;
    if (Array.isArray(v) && v.every((g) => typeof g === 'string')) config[key] = v as string[];
    else report(`${key} must be a list of globs`, [key]);
  };
  globs('traffic');
  globs('inventory');
  // A section of the wrong type would otherwise leave every default in force without a word.
  const sections = new Map<string, Record<string, unknown>>();
  const section = (key: string): Record<string, unknown> => {
    let read = sections.get(key);
    if (!read) {
      const v = value[key];
      read = isRecord(v) ? v : {};
      if (v !== undefined && v !== null && !isRecord(v)) report(`${key} must be a mapping (got ${typeName(v)}); its defaults apply`, [key]);
      sections.set(key, read);
    }
    return read;
  };
  const istio = section('istio');
  for (const key of ['rootNamespace', 'trustDomain'] as const) {
    const v = istio[key];
    if (typeof v === 'string' && v !== '') config.istio[key] = v;
    else if (v !== undefined && v !== null) report(`istio.${key} must be a non-empty string (got ${typeName(v)}); "${config.istio[key]}" applies`, ['istio', key]);
  }
  const aliases = istio['trustDomainAliases'];
  if (Array.isArray(aliases) && aliases.every((a) => typeof a === 'string')) config.istio.trustDomainAliases = aliases as string[];
  else if (aliases !== undefined && aliases !== null) report('istio.trustDomainAliases must be a list of trust domains', ['istio', 'trustDomainAliases']);
  const providers = istio['extensionProviders'];
  if (Array.isArray(providers) && providers.every((p) => typeof p === 'string' && p !== '')) {
    config.istio.extensionProviders = (providers as string[]).map((name) => ({ name }));
    config.istio.meshConfig = CONFIG_FILE_NAME;
  } else if (providers !== undefined && providers !== null) report('istio.extensionProviders must be a list of provider names', ['istio', 'extensionProviders']);
  const normalization = istio['pathNormalization'];
  if (typeof normalization === 'string' && Object.hasOwn(PATH_NORMALIZATIONS, normalization)) config.istio.pathNormalization = PATH_NORMALIZATIONS[normalization];
  else if (normalization !== undefined && normalization !== null) report(`istio.pathNormalization must be one of ${Object.keys(PATH_NORMALIZATIONS).join(', ')}; the mesh config's, else BASE, applies`, ['istio', 'pathNormalization']);
  const verdicts = istio['customProviderVerdicts'];
  if (isRecord(verdicts)) {
    const read: Record<string, 'allow' | 'deny'> = {};
    for (const [provider, verdict] of Object.entries(verdicts)) {
      if (verdict === 'allow' || verdict === 'deny') read[provider] = verdict;
      else report(`istio.customProviderVerdicts.${provider} must be allow or deny; the provider's calls stay external decisions`, ['istio', 'customProviderVerdicts', provider]);
    }
    config.istio.customProviderVerdicts = read;
  } else if (verdicts !== undefined && verdicts !== null) report('istio.customProviderVerdicts must be a mapping of provider names to allow or deny', ['istio', 'customProviderVerdicts']);
  const set = ISTIO_KEYS.filter((key) => key === 'extensionProviders' ? config.istio.extensionProviders !== undefined : key === 'trustDomainAliases' ? Array.isArray(aliases) && aliases.every((a) => typeof a === 'string') : key === 'pathNormalization' ? config.istio.pathNormalization !== undefined : typeof istio[key] === 'string' && istio[key] !== '');
  if (set.length) config.istioSet = set;
  const linkerd = section('linkerd');
  const inbound = linkerd['defaultInboundPolicy'];
  if (typeof inbound === 'string' && INBOUND_POLICIES.has(inbound)) config.linkerd.defaultInboundPolicy = inbound;
  else if (inbound !== undefined && inbound !== null) report(`linkerd.defaultInboundPolicy must be one of ${[...INBOUND_POLICIES].join(', ')}`, ['linkerd', 'defaultInboundPolicy']);
  const networks = linkerd['clusterNetworks'];
  // (each network's own grammar is the Linkerd simulator's to check)
  if (Array.isArray(networks) && networks.every((n) => typeof n === 'string')) config.linkerd.clusterNetworks = networks as string[];
  else if (networks !== undefined && networks !== null) report('linkerd.clusterNetworks must be a list of networks (CIDRs); the defaults apply', ['linkerd', 'clusterNetworks']);
  for (const key of ['trustDomain', 'controlPlaneNamespace'] as const) {
    const v = linkerd[key];
    // (a DNS name: identities are `<sa>.<ns>.serviceaccount.identity.<control plane namespace>.<trust domain>`)
    if (typeof v === 'string' && isDnsName(v) && (key === 'trustDomain' || !v.includes('.'))) {
      config.linkerd[key] = v;
      (config.linkerdSet ??= []).push(key);
    }
    else if (v !== undefined && v !== null) report(`linkerd.${key} must be a ${key === 'trustDomain' ? 'DNS name' : 'namespace name'} (got ${typeName(v)}); "${config.linkerd[key]}" applies`, ['linkerd', key]);
  }
  // (a misspelt key would otherwise leave its default in force without a word)
  for (const [mesh, keys] of [['istio', [...ISTIO_KEYS, 'customProviderVerdicts']], ['linkerd', ['defaultInboundPolicy', 'clusterNetworks', 'trustDomain', 'controlPlaneNamespace']]] as const) {
    for (const key of Object.keys(section(mesh))) if (!(keys as readonly string[]).includes(key)) report(`unknown key "${mesh}.${key}"`, [mesh, key]);
  }
  readConsulSettings(section('consul'), config.consul, ['consul'], report);
  const intentionPolicy = section('consul')['defaultIntentionPolicy'];
  if (intentionPolicy === 'allow' || intentionPolicy === 'deny') config.consulSet = ['defaultIntentionPolicy'];
  for (const [code, setting] of Object.entries(section('rules'))) {
    // a misspelt code (mpa1021, MPA1201) would otherwise change nothing without a word
    const problem = ruleSettingProblem(code, setting);
    if (problem) report(`rules.${code} ${problem}`, ['rules', code]);
    else config.rules[code] = setting as RuleSetting;
  }
  config.readers = section('readers');
  for (const problem of readerSectionProblems(config.readers)) report(problem.message, problem.key);
  const clickhouse = parseClickHouseSettings(value['clickhouse'], report);
  if (clickhouse) config.clickhouse = clickhouse;
  for (const key of Object.keys(section('redact'))) if (key !== 'headers') report(`unknown key "redact.${key}"`, ['redact', key]);
  const redactHeaders = section('redact')['headers'];
  if (Array.isArray(redactHeaders) && redactHeaders.every((h) => typeof h === 'string')) config.redact.headers = redactHeaders as string[];
  else if (redactHeaders !== undefined) report('redact.headers must be a list of header names', ['redact', 'headers']);
  return config;
}

/** How a value of the wrong type is named in a problem. */
function typeName(value: unknown): string {
  return Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : typeof value === 'string' ? `"${value}"` : String(value);
}

/**
 * Why `setting` cannot be the severity of rule `code` (a `rules:` entry of the file, or lint's
 * `--rule CODE=SEVERITY`), as words to follow the code; undefined when it can.
 */
export function ruleSettingProblem(code: string, setting: unknown): string | undefined {
  if (!knownCodes().has(code)) return 'is not a rule code (docs/rules/README.md lists them)';
  if (typeof setting === 'string' && SEVERITIES.has(setting)) return undefined;
  return `must be one of ${[...SEVERITIES].join(', ')}`;
}

let codes: Set<string> | undefined;
/** Every finding code (read when first needed: the rules index imports every check). */
function knownCodes(): Set<string> {
  return (codes ??= new Set(ALL_RULES.map((rule) => rule.code)));
}

/** The `.meshpolicy.yaml` in `start` or the nearest folder above it, else the defaults for `start`. */
export function findConfig(start: string): ProjectConfig {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, CONFIG_FILE_NAME);
    if (existsSync(candidate)) return loadConfig(candidate);
    const parent = dirname(dir);
    if (parent === dir) return defaultConfig(resolve(start));
    dir = parent;
  }
}
