import { compileJsonFormat } from '../traffic/formats/envoyJson';
import { checkEnvoyFormat } from '../traffic/formats/envoyText';
import { DOCUMENT_FORMATS, asDocumentFormat } from '../traffic/ingest/documents';
import { FORMAT_IDS } from '../traffic/readerTypes';
import { isRecord } from '../plainValues';

/**
 * What is wrong in the `readers` section of `.meshpolicy.yaml` (`traffic/ingest/readers.ts` reads
 * it), each problem with the key it is about, so that the lint underlines it (MPA0004) and the CLI
 * and the server print it with the file's name, as for every other section.
 */

export interface ReaderSectionProblem {
  message: string;
  key: string[];
}

/** Keys a reader setting may have, at the top of the section, per glob of `files`, per `overrides` entry. */
const SETTING_KEYS = ['format', 'envoyFormat', 'mesh'];
const TOP_KEYS = [...SETTING_KEYS, 'maxLines', 'workers', 'files', 'overrides'];
const MESHES = ['istio', 'linkerd', 'consul'];

/** A `maxLines` or `workers` value: a whole number above 0, else undefined. */
export function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** Why an `envoyFormat` cannot be read (text, or JSON when it is an object), or undefined. */
function envoyFormatProblem(format: string): string | undefined {
  if (!format.trim().startsWith('{')) return checkEnvoyFormat(format);
  try {
    compileJsonFormat(format);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export function readerSectionProblems(readers: Record<string, unknown>): ReaderSectionProblem[] {
  const problems: ReaderSectionProblem[] = [];
  const add = (message: string, key: string[]) => problems.push({ message, key });
  const checkSetting = (where: string, key: string[], raw: Record<string, unknown>, allowed: readonly string[]): void => {
    for (const name of Object.keys(raw)) if (!allowed.includes(name)) add(`unknown key "${where}.${name}"; it is not read (known: ${allowed.join(', ')})`, [...key, name]);
    const format = raw['format'];
    if (format !== undefined && format !== null && !asDocumentFormat(format) && !(typeof format === 'string' && (FORMAT_IDS as readonly string[]).includes(format))) {
      add(`${where}.format must be one of ${[...FORMAT_IDS, ...DOCUMENT_FORMATS].join(', ')} (got ${JSON.stringify(format)})`, [...key, 'format']);
    }
    const mesh = raw['mesh'];
    if (mesh !== undefined && mesh !== null && !(typeof mesh === 'string' && MESHES.includes(mesh))) {
      add(`${where}.mesh must be one of ${MESHES.join(', ')} (got ${JSON.stringify(mesh)}); the format decides the mesh`, [...key, 'mesh']);
    }
    const envoyFormat = raw['envoyFormat'];
    if (envoyFormat !== undefined && envoyFormat !== null) {
      const problem = typeof envoyFormat !== 'string' ? 'must be a string' : envoyFormatProblem(envoyFormat);
      if (problem) add(`${where}.envoyFormat: ${problem}; the files it applies to in that format are not read (every line skipped with this reason)`, [...key, 'envoyFormat']);
    }
  };
  checkSetting('readers', ['readers'], readers, TOP_KEYS);
  if (readers['maxLines'] !== undefined && positiveInteger(readers['maxLines']) === undefined) add(`readers.maxLines must be a positive whole number of lines (got ${JSON.stringify(readers['maxLines'])}); no line limit is applied`, ['readers', 'maxLines']);
  if (readers['workers'] !== undefined && positiveInteger(readers['workers']) === undefined) add(`readers.workers must be a positive whole number of threads (got ${JSON.stringify(readers['workers'])}); logs are read on one thread`, ['readers', 'workers']);
  const files = readers['files'];
  if (files !== undefined && files !== null && !isRecord(files)) add('readers.files must map globs to reader settings; it applies to no file', ['readers', 'files']);
  if (isRecord(files)) {
    for (const [glob, raw] of Object.entries(files)) {
      if (!isRecord(raw)) add(`readers.files["${glob}"] must be a mapping of reader settings; it applies to no file`, ['readers', 'files', glob]);
      else checkSetting(`readers.files["${glob}"]`, ['readers', 'files', glob], raw, SETTING_KEYS);
    }
  }
  const overrides = readers['overrides'];
  if (overrides !== undefined && overrides !== null && !Array.isArray(overrides)) add('readers.overrides must be a list of reader settings with their files; it applies to no file', ['readers', 'overrides']);
  if (Array.isArray(overrides)) {
    overrides.forEach((raw, i) => {
      if (!isRecord(raw) || typeof raw['files'] !== 'string') add(`readers.overrides[${i}] must be a mapping with files (a glob); it applies to no file`, ['readers', 'overrides', String(i)]);
      else checkSetting(`readers.overrides[${i}]`, ['readers', 'overrides', String(i)], raw, ['files', ...SETTING_KEYS]);
    });
  }
  return problems;
}
