import type { Finding } from '../findings';
import type { Resource } from '../resource';
import type { SourceFile } from '../source/sourceFile';
import { locate } from '../source/tree';
import type { Check, CheckContext, WorkspaceFact, WorkspaceView } from './check';
import { factValue } from './facts';
import { allChecks } from './registry';
import { resourceValue } from '../resourceValue';

/** Runs every applicable check on one resource. A check that throws is reported, not fatal. */
export function runChecks(file: SourceFile, resource: Resource, workspace: WorkspaceView, checks: readonly Check[] = allChecks(), value = resourceValue(resource)): Finding[] {
  const findings: Finding[] = [];
  for (const check of checks) runCheck(check, file, resource, value, workspace, findings);
  return findings;
}

/** What one check found on one resource, and which parts of the workspace it read to find it. */
export interface TrackedCheck {
  check: Check;
  findings: Finding[];
  /** It read the workspace (or needs its inventory): for the same resource text, only such
   * checks can answer differently. */
  readsWorkspace: boolean;
  /** It read the resources or the files of the workspace (which change with every edit). */
  readsFiles: boolean;
  /** The inventory and configuration objects it saw, if it read them: while the workspace
   * hands out the same objects, the check answers the same (for the same resource text). */
  inventory: WorkspaceView['inventory'] | undefined;
  config: WorkspaceView['config'] | undefined;
  /** The facts it read (`readFact`) and the values it saw. */
  facts: [WorkspaceFact<unknown>, unknown][];
}

/** `runChecks`, telling for each applicable check (in the same order) whether it looked at the
 * workspace, so that a caller keeping results per resource text re-runs only those. */
export function runChecksTracked(file: SourceFile, resource: Resource, workspace: WorkspaceView, value = resourceValue(resource), checks: readonly Check[] = allChecks()): TrackedCheck[] {
  const result: TrackedCheck[] = [];
  let files = false;
  let inventory: WorkspaceView['inventory'] | undefined;
  let config: WorkspaceView['config'] | undefined;
  let facts: [WorkspaceFact<unknown>, unknown][] = [];
  const view: WorkspaceView = {
    get resources() { files = true; return workspace.resources; },
    get inventory() { return (inventory = workspace.inventory); },
    get config() { return (config = workspace.config); },
    get sourceFiles() { files = true; return workspace.sourceFiles; },
    sourceFile(path) { files = true; return workspace.sourceFile(path); },
    fact<T>(fact: WorkspaceFact<T>): T {
      const value = factValue(workspace, fact);
      // A fact read again in the same run (the probes of another workload of the same file) is recorded once.
      if (!fact.index && !facts.some(([known]) => known === fact)) facts.push([fact as WorkspaceFact<unknown>, value]);
      return value;
    },
  };
  for (const check of checks) {
    if (check.mesh !== resource.mesh || !check.kinds.includes(resource.kind)) continue;
    files = false;
    inventory = undefined;
    config = undefined;
    facts = [];
    const findings: Finding[] = [];
    runCheck(check, file, resource, value, view, findings);
    const readsWorkspace = files || inventory !== undefined || config !== undefined || facts.length > 0;
    result.push({ check, findings, readsWorkspace, readsFiles: files, inventory, config, facts });
  }
  return result;
}

/** Whether a check tracked on this resource text would answer the same in `workspace` now. */
export function stillValid(tracked: TrackedCheck, workspace: WorkspaceView): boolean {
  if (!tracked.readsWorkspace) return true;
  if (tracked.readsFiles) return false;
  return (tracked.config === undefined || tracked.config === workspace.config) && (tracked.inventory === undefined || tracked.inventory === workspace.inventory)
    && tracked.facts.every(([fact, value]) => factValue(workspace, fact) === value);
}

/** The findings reported with `defer` (`CheckContext.report`): the lint leaves each out where another error of its resource starts at the same position. */
export const deferringFindings = new WeakSet<Finding>();

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
      const finding: Finding = {
        file: file.path, range: file.lines.range(span), severity: options?.severity ?? check.defaultSeverity, code: check.code, message,
        documentIndex: resource.documentIndex, ...(options?.fixes?.length ? { fixes: options.fixes } : {}), ...(options?.related?.length ? { related: options.related } : {}),
      };
      if (options?.defer) deferringFindings.add(finding);
      findings.push(finding);
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
