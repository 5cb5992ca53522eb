import { Engine } from '../engine';
import { MESH_DISPLAY_NAMES, MESHES, type Mesh } from '../meshes';
import type { SourceRef } from '../simulate/types';
import type { TrafficShape } from '../traffic/ingest/types';
import { plural } from '../audit/generate/evidence';
import { YamlWriter } from '../audit/generate/yaml';
import { checkTranslation, type CheckedCalls, type EquivalenceReport } from './check';
import { consulTranslator } from './consul';
import { istioTranslator } from './istio';
import { linkerdTranslator } from './linkerd';
import type { AccessModel, MeshResources, MeshTranslator, TranslationContext, TranslationNote, WrittenPolicies } from './model';
import { inServedVersions } from '../crds/adapt';

export const TRANSLATORS: Record<Mesh, MeshTranslator> = { istio: istioTranslator, linkerd: linkerdTranslator, consul: consulTranslator };

export const MESH_TITLES = MESH_DISPLAY_NAMES;

/** One source mesh's policies translated into the target mesh, with what was lost and the check. */
export interface Translation {
  from: Mesh;
  to: Mesh;
  /** Resources of the source mesh translated. */
  read: number;
  /** Resources of other files read with them because they refer to these (their targets). */
  referenced: number;
  model: AccessModel;
  written: WrittenPolicies;
  /** The reader's and the writer's notes, in source order. */
  notes: TranslationNote[];
  check: EquivalenceReport;
  /** The written YAML with a header comment: the source, the notes and the check. */
  yaml: string;
}

export interface TranslateOptions {
  /** Where the translation would be written (its resources are read back from there for the check). */
  path: string;
  /** Observed calls, decided by both meshes in the check. */
  observed?: readonly TrafficShape[];
  signal?: AbortSignal;
  /** Every resource of the workspace, when `resources` are some of them (a file's): what those
   * refer to in other files (a Linkerd policy's Server) is read from here, as the simulator would. */
  workspace?: MeshResources;
  /** How a file is named in comments (relative to the workspace). */
  displayPath?: (file: string) => string;
}

/**
 * Translates the policies of every mesh other than `to` found in `resources` (one translation
 * per source mesh), and checks each: the same calls decided under the original policies and
 * under the translation.
 */
export async function translatePolicies(resources: MeshResources, to: Mesh, context: TranslationContext, options: TranslateOptions): Promise<Translation[]> {
  const translations: Translation[] = [];
  // reads each translation back, as a file of the target mesh's resources, for the check
  const engine = new Engine();
  for (const from of MESHES) {
    if (from === to) continue;
    const own = resources.filter((r) => r.resource.mesh === from);
    if (own.length === 0) continue;
    const referenced = options.workspace ? TRANSLATORS[from].references?.(own, options.workspace) ?? [] : [];
    const readWith = [...own, ...referenced];
    const model = onlySelected(TRANSLATORS[from].read(readWith, context), own, referenced);
    const draft = TRANSLATORS[to].write(model, context);
    // In versions the cluster's CRDs serve, and what they would not take said at the top.
    const served = inServedVersions(draft.yaml, context.inventory.crds);
    const written = { ...draft, yaml: served.notes.map((note) => `# Cluster CRDs: ${note}\n`).join('') + served.yaml };
    // read back as YAML whatever the output's name (an --output ending in .json held the YAML)
    const file = engine.read(options.path, written.yaml, 'yaml');
    const targetResources = engine.prepare(file).recognition.resources.map((resource) => ({ file, resource }));
    const check = await checkTranslation({
      source: { mesh: from, resources: readWith }, target: { mesh: to, resources: targetResources }, model, context,
      ...(options.observed ? { observed: options.observed } : {}), ...(options.signal ? { signal: options.signal } : {}),
      ...(options.workspace ? { governedOnly: true } : {}),
    });
    const displayPath = options.displayPath ?? ((f: string) => f);
    // the writers' comments and some notes name the source files: shown as the header shows places
    const renamed = [...new Set(readWith.map((r) => r.file.path))].filter((path) => displayPath(path) !== path);
    const shown = (text: string): string => {
      for (const path of renamed) if (text.includes(path)) text = text.split(path).join(displayPath(path));
      return text;
    };
    const notes = [...model.notes, ...written.notes].sort(bySource).map((n) => ({ ...n, text: shown(n.text) }));
    const translation = { from, to, read: own.length, referenced: referenced.length, model, written, notes, check, yaml: '' };
    translation.yaml = translationHeader(translation, displayPath) + shown(written.yaml);
    translations.push(translation);
  }
  return translations;
}

/**
 * The protections of a model read with referenced resources, without those that come from a
 * referenced file and carry no rule of the selected ones (a wildcard Consul entry's own): the
 * referenced resources are read for what the selected ones mean, not translated for themselves.
 */
function onlySelected(model: AccessModel, selected: MeshResources, referenced: MeshResources): AccessModel {
  if (!referenced.length) return model;
  const chosen = new Set(selected.map((r) => r.file.path));
  const others = new Set(referenced.map((r) => r.file.path).filter((path) => !chosen.has(path)));
  const keep = (p: AccessModel['protections'][number]) => !others.has(p.origin.file) || p.rules.some((r) => chosen.has(r.origin.file));
  return { ...model, protections: model.protections.filter(keep) };
}

function bySource(a: TranslationNote, b: TranslationNote): number {
  const x = a.at;
  const y = b.at;
  if (x.file !== y.file) return x.file < y.file ? -1 : 1;
  return x.range.start.line - y.range.start.line || x.range.start.character - y.range.start.character;
}

/** `file:line` of a ref (1-based line). */
export function placeOf(ref: SourceRef, displayPath: (file: string) => string): string {
  return `${displayPath(ref.file)}:${ref.range.start.line + 1}`;
}

/** Notes listed in the header (all of them are in the JSON). */
const MAX_NOTES_SHOWN = 200;

const EFFECTS: Record<TranslationNote['effect'], string> = { narrower: 'allows less', wider: 'allows more', same: 'same decisions', unknown: 'depends' };

/** The lines that say what a translation lost and how its check went (the YAML's header, the CLI's stderr). */
export function translationLines(t: Translation, displayPath: (file: string) => string): string[] {
  const lines: string[] = [];
  const withReferenced = t.referenced ? ` (read with ${plural(t.referenced, 'resource')} of other files they refer to)` : '';
  lines.push(`${MESH_TITLES[t.to]} policies translated by mesh-policy translate from ${plural(t.read, `${MESH_TITLES[t.from]} resource`)}${withReferenced}: ${plural(t.written.resources, 'resource')} written.`);
  if (t.written.resources === 0) lines.push(`Nothing was written: no policy read could be carried${t.notes.length ? '; the notes below say why for each' : ''}.`);
  if (t.notes.length) {
    lines.push(`Not carried exactly (${plural(t.notes.length, 'note')}; docs/translate.md):`);
    for (const note of t.notes.slice(0, MAX_NOTES_SHOWN)) lines.push(`  ${placeOf(note.at, displayPath)} ${note.at.label}: ${EFFECTS[note.effect]}: ${note.text}`);
    if (t.notes.length > MAX_NOTES_SHOWN) lines.push(`  ... and ${(t.notes.length - MAX_NOTES_SHOWN).toLocaleString('en-US')} more (--format json lists them all)`);
  } else lines.push('Every rule was carried exactly.');
  lines.push(...checkLines('probe call', 'probe calls made from the policies', t.check.probes, t));
  if (t.check.observed) {
    lines.push(...checkLines('observed call', 'observed calls', t.check.observed, t));
    for (const s of t.check.observed.skipped) lines.push(`  ${plural(s.calls, 'observed call')} not compared: ${s.why}`);
  }
  return lines;
}

function checkLines(one: string, what: string, calls: CheckedCalls, t: Translation): string[] {
  const from = MESH_TITLES[t.from];
  const to = MESH_TITLES[t.to];
  const undecided = calls.undecided ? `; ${plural(calls.undecided, one)} left undecided by one of them (not compared)` : '';
  const why = calls.undecidedBecause.map((u) => `  left undecided: ${plural(u.calls, one)}: ${u.reason}`);
  if (calls.decided === 0 && calls.undecided > 0) return [`Check: no ${one} could be compared (${what}): ${plural(calls.undecided, one)} left undecided by one of the simulators:`, ...why];
  if (calls.differing === 0) return [`Check: ${from}'s and ${to}'s simulators decide all ${plural(calls.decided, one)} alike (${what})${undecided}.`, ...why];
  const lines = [`Check: ${from}'s and ${to}'s simulators decide ${plural(calls.differing, one)} of ${calls.decided.toLocaleString('en-US')} differently (${what})${undecided}:`];
  for (const d of calls.differ.slice(0, 20)) {
    lines.push(`  ${d.call}${d.calls > 1 ? ` (${plural(d.calls, 'call')})` : ''}: ${from} ${d.source.verdict}, ${to} ${d.target.verdict}`);
    lines.push(`    ${from}: ${d.source.reason}`);
    lines.push(`    ${to}: ${d.target.reason}`);
  }
  if (calls.differ.length > 20 || calls.differing > calls.differ.length) lines.push(`  ... and more (--format json lists up to ${calls.differ.length})`);
  return [...lines, ...why];
}

function translationHeader(t: Translation, displayPath: (file: string) => string): string {
  const w = new YamlWriter();
  for (const line of translationLines(t, displayPath)) w.comment(0, line);
  return w.toString();
}

export { MISSING_TARGET } from './linkerd/read';
export type { AccessModel, TranslationNote, WrittenPolicies } from './model';
export type { EquivalenceReport } from './check';
