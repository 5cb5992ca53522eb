import type { Finding } from '../findings';
import type { Resource } from '../resource';
import type { SourceFile } from '../source/sourceFile';
import { admittedValue, locate } from '../source/tree';
import type { Check, CheckContext, WorkspaceView } from './check';
import { ALL_CHECKS } from './registry';

/** Runs every applicable check on one resource. A check that throws is reported, not fatal. */
export function runChecks(file: SourceFile, resource: Resource, workspace: WorkspaceView, checks: readonly Check[] = ALL_CHECKS, value = admittedValue(resource.node) as Record<string, unknown>): Finding[] {
  const findings: Finding[] = [];
  for (const check of checks) runCheck(check, file, resource, value, workspace, findings);
  return findings;
}

/** What one check found on one resource, and whether it read the workspace to find it. */
export interface TrackedCheck {
  check: Check;
  findings: Finding[];
  /** It read the workspace (or needs its inventory): for the same resource text, only such
   * checks can answer differently. */
  readsWorkspace: boolean;
}

/** `runChecks`, telling for each applicable check (in the same order) whether it looked at the
 * workspace, so that a caller keeping results per resource text re-runs only those. */
export function runChecksTracked(file: SourceFile, resource: Resource, workspace: WorkspaceView, value = admittedValue(resource.node) as Record<string, unknown>, checks: readonly Check[] = ALL_CHECKS): TrackedCheck[] {
  const result: TrackedCheck[] = [];
  let read = false;
  const view: WorkspaceView = {
    get resources() { read = true; return workspace.resources; },
    get inventory() { read = true; return workspace.inventory; },
    get config() { read = true; return workspace.config; },
    get sourceFiles() { read = true; return workspace.sourceFiles; },
    sourceFile(path) { read = true; return workspace.sourceFile(path); },
  };
  for (const check of checks) {
    if (check.mesh !== resource.mesh || !check.kinds.includes(resource.kind)) continue;
    read = false;
    const findings: Finding[] = [];
    runCheck(check, file, resource, value, view, findings);
    result.push({ check, findings, readsWorkspace: read });
  }
  return result;
}

function runCheck(check: Check, file: SourceFile, resource: Resource, value: Record<string, unknown>, workspace: WorkspaceView, findings: Finding[]): void {
  if (check.mesh !== resource.mesh || !check.kinds.includes(resource.kind)) return;
  if (check.needsInventory && !workspace.inventory.present) return;
  const context: CheckContext = {
    file, resource, value, workspace,
    locate: (path) => {
      const found = locate(resource.node, path);
      return { node: found.complete ? found.node : undefined, keySpan: found.complete ? found.keySpan : undefined };
    },
    report: (where, message, options) => {
      let span;
      if ('span' in where) span = where.span;
      else {
        const found = locate(resource.node, where.path);
        const node = found.node ?? resource.node;
        span = where.part === 'key' && found.keySpan ? found.keySpan : node.type === 'scalar' || !found.keySpan ? node.span : found.keySpan;
        if (node.type !== 'scalar' && !found.keySpan) span = { start: node.span.start, end: Math.min(node.span.end, file.lines.lineEnd(file.lines.position(node.span.start).line)) };
      }
      findings.push({
        file: file.path, range: file.lines.range(span), severity: options?.severity ?? check.defaultSeverity, code: check.code, message,
        documentIndex: resource.documentIndex, ...(options?.fixes?.length ? { fixes: options.fixes } : {}),
      });
    },
  };
  try {
    check.run(context);
  } catch (error) {
    findings.push({
      file: file.path, range: file.lines.range({ start: resource.node.span.start, end: resource.node.span.start }), severity: 'warning', code: check.code,
      message: `check ${check.code} failed on this resource: ${error instanceof Error ? error.message : String(error)}`,
      documentIndex: resource.documentIndex,
    });
  }
}
