import { CORE_SCHEMA, loadAll } from 'js-yaml';
import type { SourceDocument, SourceFormat } from '../source/sourceFile';
import type { ObjectNode, SourceNode, Span } from '../source/tree';
import { INVENTORY_KINDS, isMeshConfigCandidate } from './inventory';
import { isRecord } from '../plainValues';

const NOWHERE: Span = { start: 0, end: 0 };

/**
 * The Kubernetes objects the inventory reads, from a file too large to read as policies (over
 * the size limit): parsed as plain values (JSON.parse, or js-yaml, which takes about a fifteenth
 * of the time and memory of the position-keeping YAML reader on such files), each List's items
 * taken one by one and only the inventory's kinds kept, as documents without positions (every
 * span is the start of the file). Undefined when the text cannot be parsed.
 */
export function bulkInventoryDocuments(text: string, format: SourceFormat): SourceDocument[] | undefined {
  const values = bulkInventoryValues(text, format);
  return values && bulkDocuments(values, 0);
}

/** The inventory's objects of `text` as plain values, in order (what `bulkInventoryDocuments` keeps); undefined when it cannot be parsed. */
export function bulkInventoryValues(text: string, format: SourceFormat): Record<string, unknown>[] | undefined {
  const values: unknown[] = [];
  try {
    if (format === 'json') values.push(JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text));
    else if (format === 'yaml') loadAll(text, (document) => values.push(document), { schema: CORE_SCHEMA, json: true });
    else return undefined;
  } catch {
    return undefined;
  }
  const kept: Record<string, unknown>[] = [];
  const keep = (value: unknown): void => {
    if (!isRecord(value) || typeof value['kind'] !== 'string' || !INVENTORY_KINDS.has(value['kind'])) return;
    const metadata = value['metadata'];
    if (value['kind'] === 'ConfigMap' && !isMeshConfigCandidate('ConfigMap', isRecord(metadata) && typeof metadata['name'] === 'string' ? metadata['name'] : undefined)) return;
    kept.push(value);
  };
  for (const value of values) {
    // one level, as `documentObjects` takes a List's items
    if (isRecord(value) && typeof value['kind'] === 'string' && value['kind'].endsWith('List') && Array.isArray(value['items'])) value['items'].forEach(keep);
    else keep(value);
  }
  return kept;
}

/** Documents without positions for `values`, numbered from `firstIndex`. */
export function bulkDocuments(values: readonly Record<string, unknown>[], firstIndex: number): SourceDocument[] {
  return values.map((value, i) => ({ index: firstIndex + i, span: NOWHERE, root: toNode(value), problems: [] }));
}

function toNode(value: unknown): SourceNode {
  if (Array.isArray(value)) return { type: 'array', span: NOWHERE, items: value.map(toNode), flow: false };
  if (isRecord(value)) {
    const node: ObjectNode = { type: 'object', span: NOWHERE, entries: [], flow: false };
    for (const [key, entry] of Object.entries(value)) node.entries.push({ key, keySpan: NOWHERE, value: toNode(entry) });
    return node;
  }
  const scalar = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : value === null || value === undefined ? null : String(value);
  return { type: 'scalar', span: NOWHERE, value: scalar, style: 'plain' };
}
