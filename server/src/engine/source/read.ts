import { closeSync, createReadStream, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { readHcl } from './hclReader';
import { PolicyMarks, textNamesPolicies } from './policyMarks';
import { readJson } from './jsonReader';
import { DEFAULT_READ_LIMITS, formatFromPath, unreadFile, type ReadLimits, type SourceDocument, type SourceFile, type SourceFormat } from './sourceFile';
import { readYaml, type YamlDocumentCache } from './yamlReader';

export function readSource(path: string, text: string, limits: ReadLimits = DEFAULT_READ_LIMITS, format: SourceFormat | undefined = formatFromPath(path), cache?: YamlDocumentCache): SourceFile {
  switch (format ?? 'yaml') {
    case 'json': return readJson(path, text, limits);
    case 'hcl': return readHcl(path, text, limits);
    default: return readYaml(path, text, limits, cache);
  }
}

/** Bytes read at a time from a file too large to hold whole. */
const CHUNK_BYTES = 4 * 1024 * 1024;

/** How a file over the size limit may still be read for what the inventory needs, up to `maxBytes`. */
export interface BulkReader {
  maxBytes: number;
  documents(text: string, format: SourceFormat): SourceDocument[] | undefined;
}

/**
 * A file from disk: read whole and parsed by `readText` when within the size limit. Over it, it
 * is returned unparsed with the limit as its problem, after being read only to tell whether it
 * names mesh policies: whole, and its Kubernetes objects taken by `bulk`, when within
 * `bulk.maxBytes`; in chunks otherwise (a file of hundreds of MiB is never held as one string).
 */
export function readSourceFromDisk(path: string, limits: ReadLimits, format: SourceFormat | undefined, readText: (text: string) => SourceFile, bulk?: BulkReader): SourceFile {
  const size = statSync(path).size;
  if (size <= limits.maxFileBytes) return readText(readFileSync(path, 'utf8'));
  const as = format ?? formatFromPath(path) ?? 'yaml';
  if (bulk && size <= bulk.maxBytes) return bulkFile(path, as, size, limits, readFileSync(path, 'utf8'), bulk);
  const marks = new PolicyMarks();
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    // latin1: the marks are ASCII, and a chunk may end inside a UTF-8 sequence
    for (let read; (read = readSync(fd, buffer, 0, CHUNK_BYTES, null)) > 0;) marks.add(buffer.toString('latin1', 0, read));
  } finally {
    closeSync(fd);
  }
  return unreadFile(path, as, size, limits, marks.namesPolicies);
}

export async function readSourceFromDiskAsync(path: string, limits: ReadLimits, format: SourceFormat | undefined, readText: (text: string) => SourceFile, bulk?: BulkReader): Promise<SourceFile> {
  const size = (await stat(path)).size;
  if (size <= limits.maxFileBytes) return readText(await readFile(path, 'utf8'));
  const as = format ?? formatFromPath(path) ?? 'yaml';
  if (bulk && size <= bulk.maxBytes) return bulkFile(path, as, size, limits, await readFile(path, 'utf8'), bulk);
  const marks = new PolicyMarks();
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES, encoding: 'latin1' })) marks.add(chunk as string);
  return unreadFile(path, as, size, limits, marks.namesPolicies);
}

function bulkFile(path: string, format: SourceFormat, size: number, limits: ReadLimits, text: string, bulk: BulkReader): SourceFile {
  return { ...unreadFile(path, format, size, limits, textNamesPolicies(text)), documents: bulk.documents(text, format) ?? [] };
}
