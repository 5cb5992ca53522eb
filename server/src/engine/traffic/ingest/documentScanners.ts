import { DOCUMENT_FORMATS, readDocumentFile, sniffDocumentFile, type DocumentFormat, type ScannerFactory } from './documents';
import type { LineBatch, LineSourceOptions } from './lineSource';
import { LokiDocumentScanner } from './lokiDocument';
import { OtlpDocumentScanner } from './otlpDocument';

/** The scanner of each document format (documents.ts). */
export const DOCUMENT_SCANNERS: Record<DocumentFormat, ScannerFactory> = {
  'loki-api': (emit, use) => new LokiDocumentScanner(emit, use === 'read' ? 'time' : 'file'),
  'otlp-json': (emit) => new OtlpDocumentScanner(emit),
};

/** A document file of `format` as batches of lines, one per entry. */
export function readDocument(format: DocumentFormat, path: string, options: LineSourceOptions = {}): AsyncGenerator<LineBatch> {
  return readDocumentFile(DOCUMENT_SCANNERS[format], path, options);
}

/** Which document format a file is in, with the lines of its first entries; undefined for a file of lines. */
export function sniffDocument(path: string, gzip: boolean): Promise<{ format: DocumentFormat; sample: string[] } | undefined> {
  return sniffDocumentFile(path, gzip, DOCUMENT_FORMATS.map((format) => ({ format, scanner: DOCUMENT_SCANNERS[format] })));
}
