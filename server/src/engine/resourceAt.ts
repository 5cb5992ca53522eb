import type { Resource } from './resource';
import type { SourceFile } from './source/sourceFile';

/** The recognized resource whose text contains the offset. */
export function resourceAt(file: SourceFile, resources: Resource[], offset: number): Resource | undefined {
  let best: Resource | undefined;
  for (const resource of resources) {
    const { start, end } = resource.node.span;
    if (offset < start || offset > end) continue;
    if (!best || start >= best.node.span.start) best = resource;
  }
  if (best) return best;
  // A cursor on a blank line at the end of a document is still inside that document.
  const document = file.documents.find((d) => offset >= d.span.start && offset <= Math.max(d.span.end, nextDocumentStart(file, d.index)));
  return document ? resources.find((r) => r.documentIndex === document.index && r.path.length === 0) : undefined;
}

function nextDocumentStart(file: SourceFile, index: number): number {
  return file.documents[index + 1]?.span.start ?? file.text.length;
}
