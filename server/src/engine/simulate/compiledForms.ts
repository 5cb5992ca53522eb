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
  /** By the resource's text: the resource of the cached parse it was placed from (`sameText`),
   * which stands for that text without hashing it, or else the exact text. */
  private readonly forms = new Map<Resource | string, FormEntry[]>();
  private generation = 0;
  private compiled = 0;
  private reused = 0;
  /** How many forms the last settled compile compiled, and how many it took over. */
  last = { compiled: 0, reused: 0 };

  get<T>(file: SourceFile, resource: Resource, variant: string, compile: () => T): T {
    const { line, character } = file.lines.position(resource.node.span.start);
    const same = sameText(resource);
    const text = same === resource ? file.text.slice(resource.node.span.start, resource.node.span.end) : same;
    const entries = this.forms.get(text);
    if (entries) {
      for (const entry of entries) {
        if (entry.line !== line || entry.character !== character || entry.path !== file.path || entry.variant !== variant) continue;
        entry.used = this.generation;
        this.reused++;
        return entry.form as T;
      }
    }
    const form = compile();
    this.compiled++;
    const entry: FormEntry = { path: file.path, line, character, variant, form, used: this.generation };
    if (entries) entries.push(entry);
    else this.forms.set(text, [entry]);
    return form;
  }

  /** Ends one compile: the forms it did not ask for go. */
  settle(): void {
    for (const [text, entries] of this.forms) {
      let kept = 0;
      for (const entry of entries) if (entry.used === this.generation) entries[kept++] = entry;
      if (kept === 0) this.forms.delete(text);
      else entries.length = kept;
    }
    this.generation++;
    this.last = { compiled: this.compiled, reused: this.reused };
    this.compiled = 0;
    this.reused = 0;
  }
}

/** A compiled form and where its resource was: file, start, and what else the compile read. */
interface FormEntry {
  path: string;
  line: number;
  character: number;
  variant: string;
  form: unknown;
  used: number;
}
