import { closeSync, createReadStream, openSync, readFileSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { statRegularFile, statRegularFileAsync } from '../fsErrors';
import { readHcl } from './hclReader';
import { LineIndex } from './lineIndex';
import { PolicyMarks, textNamesPolicies } from './policyMarks';
import { readJson } from './jsonReader';
import { decodeText, DEFAULT_READ_LIMITS, formatFromPath, unreadFile, type ReadLimits, type SourceDocument, type SourceFile, type SourceFormat } from './sourceFile';
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

/** How a file left unread for its size may still give what the inventory needs, up to `maxBytes`. */
export interface BulkReader {
  maxBytes: number;
  documents(text: string, format: SourceFormat): SourceDocument[] | undefined;
}

/**
 * A file from disk, as `readText` reads its text, when within `limits.maxInventoryFileBytes`
 * (`readText` applies the size limit; over it the file keeps no text, only whether it names
 * policies). A larger file is never held as one string: it is only scanned in chunks for whether
 * it names policies, and comes back unparsed with the limit as its problem. Anything but a regular
 * file is refused before it is opened (`statRegularFile`).
 */
export function readSourceFromDisk(path: string, limits: ReadLimits, format: SourceFormat | undefined, readText: (text: string) => SourceFile): SourceFile {
  const size = statRegularFile(path).size;
  if (size <= wholeBytes(limits)) return keptWithin(readText(decodeText(readFileSync(path))), limits);
  const marks = new PolicyMarks();
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    // latin1: the marks are ASCII, and a chunk may end inside a UTF-8 sequence
    for (let read; (read = readSync(fd, buffer, 0, CHUNK_BYTES, null)) > 0;) marks.add(buffer.toString('latin1', 0, read));
  } finally {
    closeSync(fd);
  }
  return unreadFile(path, format ?? formatFromPath(path) ?? 'yaml', size, limits, marks.namesPolicies);
}

/**
 * As `readSourceFromDisk`, without blocking the event loop on a file over the size limit read for
 * its inventory objects when `inWorker` can read it elsewhere (`inventory/bulkWorker.ts`: to the
 * same file; undefined when it cannot).
 */
export async function readSourceFromDiskAsync(path: string, limits: ReadLimits, format: SourceFormat | undefined, readText: (text: string) => SourceFile, inWorker?: (path: string, format: SourceFormat) => Promise<SourceFile | undefined>): Promise<SourceFile> {
  const size = (await statRegularFileAsync(path)).size;
  if (size <= wholeBytes(limits)) {
    const elsewhere = size > limits.maxFileBytes && inWorker ? await inWorker(path, format ?? formatFromPath(path) ?? 'yaml') : undefined;
    return elsewhere ?? keptWithin(readText(decodeText(await readFile(path))), limits);
  }
  const marks = new PolicyMarks();
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES, encoding: 'latin1' })) marks.add(chunk as string);
  return unreadFile(path, format ?? formatFromPath(path) ?? 'yaml', size, limits, marks.namesPolicies);
}

/** The largest file read whole: up to the inventory's limit, over the policy limit when that is larger. */
function wholeBytes(limits: ReadLimits): number {
  return Math.max(limits.maxFileBytes, limits.maxInventoryFileBytes ?? DEFAULT_READ_LIMITS.maxInventoryFileBytes!);
}

/** A file read from disk over the size limit keeps no text, only whether it names policies. */
function keptWithin(file: SourceFile, limits: ReadLimits): SourceFile {
  if (file.text.length <= limits.maxFileBytes) return file;
  return { ...file, text: '', lines: new LineIndex(''), namesPolicies: textNamesPolicies(file.text) };
}

/**
 * A file left unread for its size (no documents, a limit problem), given the Kubernetes objects
 * `bulk` finds in its text when within `bulk.maxBytes`: what the inventory needs of it, whether
 * it was read from disk or is open in the editor.
 */
export function withInventoryObjects(file: SourceFile, bulk: BulkReader): SourceFile {
  if (file.documents.length > 0 || !file.problems.some((p) => p.limit) || file.text.length > bulk.maxBytes) return file;
  return { ...file, documents: bulk.documents(file.text, file.format) ?? [] };
}
