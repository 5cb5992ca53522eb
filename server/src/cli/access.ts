import { resolve } from 'node:path';
import { accessAgainstTraffic, accessMap, accessMarkdown, accessText, cellWhy, observedCallers, changesMarkdown, changesText, compareAccess, type AccessChange, type AccessFilter, type AccessMap, parseAccessRequest } from '../engine/access';
import { BaselineError, baselineWorkspace, readFilesAtRef } from '../engine/baseline';
import { MESHES, type Mesh } from '../engine/meshes';
import { Simulation } from '../engine/simulate';
import type { SourceRef } from '../engine/simulate/types';
import { collectPolicyFiles } from '../engine/workspaceFiles';
import { MESH_NAME } from '../engine/authz';
import { isObjectName } from '../engine/traffic/writtenCall';
import { ArgCursor } from './args';
import { githubCommand, githubLocation, githubRoot, physicalLocation, sarifLog, type SarifRule } from './output';
import { VERSION } from '../version';
import { commandFailure, HelpRequested, reportMissing, UsageError } from './errors';
import type { CliIo } from './main';
import { loadWorkspace } from './simulate';
import { displayPath, readProblems, readSource, trafficUnread } from './traffic';
import { FileTrafficSource } from '../engine/traffic/sources';
import type { TrafficModel } from '../engine/traffic/ingest/types';

export const ACCESS_USAGE = `Usage: mesh-policy access --policies <paths> [options]

access maps who may call whom by the policies alone, before any traffic (docs/access-map.md):
every caller identity of the inventory (Istio and Linkerd service accounts of the workloads in
the mesh, Consul services) and a caller with none (-, plaintext), against every destination port,
each decided by the mesh's simulator as a call that carries nothing yet known of a request. A
verdict that turns on the request (method, path, headers, token) says "depends" and names what.
With --baseline it compares with the policies at a git ref: the access each change opens or closes.

Options:
  --policies <paths>           Policy files or folders (several after the option, repeated, or
                               separated with commas).
  --inventory <paths>          Kubernetes manifests or kubectl dumps (default: the policy paths).
  --traffic <paths>            Access logs: each cell also says how many calls the logs show, and the
                               summary lists the allowed cells no call used (least-privilege candidates).
  --from <ns | ns/name | ->    Only these callers: a namespace, one identity, or - (no identity).
  --to <ns | ns/name>          Only these destinations: a namespace or one workload (Consul: service).
                               --from and --to are given once each; --mesh may be repeated.
  --mesh istio|linkerd|consul  Only this mesh (default: every mesh with policies).
  --request '[METHOD] [/path]' Decide every cell for this request (e.g. 'DELETE /admin'): who may send
                               it where. Headers and token stay unknown.
  --baseline <git ref>         Also map the policies as they were at the ref (the inventory as it is
                               now) and list the calls each change opened or closed.
  --fail-on-new-access         With --baseline: exit 1 when a change opens access (deny → allow,
                               deny → depends, depends → allow), as a gate in CI.
  --config <file>              .meshpolicy.yaml (default: the nearest one above the current folder).
  --format text|json|md|github|sarif
                               Per destination the callers by verdict (default); the whole map as
                               JSON; Markdown tables, for a pull request comment; github (with
                               --baseline): one GitHub Actions annotation per change, on the policy
                               that decides it now (opened: a warning, an error with
                               --fail-on-new-access; closed or changed: a notice); sarif (with
                               --baseline): the same changes as SARIF 2.1.0 results, for code
                               scanning (rules access/opened, access/closed, access/changed).

Exit codes: 0 mapped, 1 --fail-on-new-access and access opened, 2 usage error, unreadable input,
or a --baseline that is not a git ref of the repository holding the policies.`;

interface AccessArgs {
  policies: string[];
  inventory: string[];
  traffic: string[];
  config?: string;
  baseline?: string;
  failOnNewAccess: boolean;
  filter: AccessFilter;
  format: AccessFormat;
}

const FORMATS = ['text', 'json', 'md', 'github', 'sarif'] as const;
type AccessFormat = typeof FORMATS[number];

/** `--from` and `--to` name one namespace or identity: a second would otherwise replace the first unsaid. */
function once<T>(flag: string, before: T | undefined, value: T): T {
  if (before !== undefined) throw new UsageError(`${flag} takes one namespace or name: give it once`);
  return value;
}

function parse(args: string[]): AccessArgs {
  const parsed: AccessArgs = { policies: [], inventory: [], traffic: [], failOnNewAccess: false, filter: {}, format: 'text' };
  for (const cli = new ArgCursor(args); cli.next();) {
    switch (cli.flag) {
      case '--help': case '-h': throw new HelpRequested();
      case '--policies': parsed.policies.push(...cli.list()); break;
      case '--inventory': parsed.inventory.push(...cli.list()); break;
      case '--traffic': parsed.traffic.push(...cli.list()); break;
      case '--config': parsed.config = cli.value(); break;
      case '--baseline': parsed.baseline = cli.value(); break;
      case '--fail-on-new-access': parsed.failOnNewAccess = cli.switchOn(); break;
      case '--from': parsed.filter.from = once('--from', parsed.filter.from, name('--from', cli.value(), true)); break;
      case '--to': parsed.filter.to = once('--to', parsed.filter.to, name('--to', cli.value(), false)); break;
      case '--request': {
        const request = parseAccessRequest(cli.value());
        if (typeof request === 'string') throw new UsageError(`--request ${request}`);
        parsed.filter.request = request;
        break;
      }
      case '--mesh': {
        const v = cli.value();
        if (!(MESHES as readonly string[]).includes(v)) throw new UsageError(`--mesh must be istio, linkerd or consul (got "${v}")`);
        parsed.filter.meshes = [...(parsed.filter.meshes ?? []), v as Mesh];
        break;
      }
      case '--format': {
        const v = cli.value();
        if (!(FORMATS as readonly string[]).includes(v)) throw new UsageError(`--format must be text, json, md, github or sarif (got "${v}")`);
        parsed.format = v as AccessFormat;
        break;
      }
      default:
        throw cli.unexpected();
    }
  }
  if (parsed.policies.length === 0) throw new UsageError('access needs --policies');
  if (parsed.failOnNewAccess && parsed.baseline === undefined) throw new UsageError('--fail-on-new-access needs --baseline: the ref to compare with');
  if ((parsed.format === 'github' || parsed.format === 'sarif') && parsed.baseline === undefined) throw new UsageError(`--format ${parsed.format} reports the changes since --baseline: give the ref to compare with`);
  return parsed;
}

function name(flag: string, value: string, dash: boolean): string {
  if (dash && value === '-') return value;
  const parts = value.split('/');
  if (parts.length > 2 || !parts.every(isObjectName)) throw new UsageError(`${flag} must be a namespace or <namespace>/<name>${dash ? ', or -' : ''} (got "${value}")`);
  return value;
}

export async function runAccessCli(args: string[], io: CliIo): Promise<number> {
  try {
    const parsed = parse(args);
    const loaded = loadWorkspace(parsed, io);
    if (typeof loaded === 'number') return loaded;
    let model: TrafficModel | undefined;
    if (parsed.traffic.length) {
      const trafficPaths = parsed.traffic.map((p) => resolve(io.cwd, p));
      if (reportMissing(trafficPaths, io)) return 2;
      model = await readSource(new FileTrafficSource(trafficPaths, {}), { inventory: loaded.workspace.inventory, config: loaded.workspace.config }, io);
      if (model === undefined) return 2;
      for (const problem of readProblems(model, trafficPaths, loaded.workspace.config, io.cwd)) io.stderr(`mesh-policy: ${problem}`);
      // the callers the logs show are mapped at the baseline too
      parsed.filter.moreCallers = observedCallers(model.shapes, (record) => loaded.simulation.meshOf(record));
    }
    const map = model ? await accessAgainstTraffic(loaded.workspace, loaded.simulation, model.shapes, parsed.filter) : accessMap(loaded.workspace, loaded.simulation, parsed.filter);
    let changes: AccessChange[] | undefined;
    if (parsed.baseline !== undefined) {
      const paths = parsed.policies.map((p) => resolve(io.cwd, p));
      try {
        const files = await readFilesAtRef(paths, parsed.baseline, collectPolicyFiles(paths).files);
        const then = baselineWorkspace(loaded.engine, files, loaded.workspace.config, loaded.workspace);
        changes = compareAccess(accessMap(then, new Simulation(then), parsed.filter), map);
      } catch (error) {
        if (!(error instanceof BaselineError)) throw error;
        io.stderr(`mesh-policy: --baseline: ${error.message}`);
        return 2;
      }
    }
    const rel = (p: string) => displayPath(io.cwd, p);
    switch (parsed.format) {
      case 'json': io.stdout(JSON.stringify({ ...relativeMap(map, rel), ...(changes ? { baseline: parsed.baseline, changes: changes.map((c) => relativeChange(c, rel)) } : {}) }, null, 2)); break;
      case 'github': if (changes?.length) io.stdout(changesGithub(changes, parsed.baseline!, githubRoot(io.cwd), parsed.failOnNewAccess)); break;
      case 'sarif': io.stdout(changesSarif(changes ?? [], parsed.baseline!, io.cwd, parsed.failOnNewAccess)); break;
      case 'md': io.stdout(accessMarkdown(map, rel) + (changes ? `\n\n${changesMarkdown(changes, parsed.baseline!)}` : '')); break;
      default: io.stdout(accessText(map, rel) + (changes ? `\n\n${changesText(changes, parsed.baseline!, rel)}` : ''));
    }
    if (model && trafficUnread(model)) return 2;
    return parsed.failOnNewAccess && changes?.some((c) => c.direction === 'opened') ? 1 : 0;
  } catch (error) {
    return commandFailure(error, io, ACCESS_USAGE);
  }
}

/** Where a change is reported: the rule or policy that decides the cell now, else the one that decided it at the ref. */
function changeSite(change: AccessChange): SourceRef | undefined {
  const cell = change.after ?? change.before!;
  return cell.rule ?? cell.policy;
}

/** As a GitHub workflow command names it. */
const changeLevel = (change: AccessChange, failOnNew: boolean): 'error' | 'warning' | 'notice' => (change.direction === 'opened' ? (failOnNew ? 'error' : 'warning') : 'notice');
const changeTitle = (change: AccessChange) => `Access ${change.direction === 'changed' ? 'decided otherwise' : change.direction}: ${change.caller === '-' ? '- (no identity)' : change.caller} → ${change.destination}`;
const changeMessage = (change: AccessChange, ref: string) => `${MESH_NAME[change.mesh]}: ${change.before?.verdict ?? 'deny'} at ${ref}, ${change.after?.verdict ?? 'deny'} now: ${change.after ? cellWhy(change.after) : 'no longer in the map'}`;

/** One GitHub Actions workflow command per changed cell, on its site (`changeSite`). */
function changesGithub(changes: readonly AccessChange[], ref: string, root: string, failOnNew: boolean): string {
  return changes.map((c) => {
    const at = changeSite(c);
    const properties: [string, string | number][] = [
      ...(at ? githubLocation(at.file, at.range, root, false) : []),
      ['title', changeTitle(c)],
    ];
    return githubCommand(changeLevel(c, failOnNew), properties, changeMessage(c, ref));
  }).join('\n');
}

const ACCESS_RULE_HELP = 'The access map (docs/access-map.md) decides every caller identity against every destination port with the policies alone, at the baseline ref and now, against the same inventory.';

const ACCESS_RULES: Record<AccessChange['direction'], SarifRule> = {
  opened: {
    id: 'access/opened', name: 'AccessOpened',
    shortDescription: { text: 'Access opened since the baseline' },
    fullDescription: { text: 'A policy change lets a caller reach a destination port that the policies at the baseline ref denied, or left to the request (deny → allow, deny → depends, depends → allow).' },
    help: { text: `${ACCESS_RULE_HELP} Check that the caller should reach the destination; mesh-policy access --fail-on-new-access fails the build on such a change.` },
  },
  closed: {
    id: 'access/closed', name: 'AccessClosed',
    shortDescription: { text: 'Access closed since the baseline' },
    fullDescription: { text: 'A policy change denies, or leaves to the request, a caller\'s access to a destination port that the policies at the baseline ref allowed (allow → deny, allow → depends, depends → deny).' },
    help: { text: `${ACCESS_RULE_HELP} Check that no caller still needs it: mesh-policy access --traffic shows whether the logs have such calls.` },
  },
  changed: {
    id: 'access/changed', name: 'AccessDecidedOtherwise',
    shortDescription: { text: 'Access decided otherwise since the baseline' },
    fullDescription: { text: 'The cell is as open as at the baseline ref, but decided on other grounds: it depends on other request attributes, or another provider decides it.' },
    help: { text: ACCESS_RULE_HELP },
  },
};
const SARIF_LEVELS = { error: 'error', warning: 'warning', notice: 'note' } as const;

/** The changes as SARIF 2.1.0 results on their sites (`changeSite`), for code scanning; a change with no site has no location. */
function changesSarif(changes: readonly AccessChange[], ref: string, cwd: string, failOnNew: boolean): string {
  const directions = [...new Set(changes.map((c) => c.direction))].sort();
  return sarifLog(VERSION, directions.map((d) => ACCESS_RULES[d]), changes.map((c) => {
    const at = changeSite(c);
    return {
      ruleId: ACCESS_RULES[c.direction].id,
      ruleIndex: directions.indexOf(c.direction),
      level: SARIF_LEVELS[changeLevel(c, failOnNew)],
      message: { text: `${changeTitle(c)}. ${changeMessage(c, ref)}` },
      ...(at ? { locations: [{ physicalLocation: physicalLocation(at.file, at.range, cwd) }] } : {}),
      // (the cell, so that code scanning tells two changes at one policy apart)
      partialFingerprints: { accessCell: `${c.mesh}/${c.caller}/${c.destination}` },
      properties: { mesh: c.mesh, caller: c.caller, destination: c.destination, before: c.before?.verdict ?? 'deny', after: c.after?.verdict ?? 'deny', baseline: ref },
    };
  }));
}

const relativeRef = (at: SourceRef | undefined, rel: (p: string) => string) => (at ? { ...at, file: rel(at.file) } : undefined);

function relativeCell<T extends { policy?: SourceRef; rule?: SourceRef }>(cell: T, rel: (p: string) => string): T {
  return { ...cell, ...(cell.policy ? { policy: relativeRef(cell.policy, rel) } : {}), ...(cell.rule ? { rule: relativeRef(cell.rule, rel) } : {}) };
}

function relativeMap(map: AccessMap, rel: (p: string) => string): AccessMap {
  return { ...map, meshes: map.meshes.map((m) => ({ ...m, rows: m.rows.map((r) => ({ ...r, cells: r.cells.map((c) => relativeCell(c, rel)) })) })) };
}

function relativeChange(change: AccessChange, rel: (p: string) => string): AccessChange {
  return { ...change, before: change.before && relativeCell(change.before, rel), after: change.after && relativeCell(change.after, rel) };
}
