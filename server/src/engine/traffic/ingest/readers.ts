import { basename, relative, sep } from 'node:path';
import type { ProjectConfig } from '../../config/projectConfig';
import { FORMAT_IDS, type LineReader, type LogFormatId, type ReaderOptions } from '../readerTypes';
import { positiveInteger, readerSectionProblems } from '../../config/readerSettings';
import { createReader, detectFormat } from '../detect';
import { compileGlob } from './files';
import { asDocumentFormat, type DocumentFormat } from './documents';

/**
 * Which reader reads a file: a format forced by `.meshpolicy.yaml` (`readers`), else the format
 * detected from the first lines. Recognised reader settings:
 *
 * ```yaml
 * readers:
 *   format: envoy-text          # force one format for every file (loki-api: read as a Loki API
 *                               # JSON document, otlp-json: as OpenTelemetry OTLP/JSON logs; the
 *                               # format of their lines detected)
 *   envoyFormat: '[%START_TIME%] ...'   # a custom Envoy format string (text, or JSON when an object);
 *                                       # without `format`, files whose lines it reads are read with it
 *   mesh: istio                 # mesh to assume when the format does not say
 *   maxLines: 10000000          # lines read per file; the rest is counted and skipped
 *   workers: 1                  # worker threads for large inputs (default 1)
 *   files:                      # per glob (relative to the config folder, or a file name)
 *     "gateway/*.log": { format: envoy-json, mesh: istio }
 * ```
 * `overrides: [{ files: <glob>, format, envoyFormat, mesh }]` is read too.
 */

export { FORMAT_IDS };

export interface ReaderSetting {
  format?: LogFormatId;
  /** `format: loki-api` or `otlp-json`: the file is such a document, whatever its first bytes look like. */
  document?: DocumentFormat;
  options: ReaderOptions;
}

function asFormat(value: unknown): LogFormatId | undefined {
  return typeof value === 'string' && (FORMAT_IDS as readonly string[]).includes(value) ? (value as LogFormatId) : undefined;
}

function optionsOf(raw: Record<string, unknown>): ReaderOptions {
  const out: ReaderOptions = {};
  if (typeof raw['envoyFormat'] === 'string') out.envoyFormat = raw['envoyFormat'];
  if (raw['mesh'] === 'istio' || raw['mesh'] === 'linkerd' || raw['mesh'] === 'consul') out.mesh = raw['mesh'];
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The reader settings `.meshpolicy.yaml` gives for a file. */
export function readerSetting(file: string, config: ProjectConfig | undefined): ReaderSetting {
  const readers = config?.readers ?? {};
  let format = asFormat(readers['format']);
  let document: DocumentFormat | undefined = asDocumentFormat(readers['format']);
  let options = optionsOf(readers);
  const rel = config ? relative(config.root, file).split(sep).join('/') : file;
  const matches = (glob: string): boolean => {
    const re = compileGlob(glob);
    return re.test(rel) || re.test(basename(file)) || re.test(file.split(sep).join('/'));
  };
  const apply = (raw: Record<string, unknown>): void => {
    format = asFormat(raw['format']) ?? format;
    document = asDocumentFormat(raw['format']) ?? document;
    options = { ...options, ...optionsOf(raw) };
  };
  const files = readers['files'];
  if (isObject(files)) for (const [glob, raw] of Object.entries(files)) if (isObject(raw) && matches(glob)) apply(raw);
  const overrides = readers['overrides'];
  if (Array.isArray(overrides)) for (const raw of overrides) if (isObject(raw) && typeof raw['files'] === 'string' && matches(raw['files'])) apply(raw);
  return { ...(format ? { format } : {}), ...(document ? { document } : {}), options };
}

/** Problems in the `readers` section, as words (the configuration reports them with the file and key). */
export function readerSettingProblems(config: ProjectConfig | undefined): string[] {
  return readerSectionProblems(config?.readers ?? {}).map((p) => p.message);
}


/** `readers.maxLines` of the configuration, when it is a positive integer (else no limit). */
export function configuredMaxLines(config: Pick<ProjectConfig, 'readers'>): number | undefined {
  return positiveInteger(config.readers['maxLines']);
}

/** `readers.workers` of the configuration, when it is a positive integer (else one thread). */
export function configuredWorkers(config: Pick<ProjectConfig, 'readers'>): number | undefined {
  return positiveInteger(config.readers['workers']);
}


export interface ReaderChoice {
  reader?: LineReader;
  format?: LogFormatId;
  /** Why there is no reader. */
  problem?: string;
}

/**
 * The format and options for a file: forced by the configuration; else the configured
 * `envoyFormat` (text, or JSON when it is an object) when it reads at least half of the first
 * lines; else detected from its first lines.
 */
export function readerRecipe(file: string, sample: string[], config: ProjectConfig | undefined): ReaderSetting {
  const setting = readerSetting(file, config);
  if (setting.format) return setting;
  const custom = customFormatFor(sample, setting.options);
  if (custom) return { format: custom, options: setting.options };
  let detected: unknown;
  try {
    detected = detectFormat(sample, basename(file));
  } catch {
    detected = undefined;
  }
  if (typeof detected === 'string') {
    const format = asFormat(detected);
    return { ...(format ? { format } : {}), options: setting.options };
  }
  if (isObject(detected)) {
    const extra = detected['options'] ?? detected['readerOptions'];
    const format = asFormat(detected['format']);
    return { ...(format ? { format } : {}), options: { ...(isObject(extra) ? (extra as ReaderOptions) : {}), ...setting.options } };
  }
  return setting;
}

const CUSTOM_SAMPLE_LINES = 50;

/** The format of the configured `envoyFormat`'s shape, when it reads at least half of the sample's non-blank lines. */
function customFormatFor(sample: string[], options: ReaderOptions): LogFormatId | undefined {
  if (options.envoyFormat === undefined) return undefined;
  const format: LogFormatId = options.envoyFormat.trim().startsWith('{') ? 'envoy-json' : 'envoy-text';
  let reader: LineReader;
  try {
    reader = createReader(format, options);
  } catch {
    return undefined; // detection picks the format, and creating its reader reports the format string's problem
  }
  let looked = 0;
  let read = 0;
  for (const line of sample) {
    if (looked >= CUSTOM_SAMPLE_LINES) break;
    if (line.trim().length === 0) continue;
    looked++;
    if (reader.read(line).kind === 'record') read++;
  }
  return read > 0 && read * 2 >= looked ? format : undefined;
}

/** Picks the reader for a file from its first lines. */
export function chooseReader(file: string, sample: string[], config: ProjectConfig | undefined, readerFor?: (file: string, sample: string[]) => LineReader | undefined): ReaderChoice & { recipe?: ReaderSetting } {
  const custom = readerFor?.(file, sample);
  if (custom) return { reader: custom, format: custom.format };
  const recipe = readerRecipe(file, sample, config);
  if (!recipe.format) return { problem: sample.length === 0 ? 'empty file' : notRecognized(sample[0]!) };
  try {
    return { reader: createReaderFor(recipe.format, recipe.options), format: recipe.format, recipe };
  } catch (error) {
    return { format: recipe.format, problem: `cannot read as ${recipe.format}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The skip reason of a file no format fits. */
export const FORMAT_NOT_RECOGNIZED = 'format not recognized';

/**
 * Why no format fits a file. UTF-16 (what PowerShell's `>` writes) is named, being easy to fix:
 * read as UTF-8, its byte-order mark is two replacement characters, and its ASCII has a NUL
 * beside every character (without the mark, that alone tells it).
 */
function notRecognized(firstLine: string): string {
  const marked = firstLine.startsWith('\uFFFD\uFFFD') && firstLine.includes('\u0000');
  return marked || looksUtf16(firstLine) ? 'UTF-16 text, not UTF-8: convert it first (iconv -f UTF-16 -t UTF-8)' : FORMAT_NOT_RECOGNIZED;
}

function looksUtf16(line: string): boolean {
  if (line.length < 4 || (line[0] === '\u0000') === (line[1] === '\u0000')) return false;
  let nuls = 0;
  for (let at = 0; at < line.length; at++) if (line.charCodeAt(at) === 0) nuls++;
  return nuls * 3 >= line.length;
}

/** The reader for a format (throws when `options.envoyFormat` cannot be compiled). */
export function createReaderFor(format: LogFormatId, options: ReaderOptions): LineReader {
  return createReader(format, options);
}

/** A reader for a file nobody can read: every line is skipped with the reason. */
export function skippingReader(reason: string): LineReader {
  return { format: 'access-record', read: () => ({ kind: 'skip', reason }) };
}
