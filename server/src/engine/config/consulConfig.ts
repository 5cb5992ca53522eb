import { HEADERS_WITH_UNDERSCORES_ACTIONS, PATH_ESCAPED_SLASHES_ACTIONS } from '../simulate/consul/http';
import type { ConsulSimulatorOptions } from '../simulate/consul/options';
import type { ReportConfigProblem } from './projectConfig';

/** `.meshpolicy.yaml`'s `consul:` section: the simulator's settings (`ConsulSimulatorOptions`). */
export type ConsulSettings = Omit<ConsulSimulatorOptions, 'defaultIntentionPolicy'> & { defaultIntentionPolicy: 'allow' | 'deny' };

const PATH_ESCAPED_SLASHES: readonly string[] = PATH_ESCAPED_SLASHES_ACTIONS;
const HEADERS_WITH_UNDERSCORES: readonly string[] = HEADERS_WITH_UNDERSCORES_ACTIONS;

/** Per key: its test, and what the value must be (for the message). */
type Fields = Record<string, [(v: unknown) => boolean, string]>;

const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const NORMALIZATION_FIELDS: Fields = {
  insecureDisablePathNormalization: [isBoolean, 'true or false'],
  mergeSlashes: [isBoolean, 'true or false'],
  pathWithEscapedSlashesAction: [(v) => PATH_ESCAPED_SLASHES.includes(v as string), `one of ${PATH_ESCAPED_SLASHES.join(', ')}`],
  headersWithUnderscoresAction: [(v) => HEADERS_WITH_UNDERSCORES.includes(v as string), `one of ${HEADERS_WITH_UNDERSCORES.join(', ')}`],
};

const isString = (v: unknown): v is string => typeof v === 'string';
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Whether `entry` is a mapping whose keys are all in `fields`, each passing its test, with the `required` ones present; names each problem. */
function fieldsPass(entry: unknown, where: readonly string[], fields: Fields, required: readonly string[], report: ReportConfigProblem): boolean {
  const at = where.join('.');
  if (!isMapping(entry)) {
    report(`${at} must be a mapping`, where);
    return false;
  }
  let ok = true;
  for (const key of required) if (entry[key] === undefined) { report(`${at}.${key} is required`, where); ok = false; }
  for (const [key, v] of Object.entries(entry)) {
    const field = fields[key];
    if (!field) { report(`${at}: unknown key "${key}"`, [...where, key]); ok = false; }
    else if (!field[0](v)) { report(`${at}.${key} must be ${field[1]}`, [...where, key]); ok = false; }
  }
  return ok;
}

/** A mapping of names to mappings whose fields pass `fieldsPass`; undefined when any does not. */
function namedMappings<T>(value: unknown, where: readonly string[], fields: Fields, required: readonly string[], report: ReportConfigProblem): Record<string, T> | undefined {
  if (!isMapping(value)) {
    report(`${where.join('.')} must be a mapping of names to settings`, where);
    return undefined;
  }
  let ok = true;
  for (const [name, entry] of Object.entries(value)) if (!fieldsPass(entry, [...where, name], fields, required, report)) ok = false;
  return ok ? (value as Record<string, T>) : undefined;
}

/** Reads the `consul:` section (at `where` in the file) into `settings`; what cannot be used is left at its default and reported. */
export function readConsulSettings(section: Record<string, unknown>, settings: ConsulSettings, where: readonly string[], report: ReportConfigProblem): void {
  for (const [key, value] of Object.entries(section)) {
    const path = [...where, key];
    const at = path.join('.');
    const problem = (message: string): void => report(message, path);
    switch (key) {
      case 'defaultIntentionPolicy':
        if (value === 'allow' || value === 'deny') settings.defaultIntentionPolicy = value;
        else problem(`${at} must be allow or deny`);
        break;
      case 'trustDomain':
      case 'partition':
        if (isString(value) && value !== '') settings[key] = value;
        else problem(`${at} must be a non-empty string`);
        break;
      case 'namespaces':
        if (isBoolean(value)) settings.namespaces = value;
        else problem(`${at} must be true or false`);
        break;
      case 'permissiveMtls':
        if (isBoolean(value) || isStringList(value)) settings.permissiveMtls = value;
        else problem(`${at} must be true, false or a list of service names`);
        break;
      case 'peers': {
        const peers = namedMappings<{ trustDomain: string; partition?: string }>(value, path, { trustDomain: [isString, 'a string'], partition: [isString, 'a string'] }, ['trustDomain'], report);
        if (peers) settings.peers = peers;
        break;
      }
      case 'samenessGroups': {
        const groups = namedMappings<{ partitions?: string[]; peers?: string[] }>(value, path, { partitions: [isStringList, 'a list of partition names'], peers: [isStringList, 'a list of peer names'] }, [], report);
        if (groups) settings.samenessGroups = groups;
        break;
      }
      case 'jwtProviders': {
        const providers = namedMappings<{ issuer?: string }>(value, path, { issuer: [isString, 'a string'] }, [], report);
        if (providers) settings.jwtProviders = providers;
        break;
      }
      case 'requestNormalization':
        if (fieldsPass(value, path, NORMALIZATION_FIELDS, [], report)) settings.requestNormalization = value as NonNullable<ConsulSettings['requestNormalization']>;
        break;
      default:
        problem(`unknown key "${at}"`);
    }
  }
}
