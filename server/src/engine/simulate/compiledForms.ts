import type { Resource } from '../resource';
import { sameText } from '../resourceValue';
import { installedCrdVariant } from '../crds/stored';
import type { SourceFile } from '../source/sourceFile';
import type { SourceRef } from './types';

/** A resource whose form was taken over at another line (`CompiledForms.get` with `move`). */
export interface MovedForm {
  path: string;
  /** The line the resource started on, and starts on now. */
  from: number;
  to: number;
}

/**
 * The compiled forms of single resources, kept from one compile of a mesh to the next, so that
 * after an edit only the resources whose text or place changed are compiled again. A form is
 * found by the resource's file, start (line and character) and exact text (or the resource of
 * the cached parse it was placed from), plus whatever else the mesh's compile of one resource reads (`variant`, e.g. the trust domains, and what the installed CRDs dropped or refused of it): a compiled form
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
  private moved: MovedForm[] = [];
  /** How many forms the last settled compile compiled, and how many it took over; which it took over from another line. */
  last: { compiled: number; reused: number; moved: readonly MovedForm[] } = { compiled: 0, reused: 0, moved: [] };

  /**
   * The form of `resource`: the one kept for its text at its place, else a new one from `compile`.
   * With `move` (which moves whatever lines the form holds by a number of lines), a resource that
   * only moved to another line (the same text, file, column and variant, and no other resource of
   * that text there) takes over its form, moved by the lines it moved: decisions made with the
   * form name the new place without being made again (`movingRefs`).
   */
  get<T>(file: SourceFile, resource: Resource, meshVariant: string, compile: () => T, move?: (form: T, lines: number) => void): T {
    const variant = meshVariant + installedCrdVariant(resource);
    const { line, character } = file.lines.position(resource.node.span.start);
    const text = textOf(file, resource);
    const entries = this.forms.get(text);
    const found = entries && this.find(entries, file.path, line, character, variant, move !== undefined);
    if (found) {
      if (found.line !== line) {
        move!(found.form as T, line - found.line);
        this.moved.push({ path: file.path, from: found.line, to: line });
        found.line = line;
      }
      found.used = this.generation;
      this.reused++;
      return found.form as T;
    }
    const form = compile();
    this.compiled++;
    const entry: FormEntry = { path: file.path, line, character, variant, form, used: this.generation };
    if (entries) entries.push(entry);
    else this.forms.set(text, [entry]);
    return form;
  }

  /**
   * The form `get` with a `move` would give `resource` without compiling it, and by how many lines
   * it would move it (0: kept at its place); nothing is taken over. For a compile that must look
   * at the forms before it knows whether one that moved may be taken over.
   */
  peek<T>(file: SourceFile, resource: Resource, meshVariant: string): { form: T; lines: number } | undefined {
    const variant = meshVariant + installedCrdVariant(resource);
    const { line, character } = file.lines.position(resource.node.span.start);
    const entries = this.forms.get(textOf(file, resource));
    const found = entries && this.find(entries, file.path, line, character, variant, true);
    return found ? { form: found.form as T, lines: line - found.line } : undefined;
  }

  /** The entry of a text at this place, else (`movable`) the one entry of the text elsewhere in the file, not yet taken this compile. */
  private find(entries: readonly FormEntry[], path: string, line: number, character: number, variant: string, movable: boolean): FormEntry | undefined {
    for (const entry of entries) {
      if (entry.line === line && entry.character === character && entry.path === path && entry.variant === variant) return entry;
    }
    if (!movable) return undefined;
    const other = onlyOther(entries, path, character, variant);
    return other && other.used !== this.generation ? other : undefined;
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
    this.last = { compiled: this.compiled, reused: this.reused, moved: this.moved };
    this.compiled = 0;
    this.reused = 0;
    this.moved = [];
  }
}

/** What forms are kept by: the resource of the cached parse it was placed from, else its text. */
function textOf(file: SourceFile, resource: Resource): Resource | string {
  const same = sameText(resource);
  return same === resource ? file.text.slice(resource.node.span.start, resource.node.span.end) : same;
}

/** The one entry of a text in `path` at `character` with `variant`, when there is exactly one. */
function onlyOther(entries: readonly FormEntry[], path: string, character: number, variant: string): FormEntry | undefined {
  let found: FormEntry | undefined;
  for (const entry of entries) {
    if (entry.path !== path || entry.character !== character || entry.variant !== variant) continue;
    if (found) return undefined;
    found = entry;
  }
  return found;
}

/** The `move` of `CompiledForms.get` for a form whose lines are the source refs `refsOf` lists: they move in place. */
export function movingRefs<T>(refsOf: (form: T) => Iterable<SourceRef>): (form: T, lines: number) => void {
  return (form, lines) => moveRefs(refsOf(form), lines);
}

/** Moves refs by `lines` in place; ranges and positions shared by several refs move once. */
function moveRefs(refs: Iterable<SourceRef>, lines: number): void {
  const seen = new Set<object>();
  const move = (position: { line: number }): void => {
    if (seen.has(position)) return;
    seen.add(position);
    position.line += lines;
  };
  for (const ref of refs) {
    for (const range of ref.focus ? [ref.range, ref.focus] : [ref.range]) {
      if (seen.has(range)) continue;
      seen.add(range);
      move(range.start);
      move(range.end);
    }
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
