import { LineIndex } from './lineIndex';
import type { SourceNode, Span } from './tree';

export type SourceFormat = 'yaml' | 'json' | 'hcl';

export interface SyntaxProblem {
  span: Span;
  message: string;
  severity: 'error' | 'warning';
  /** The input could not be read whole: a limit was hit (file size, documents, depth, aliases). */
  limit?: boolean;
}

export interface SourceDocument {
  index: number;
  span: Span;
  root: SourceNode | undefined;
  problems: SyntaxProblem[];
}

/** Whether the parser read the document whole: a document that did not is neither checked nor simulated (its resources would be half-typed). */
export function parsedCleanly(document: SourceDocument | undefined): boolean {
  return !document?.problems.some((p) => p.severity === 'error');
}

export interface SourceFile {
  path: string;
  format: SourceFormat;
  text: string;
  lines: LineIndex;
  documents: SourceDocument[];
  /** Problems that belong to no single document, such as a file over the size limit. */
  problems: SyntaxProblem[];
  /** For a file too large to read (its `text` is empty): whether its text names mesh policies (`policyMarks.ts`). */
  namesPolicies?: boolean;
}

export interface ReadLimits {
  /** Largest file read, in bytes of UTF-16 text (close enough to bytes for the limit's purpose). */
  maxFileBytes: number;
  maxDocuments: number;
  maxDepth: number;
  /** Nodes one document may expand to, counting every alias expansion: bounds alias bombs. */
  maxNodes: number;
  /** Largest file over `maxFileBytes` still read for its Kubernetes objects (the inventory); larger ones are only scanned. */
  maxInventoryFileBytes?: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxFileBytes: 8 * 1024 * 1024,
  maxDocuments: 20_000,
  maxDepth: 64,
  maxNodes: 250_000,
  maxInventoryFileBytes: 256 * 1024 * 1024,
};

export class LimitExceeded extends Error {
  constructor(message: string, readonly span: Span) {
    super(message);
  }
}

export function formatFromPath(path: string): SourceFormat | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.hcl')) return 'hcl';
  return undefined;
}

export function tooLargeFile(path: string, format: SourceFormat, text: string, limits: ReadLimits): SourceFile | undefined {
  if (text.length <= limits.maxFileBytes) return undefined;
  return { ...unreadFile(path, format, text.length, limits), text };
}

/** A file over the size limit, not parsed: its one problem says so. */
export function unreadFile(path: string, format: SourceFormat, size: number, limits: ReadLimits, namesPolicies?: boolean): SourceFile {
  const mib = (n: number) => (n / (1024 * 1024)).toFixed(1);
  return {
    path, format, text: '', lines: new LineIndex(''), documents: [],
    problems: [{
      span: { start: 0, end: 0 }, severity: 'error', limit: true,
      message: `file is too large to check (${mib(size)} MiB; the limit is ${mib(limits.maxFileBytes)} MiB, set by maxFileSize)`,
    }],
    ...(namesPolicies !== undefined ? { namesPolicies } : {}),
  };
}

/**
 * A file's text, its encoding deduced as YAML 1.2.2 §5.2 and JSON (RFC 4627 §3) deduce it: by the
 * byte-order mark, else by where the NUL bytes fall in the first character, which in a policy,
 * manifest or JSON file is ASCII. Read as UTF-8, UTF-16 or UTF-32 would be NULs and replacement
 * characters, and the policies in it silently unseen (PowerShell's `>` writes UTF-16LE; some
 * Windows tools write it without the mark).
 */
export function decodeText(bytes: Buffer): string {
  const [b0, b1, b2, b3] = [bytes[0], bytes[1], bytes[2], bytes[3]];
  if (bytes.length >= 4 && b0 === 0 && b1 === 0 && (b2 === 0xfe && b3 === 0xff || b2 === 0 && b3 !== 0)) {
    return utf32(bytes.subarray(b2 === 0xfe ? 4 : 0), false);
  }
  if (bytes.length >= 4 && b2 === 0 && b3 === 0 && (b0 === 0xff && b1 === 0xfe || b0 !== 0 && b1 === 0)) {
    return utf32(bytes.subarray(b0 === 0xff && b1 === 0xfe ? 4 : 0), true);
  }
  if (b0 === 0xff && b1 === 0xfe) return utf16(bytes.subarray(2), true);
  if (b0 === 0xfe && b1 === 0xff) return utf16(bytes.subarray(2), false);
  if (bytes.length >= 2 && b0 !== 0 && b1 === 0) return utf16(bytes, true);
  if (bytes.length >= 2 && b0 === 0 && b1 !== 0) return utf16(bytes, false);
  return bytes.toString('utf8');
}

function utf16(bytes: Buffer, littleEndian: boolean): string {
  const units = Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2)));
  return (littleEndian ? units : units.swap16()).toString('utf16le');
}

function utf32(bytes: Buffer, littleEndian: boolean): string {
  const parts: string[] = [];
  let chunk: number[] = [];
  for (let at = 0; at + 4 <= bytes.length; at += 4) {
    const point = littleEndian ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at);
    chunk.push(point <= 0x10ffff && (point < 0xd800 || point > 0xdfff) ? point : 0xfffd);
    if (chunk.length === 4096) {
      parts.push(String.fromCodePoint(...chunk));
      chunk = [];
    }
  }
  parts.push(String.fromCodePoint(...chunk));
  return parts.join('');
}
