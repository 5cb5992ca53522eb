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
  private readonly forms = new Map<string, { form: unknown; used: number }>();
  private generation = 0;
  private compiled = 0;
  private reused = 0;
  /** How many forms the last settled compile compiled, and how many it took over. */
  last = { compiled: 0, reused: 0 };

  get<T>(file: SourceFile, resource: Resource, variant: string, compile: () => T): T {
    const start = file.lines.position(resource.node.span.start);
    const key = `${file.path}\u0000${start.line}:${start.character}\u0000${variant}\u0000${textKey(file, resource)}`;
    const entry = this.forms.get(key);
    if (entry) {
      entry.used = this.generation;
      this.reused++;
      return entry.form as T;
    }
    const form = compile();
    this.compiled++;
    this.forms.set(key, { form, used: this.generation });
    return form;
  }

  /** Ends one compile: the forms it did not ask for go. */
  settle(): void {
    for (const [key, entry] of this.forms) if (entry.used !== this.generation) this.forms.delete(key);
    this.generation++;
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
