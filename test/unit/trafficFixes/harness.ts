import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { headersTestedBy } from '../../../server/src/engine/simulate/testedHeaders';
import { defaultConfig, type ProjectConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { Simulation, simulateShapes, type ShapeOutcome } from '../../../server/src/engine/simulate';
import type { Verdict } from '../../../server/src/engine/simulate/types';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import { ingestTraffic } from '../../../server/src/engine/traffic/ingest';
import type { TrafficShape } from '../../../server/src/engine/traffic/ingest/types';
import { fixContext, workspaceWithFix, type FixContext, type TrafficFix } from '../../../server/src/engine/trafficFixes';
import { applyEdits } from '../../../server/src/engine/fixAll';
import { collectPolicyFiles } from '../../../server/src/engine/workspaceFiles';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { EXAMPLES } from '../../helpers/paths';

export const engine = new Engine();

export interface Loaded {
  workspace: WorkspaceModel;
  outcomes: ShapeOutcome[];
  context: FixContext;
}

function workspaceOf(files: Record<string, string>, config: ProjectConfig): WorkspaceModel {
  const workspace = new WorkspaceModel(config);
  for (const [path, text] of Object.entries(files)) workspace.update(engine.prepare(engine.read(path, text)));
  return workspace;
}

/** An example workspace (policy folders under examples/<mesh>) with its traffic; `edit` may change a file's text first (to take out a deliberate mistake). */
export async function loadExample(mesh: string, folders: string[], edit?: (path: string, text: string) => string): Promise<Loaded> {
  const files: Record<string, string> = {};
  for (const path of collectPolicyFiles(folders.map((f) => join(EXAMPLES, mesh, f))).files) {
    const text = readFileSync(path, 'utf8');
    files[path] = edit ? edit(path, text) : text;
  }
  const workspace = workspaceOf(files, defaultConfig(join(EXAMPLES, mesh)));
  const model = await ingestTraffic([join(EXAMPLES, mesh, 'traffic')], { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
  return loaded(workspace, model.shapes);
}

/** A workspace of inline files and calls. */
export function loadInline(files: Record<string, string>, calls: AccessRecord[], config: ProjectConfig = defaultConfig('/ws')): Loaded {
  const workspace = workspaceOf(files, config);
  const shapes: TrafficShape[] = calls.map((record, i) => ({ key: String(i), record, count: record.count ?? 1, samples: [], sourceBy: {}, destinationBy: {}, joined: 0 }));
  return loaded(workspace, shapes);
}

function loaded(workspace: WorkspaceModel, shapes: TrafficShape[]): Loaded {
  const outcomes = simulateShapes(new Simulation(workspace), shapes).outcomes;
  return { workspace, outcomes, context: fixContext({ workspace, outcomes, engine }) };
}

export interface Applied {
  before: string;
  after: string;
  verdicts: Verdict[];
  outcomes: ShapeOutcome[];
}

/**
 * Applies the fix for real: writes the new text, reads the workspace again from it, and decides
 * every call again. Also checks that the edit only inserted or replaced text: every line of the
 * old file is still there, in order, except the ones the edits touched.
 */
export function apply(l: Loaded, fix: TrafficFix): Applied {
  const file = l.workspace.sourceFile(fix.file);
  assert.ok(file, `fix edits a file of the workspace: ${fix.file}`);
  const after = applyEdits(file, fix.edits);
  assertMinimal(file.text, after, fix);
  const reread = engine.read(fix.file, after);
  assert.equal(reread.problems.length + reread.documents.reduce((n, d) => n + d.problems.filter((p) => p.severity === 'error').length, 0), 0, `the edited file parses:\n${after}`);
  const workspace = workspaceWithFix(engine, l.workspace, file, fix);
  const simulation = new Simulation(workspace);
  const verdicts = l.outcomes.map((o) => simulation.decide(o.shape.record).verdict);
  return { before: file.text, after, verdicts, outcomes: l.outcomes };
}

function assertMinimal(before: string, after: string, fix: TrafficFix): void {
  const touched = fix.edits.reduce((n, e) => n + (e.range.end.line - e.range.start.line + 1), 0);
  const oldLines = before.split('\n');
  const newLines = new Set(after.split('\n'));
  const missing = oldLines.filter((line) => !newLines.has(line));
  assert.ok(missing.length <= touched, `only the edited lines change; gone: ${JSON.stringify(missing)}`);
  // Byte-level: text before the first edit and after the last edit is untouched.
  const starts = fix.edits.map((e) => e.range.start.line);
  const firstLine = Math.min(...starts);
  assert.equal(after.split('\n').slice(0, firstLine).join('\n'), oldLines.slice(0, firstLine).join('\n'));
  for (const comment of before.split('\n').filter((l) => /^\s*#/.test(l))) assert.ok(after.includes(comment), `comment kept: ${comment}`);
}

/** The calls whose verdict changed, as [index, before, after]. */
export function changes(l: Loaded, applied: Applied): [number, Verdict, Verdict][] {
  return applied.verdicts.flatMap((v, i) => (v !== l.outcomes[i]!.decision.verdict ? [[i, l.outcomes[i]!.decision.verdict, v] as [number, Verdict, Verdict]] : []));
}

export function find(l: Loaded, predicate: (o: ShapeOutcome) => boolean): ShapeOutcome {
  const found = l.outcomes.filter(predicate).sort((a, b) => b.shape.count - a.shape.count)[0];
  assert.ok(found, 'the example traffic has such a call');
  return found;
}

export function lineOf(text: string, needle: string, from = 0): number {
  const offset = text.indexOf(needle, from);
  assert.ok(offset >= 0, `text contains ${needle}`);
  return text.slice(0, offset).split('\n').length - 1;
}

export function rangeAt(text: string, needle: string, after?: string): { start: { line: number; character: number }; end: { line: number; character: number } } {
  const from = after ? text.indexOf(after) : 0;
  const offset = text.indexOf(needle, from);
  assert.ok(offset >= 0, `text contains ${needle}`);
  const line = text.slice(0, offset).split('\n').length - 1;
  const character = offset - (text.lastIndexOf('\n', offset - 1) + 1);
  return { start: { line, character }, end: { line, character: character + needle.length } };
}
