import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { FIXTURES } from './paths';

type Json = Record<string, unknown>;

export interface UpstreamCase {
  name: string;
  /** Where upstream states the outcome (URL or repository path). */
  source?: string;
  call?: Json;
  expect: 'allow' | 'deny' | 'external' | 'unknown';
  /** For `unknown`: the attribute the trace must name. */
  missing?: string;
}

export interface UpstreamTable {
  /** The upstream page or test this table follows. */
  source: string;
  /** Policy (and inventory) files by name, written into one folder given to --policies. */
  files: Record<string, string>;
  /** `.meshpolicy.yaml`, when the case needs non-default mesh settings. */
  config?: string;
  /** Merged under every case's call. */
  base?: Json;
  cases: UpstreamCase[];
}

const UPSTREAM = join(FIXTURES, 'upstream');

/** The decision tables of test/fixtures/upstream/<mesh>/ (every mesh when none is given), by
 * file; a file of several YAML documents holds one table per document (`file#n`), for cases that
 * need different mesh settings. A document that does not parse throws. */
export function upstreamTables(mesh?: string): { mesh: string; file: string; table: UpstreamTable }[] {
  const out: { mesh: string; file: string; table: UpstreamTable }[] = [];
  const meshes = mesh ? [mesh] : readdirSync(UPSTREAM, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const m of meshes) {
    for (const file of readdirSync(join(UPSTREAM, m)).filter((f) => f.endsWith('.yaml')).sort()) {
      const documents = parseAllDocuments(readFileSync(join(UPSTREAM, m, file), 'utf8'));
      documents.forEach((document, i) => {
        if (document.errors.length) throw new Error(`${m}/${file}: ${document.errors.map((e) => e.message).join('; ')}`);
        out.push({ mesh: m, file: documents.length === 1 ? file : `${file}#${i + 1}`, table: document.toJS() as UpstreamTable });
      });
    }
  }
  return out;
}
