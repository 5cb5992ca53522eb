import type { LinePeek, LineReader, LineResult, LogFormatId, ParsedLine, ReaderOptions } from '../readerTypes';
import type { Mesh } from '../../meshes';
import { SKIP, isBlank, newKeyPrefix } from './common';
import { DEFAULT_JSON_KEYS, ENVOY_HOP_PARTS, F, SLOT_COUNT, buildEnvoyRecord, envoyRecordFromKey, operatorTarget, peekEnvoyRecord } from './envoyFields';
import { EnvoyFormatError, operatorEnd } from './envoyText';
import { FlatJsonScanner, SCAN_NOT_OBJECT, SCAN_OK } from './jsonScan';
import { metadataFromKubernetes } from './shipper';

/**
 * Envoy's JSON access logs (Istio `accessLogEncoding: JSON`, Telemetry `logFormat.labels`,
 * plain Envoy `json_format`). Values may be JSON numbers or strings (older builds render
 * everything as strings), and `"-"`, `""`, null or an omitted key all mean empty. Keys are read
 * by name in any order with a field-extracting scanner (formats/jsonScan.ts); only the mapped
 * keys are decoded.
 *
 * Without a custom format the reader knows Istio's/Consul's default keys plus the identity
 * labels the docs recommend (DEFAULT_JSON_KEYS). A custom JSON format (the object of
 * key → format string a user configured) maps each key whose value is a single operator.
 */

export const NO_JSON_FORMAT_PROBLEM = 'a JSON Envoy format must be an object of key → "%OPERATOR%" strings';

/** The key table of a custom JSON format (`{"src": "%DOWNSTREAM_PEER_URI_SAN%", ...}`). */
export function compileJsonFormat(format: string): { table: Map<string, number>; headerNames: string[] } {
  let spec: unknown;
  try {
    spec = JSON.parse(format);
  } catch {
    throw new EnvoyFormatError(NO_JSON_FORMAT_PROBLEM);
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new EnvoyFormatError(NO_JSON_FORMAT_PROBLEM);
  const table = new Map<string, number>();
  const headerNames: string[] = [];
  for (const [key, value] of Object.entries(spec as Record<string, unknown>)) {
    if (typeof value !== 'string') continue;
    const operator = value.trim();
    if (!operator.startsWith('%') || operatorEnd(operator, 1) !== operator.length - 1) continue;
    const target = operatorTarget(operator.slice(1, -1));
    if (target === undefined) continue;
    if ('slot' in target) table.set(key, target.slot);
    else {
      table.set(key, SLOT_COUNT + headerNames.length);
      headerNames.push(target.header);
    }
  }
  if (table.size === 0) throw new EnvoyFormatError('no key of the JSON Envoy format maps to an access record field');
  table.set('kubernetes', F.KUBERNETES);
  return { table, headerNames };
}

const DEFAULT_TABLE = new Map<string, number>(DEFAULT_JSON_KEYS);

export class EnvoyJsonReader implements LineReader {
  private readonly scanner: FlatJsonScanner;
  private readonly headerNames: string[] | undefined;
  /** Lines must have this many mapped keys to count as Envoy lines (one for custom formats). */
  private readonly minimumKeys: number;
  private readonly keyPrefix = newKeyPrefix();
  private readonly keyParts: string[];
  /** Scratch slot values and presence for readParts. */
  private readonly partValues: (string | undefined)[];
  private readonly partSeen: Uint8Array;
  readonly hopParts = ENVOY_HOP_PARTS;

  constructor(
    readonly format: LogFormatId,
    private readonly mesh: Mesh | undefined,
    jsonFormat?: string,
  ) {
    if (jsonFormat !== undefined) {
      const compiled = compileJsonFormat(jsonFormat);
      this.scanner = new FlatJsonScanner(compiled.table, SLOT_COUNT + compiled.headerNames.length);
      this.headerNames = compiled.headerNames.length > 0 ? compiled.headerNames : undefined;
      this.minimumKeys = 1;
    } else {
      this.scanner = new FlatJsonScanner(DEFAULT_TABLE, SLOT_COUNT);
      this.headerNames = undefined;
      // One shared key (Linkerd's `method`, say) does not make a line Envoy's.
      this.minimumKeys = 2;
    }
    this.keyParts = new Array<string>(this.scanner.values.length).fill('');
    this.partValues = new Array<string | undefined>(this.keyParts.length).fill(undefined);
    this.partSeen = new Uint8Array(this.keyParts.length);
  }

  readParts(key: string | readonly string[], time: string | undefined, requestId: string | undefined): ParsedLine {
    return envoyRecordFromKey(key, time, requestId, this.mesh, this.headerNames, this.partValues, this.partSeen);
  }

  peek(line: string): LinePeek | undefined {
    // escaped strings are decoded by the full read
    if (line.indexOf('\\') >= 0) return undefined;
    const scanner = this.scanner;
    if (scanner.scan(line) !== SCAN_OK || scanner.seen[F.KUBERNETES] === 1 || scanner.matched < this.minimumKeys) return undefined;
    return peekEnvoyRecord(scanner.values, scanner.seen, this.mesh, this.keyParts, this.keyPrefix);
  }

  readPeeked(): ParsedLine {
    // (a peeked line has no shipper metadata: peek sent it the full way)
    return buildEnvoyRecord(this.scanner.values, this.scanner.seen, this.mesh, this.headerNames);
  }

  read(line: string): LineResult {
    const scanner = this.scanner;
    const status = scanner.scan(line);
    if (status !== SCAN_OK) {
      if (isBlank(line)) return SKIP.blank;
      return status === SCAN_NOT_OBJECT ? SKIP.notObject : SKIP.notJson;
    }
    const seen = scanner.seen;
    const kubernetes = seen[F.KUBERNETES] === 1;
    if (scanner.matched - (kubernetes ? 1 : 0) < this.minimumKeys) return SKIP.noFields;
    const parsed = buildEnvoyRecord(scanner.values, seen, this.mesh, this.headerNames);
    if (kubernetes) {
      const raw = scanner.values[F.KUBERNETES];
      const meta = raw === undefined ? undefined : metadataFromKubernetes(raw);
      if (meta !== undefined) parsed.shipper = meta;
    }
    return parsed;
  }
}

/**
 * A reader for Envoy JSON lines. `options.envoyFormat`, when it is a JSON object (a custom JSON
 * format), replaces the default key table; a text format string there is ignored (it is for
 * envoy-text). `options.mesh` fixes the mesh; without it a line is Consul's when its cluster
 * or SNI has Consul's shape (`local_app`, `*.consul`), else Istio's.
 */
export function createEnvoyJsonReader(options: ReaderOptions = {}): EnvoyJsonReader {
  const custom = options.envoyFormat?.trim().startsWith('{') ? options.envoyFormat : undefined;
  return new EnvoyJsonReader('envoy-json', options.mesh, custom);
}
