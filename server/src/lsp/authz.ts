import type { CodeLens, Connection } from 'vscode-languageserver';
import { fewNames, listingHeading, listingMarkdown, unknownText, type WorkspaceAuthz } from '../engine/authz';
import { accessMarkdown, parseAccessRequest, type AccessFilter, type AccessMap } from '../engine/access';
import type { WorkspaceAccess } from '../engine/access/workspaceAccess';
import type { LintResult } from '../engine/engine';
import { Pace } from '../engine/pace';
import { resourceAt } from '../engine/resourceAt';
import { answer } from './cancellation';

/** The client command a workload's lens runs: its argument is the workload's `namespace/name`. */
export const SHOW_POLICIES_COMMAND = 'meshPolicy.showPoliciesForWorkload';

export const AuthzRequests = {
  /** `{target: 'namespace/name'}` → the markdown listing of the policies that apply to it (docs/authz.md). */
  policiesFor: 'meshPolicy/policiesForWorkload',
  /** → `{target, kind, file}[]`: the inventory's workloads, for the command's picker. */
  workloads: 'meshPolicy/workloads',
  /** `{from?, to?, request?}` (request: `[METHOD] [/path]`) → the markdown access map of the workspace (docs/access-map.md). */
  accessMap: 'meshPolicy/accessMap',
  /** `{text}` → what is wrong with it as the map's request (`[METHOD] [/path]`), or null: the command's input validation. */
  checkAccessRequest: 'meshPolicy/checkAccessRequest',
} as const;

/** The client command an access lens runs: its argument is `{to: 'namespace/name'}`. */
export const SHOW_ACCESS_MAP_COMMAND = 'meshPolicy.showAccessMap';

/**
 * Lenses per mesh above each workload object of the file: which policies apply there, and, with
 * `access`, who may call it by port (docs/access-map.md).
 */
export async function workloadLenses(result: LintResult, authz: WorkspaceAuthz, signal: AbortSignal, access?: WorkspaceAccess): Promise<CodeLens[]> {
  const lenses: CodeLens[] = [];
  const pace = new Pace(signal);
  for (const { workload, target, headlines } of await authz.headlines(result.file.path, pace)) {
    const at = result.file.lines.position(workload.span.start);
    const range = { start: at, end: at };
    for (const title of headlines) lenses.push({ range, command: { title, command: SHOW_POLICIES_COMMAND, arguments: [target] } });
    signal.throwIfAborted();
    for (const title of await access?.headlines(workload.namespace, workload.name, pace) ?? []) lenses.push({ range, command: { title, command: SHOW_ACCESS_MAP_COMMAND, arguments: [{ to: target }] } });
  }
  return lenses;
}

/**
 * On what a policy attaches by: the inventory's workloads it applies to (a few, then how many
 * more). Gives the event loop turns while it lists them, and stops once `signal` is aborted.
 */
export async function appliesToText(result: LintResult, authz: WorkspaceAuthz, offset: number, signal: AbortSignal): Promise<string | undefined> {
  const resource = resourceAt(result.file, result.resources, offset);
  const names = resource && await authz.appliesTo(result.file, resource, offset, new Pace(signal));
  if (!names) return undefined;
  if (!names.length) return 'Applies to: no workload of the inventory';
  const shown = fewNames(names.map((n) => `\`${n}\``), 5, (more) => `and ${more} more`);
  return `Applies to: ${shown} (${names.length} ${names.length === 1 ? 'workload' : 'workloads'})`;
}

interface Hooks {
  /** The listings of the workspace's current state, or a reason there are none (an untrusted workspace). */
  authz(): WorkspaceAuthz | string;
  /** A path as the user reads it (relative to the workspace folder). */
  displayPath(path: string): string;
  /** The access map of the workspace as edited, or a reason there is none (an untrusted workspace); built in slices that stop once `pace`'s signal is aborted. */
  accessMap(filter: AccessFilter, pace: Pace): Promise<AccessMap | string>;
}

export function registerAuthzRequests(connection: Connection, hooks: Hooks): void {
  connection.onRequest(AuthzRequests.checkAccessRequest, (params: { text?: unknown } | null) => {
    const text = typeof params?.text === 'string' ? params.text.trim() : '';
    const request = text === '' ? undefined : parseAccessRequest(text);
    return typeof request === 'string' ? `The request ${request}` : null;
  });
  connection.onRequest(AuthzRequests.accessMap, (params: { from?: unknown; to?: unknown; request?: unknown } | null, token) => answer(token, async (signal) => {
    const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
    const from = text(params?.from);
    const to = text(params?.to);
    const asked = text(params?.request);
    const request = asked === undefined ? undefined : parseAccessRequest(asked);
    if (typeof request === 'string') return `The request ${request}.`;
    const map = await hooks.accessMap({ ...(from ? { from } : {}), ...(to ? { to } : {}), ...(request ? { request } : {}) }, new Pace(signal));
    return typeof map === 'string' ? map : accessMarkdown(map, hooks.displayPath, { links: false });
  }));
  connection.onRequest(AuthzRequests.policiesFor, (params: { target?: unknown } | null, token) => answer(token, () => {
    const authz = hooks.authz();
    if (typeof authz === 'string') return authz;
    const target = typeof params?.target === 'string' ? params.target : '';
    const slash = target.indexOf('/');
    if (slash <= 0 || slash === target.length - 1) return `No workload was given (\`namespace/name\`): run **Mesh Policy: Show Policies for Workload...** to pick one.`;
    const { listings, unknown } = authz.list({ namespace: target.slice(0, slash), name: target.slice(slash + 1) });
    if (!listings.length && unknown.length) return `${listingHeading(target)}\n\n${unknownText(target, unknown)}.\n`;
    // (no links: VS Code's markdown preview renders no file: link, it showed the markdown source)
    return listingMarkdown(target, listings, { rel: hooks.displayPath });
  }));
  connection.onRequest(AuthzRequests.workloads, (_params: unknown, token) => answer(token, () => {
    const authz = hooks.authz();
    if (typeof authz === 'string') return [];
    return authz.workloads().map((w) => ({ target: `${w.namespace}/${w.name}`, kind: w.kind, file: hooks.displayPath(w.file) }));
  }));
}
