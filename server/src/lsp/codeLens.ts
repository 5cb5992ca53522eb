import type { CodeLens } from 'vscode-languageserver';
import type { LintResult } from '../engine/engine';
import type { TrafficInsight } from '../engine/insight/trafficInsight';

export const SHOW_TRAFFIC_COMMAND = 'meshPolicy.showTrafficForPolicy';

/** A lens above every policy and rule: the observed calls it decides. Clicking lists them. */
export function codeLenses(result: LintResult, insight: TrafficInsight | undefined): CodeLens[] {
  if (!insight) return [];
  return insight.lenses(result.file.path).map((lens) => ({
    range: lens.item.head,
    command: { title: lens.title, command: SHOW_TRAFFIC_COMMAND, arguments: [{ file: lens.item.file, offset: lens.item.span.start }] },
  }));
}
