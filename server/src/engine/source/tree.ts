/** A format-neutral tree of a parsed document with source offsets, shared by the YAML, JSON and
 * HCL readers. Everything downstream (recognition, schema validation, hovers, fixes) works on
 * this tree, so a new input format only needs a reader. */

export interface Span {
  start: number;
  end: number;
}

export type PathSegment = string | number;
export type NodePath = PathSegment[];

export interface ObjectEntry {
  key: string;
  keySpan: Span;
  value: SourceNode;
}

export interface ObjectNode {
  type: 'object';
  span: Span;
  entries: ObjectEntry[];
  /** Flow style (`{a: 1}`, JSON) or block style; edits that add a field need to know. */
  flow: boolean;
  /** HCL block syntax (`HTTP { ... }`), which Consul decodes as a list or an object. */
  block?: boolean;
}

export interface ArrayNode {
  type: 'array';
  span: Span;
  items: SourceNode[];
  flow: boolean;
}

export interface ScalarNode {
  type: 'scalar';
  span: Span;
  value: string | number | boolean | null;
  /** How the scalar was written: quoting matters when a fix replaces it. */
  style: 'plain' | 'double' | 'single' | 'block';
}

export type SourceNode = ObjectNode | ArrayNode | ScalarNode;

export function toValue(node: SourceNode | undefined): unknown {
  if (!node) return undefined;
  switch (node.type) {
    case 'scalar':
      return node.value;
    case 'array':
      return node.items.map(toValue);
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const entry of node.entries) out[entry.key] = toValue(entry.value);
      return out;
    }
  }
}

/**
 * The value the mesh sees: like toValue, but a field set to null is dropped, as the Kubernetes
 * API server does for non-nullable fields and Consul's decoder does for config entries. Schema
 * validation, checks and simulators all work on this form.
 */
export function admittedValue(node: SourceNode): unknown {
  switch (node.type) {
    case 'scalar':
      return node.value;
    case 'array':
      return node.items.map(admittedValue);
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const entry of node.entries) if (!(entry.value.type === 'scalar' && entry.value.value === null)) out[entry.key] = admittedValue(entry.value);
      return out;
    }
  }
}

export function getEntry(node: SourceNode | undefined, key: string): ObjectEntry | undefined {
  if (node?.type !== 'object') return undefined;
  for (let i = node.entries.length - 1; i >= 0; i--) if (node.entries[i]!.key === key) return node.entries[i];
  return undefined;
}

export function getScalarString(node: SourceNode | undefined, key: string): string | undefined {
  const value = getEntry(node, key)?.value;
  return value?.type === 'scalar' && typeof value.value === 'string' ? value.value : undefined;
}

export interface Located {
  node: SourceNode | undefined;
  /** Span of the key that holds the node (absent for the root and for list items). */
  keySpan: Span | undefined;
  parent: SourceNode | undefined;
}

/** Follows a path through the tree, stopping at the deepest node that exists. */
export function locate(root: SourceNode | undefined, path: readonly PathSegment[]): Located & { complete: boolean } {
  let node = root;
  let keySpan: Span | undefined;
  let parent: SourceNode | undefined;
  for (const segment of path) {
    if (node?.type === 'object' && typeof segment === 'string') {
      const entry = getEntry(node, segment);
      if (!entry) return { node, keySpan, parent, complete: false };
      parent = node;
      keySpan = entry.keySpan;
      node = entry.value;
    } else if (node?.type === 'array' && typeof segment === 'number' && segment < node.items.length) {
      parent = node;
      keySpan = undefined;
      node = node.items[segment];
    } else {
      return { node, keySpan, parent, complete: false };
    }
  }
  return { node, keySpan, parent, complete: true };
}

/** The deepest node whose span contains the offset, with its path. Keys count as part of their entry. */
export function nodeAt(root: SourceNode | undefined, offset: number): { path: NodePath; node: SourceNode | undefined; onKey: boolean } {
  const path: NodePath = [];
  let node = root;
  let onKey = false;
  while (node) {
    if (node.type === 'object') {
      const hit = node.entries.find((e) => (offset >= e.keySpan.start && offset <= e.keySpan.end) || within(e.value.span, offset));
      if (!hit) break;
      path.push(hit.key);
      if (offset >= hit.keySpan.start && offset <= hit.keySpan.end) {
        onKey = true;
        node = hit.value;
        break;
      }
      node = hit.value;
    } else if (node.type === 'array') {
      const index = node.items.findIndex((item) => within(item.span, offset));
      if (index < 0) break;
      path.push(index);
      node = node.items[index];
    } else {
      break;
    }
  }
  return { path, node, onKey };
}

function within(span: Span, offset: number): boolean {
  return offset >= span.start && offset <= span.end;
}

export function formatPath(path: NodePath): string {
  let out = '';
  for (const segment of path) out += typeof segment === 'number' ? `[${segment}]` : out ? `.${segment}` : segment;
  return out;
}
