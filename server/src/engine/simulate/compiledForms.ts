import type { Resource } from '../resource';
import { sameText } from '../resourceValue';
import type { SourceFile } from '../source/sourceFile';

/**
 * The compiled forms of single resources, kept from one compile of a mesh to the next, so that
 * after an edit only the resources whose text or place changed are compiled again. A form is
 * found by the resource's file, start (line and character) and exact text (or the resource of
 * the cached parse it was placed from), plus whatever else the mesh's compile of one resource reads (`variant`, e.g. the trust domains): a compiled form
 * holds positions (line/character ranges) measured from the resource's start, so the same text
 * starting at the same place compiles to the same form. Forms must not depend on other
 * resources, and may be shared by several compiles (their lazily built parts included).
 *
 * Each compile asks for every resource it needs; `settle()` at its end drops the forms it did
 * not ask for, so the memory held is that of one compile.
 */
export class CompiledForms {
  private kept = new Map<string, unknown>();
  private used = new Map<string, unknown>();
  private compiled = 0;
  private reused = 0;
  /** How many forms the last settled compile compiled, and how many it took over. */
  last = { compiled: 0, reused: 0 };

  get<T>(file: SourceFile, resource: Resource, variant: string, compile: () => T): T {
    const span = resource.node.span;
    const start = file.lines.position(span.start);
    const key = `${file.path}\u0000${start.line}:${start.character}\u0000${variant}\u0000${textKey(file, resource)}`;
    let form = this.used.get(key) ?? this.kept.get(key);
    if (form === undefined) {
      form = compile();
      this.compiled++;
    } else {
      this.reused++;
    }
    this.used.set(key, form);
    return form as T;
  }

  /** Ends one compile: the forms it did not ask for go. */
  settle(): void {
    this.kept = this.used;
    this.used = new Map();
    this.last = { compiled: this.compiled, reused: this.reused };
    this.compiled = 0;
    this.reused = 0;
  }
}

const textIds = new WeakMap<Resource, number>();
let nextTextId = 0;

/** The resource's exact text, or for a resource placed from the YAML cache a short stand-in: the
 * resource recognized in its cached parse (`sameText`), which stands for that text. */
function textKey(file: SourceFile, resource: Resource): string {
  const same = sameText(resource);
  if (same === resource) return `\u0000${file.text.slice(resource.node.span.start, resource.node.span.end)}`;
  let id = textIds.get(same);
  if (id === undefined) textIds.set(same, (id = nextTextId++));
  return `\u0001${id}`;
}
