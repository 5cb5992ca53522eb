import { MESH_NAME } from '../authz/render';
import { plural } from '../schema/messages';
import type { SourceRef, Verdict } from '../simulate/types';
import type { AccessChange } from './index';
import { accessUsage } from './observed';
import type { AccessCell, AccessDestination, AccessMap, MeshAccess } from './types';

/** One group of a row: callers the mesh decides alike (verdict, what it depends on, policy and rule). */
interface CellGroup {
  verdict: Verdict;
  cells: AccessCell[];
  why: string;
  /** The deciding policy and rule, where one decides. */
  label?: string;
  at?: SourceRef;
}

const VERDICT_WORD: Record<Verdict, string> = { allow: 'allow', deny: 'deny', unknown: 'depends', external: 'external' };
const VERDICT_ORDER: Record<Verdict, number> = { allow: 0, unknown: 1, external: 2, deny: 3 };
const SHOWN_CALLERS = 8;

/** ` (40 calls)` after a cell's caller, when the logs were read. */
function callsOf(cell: AccessCell): string {
  const observed = cell.observed;
  return observed ? ` (${observed.calls ? `${observed.calls.toLocaleString('en-US')} ${observed.calls === 1 ? 'call' : 'calls'}` : 'no call'})` : '';
}

/** A cell's caller as a row lists it, with its calls in the logs when they were read: `shop/web (1,204 calls)`. */
function callerWithCalls(cell: AccessCell): string {
  const calls = callsOf(cell);
  return calls ? `${callerName(cell.caller)}${calls}` : cell.caller;
}

export function callerName(key: string): string {
  return key === '-' ? '- (no identity)' : key;
}

/** Why a cell is decided so, in a few words: what it depends on, or the simulator's reason. */
export function cellWhy(cell: AccessCell): string {
  if (cell.verdict !== 'unknown') return cell.reason;
  const on = dependsOn(cell);
  return cell.policy ? `${on} (${decidingLabel(cell)})` : on;
}

/** What an `unknown` cell depends on, as the simulator names it, else its reason. */
function dependsOn(cell: AccessCell): string {
  return cell.needs?.length ? `depends on ${cell.needs.join(', ')}` : cell.reason;
}

/** The deciding policy and rule, `AuthorizationPolicy shop/x rules[1]` (a rule label that already names its policy alone). */
function decidingLabel(cell: AccessCell): string {
  const policy = cell.policy?.label ?? '';
  if (!cell.rule) return policy;
  return cell.rule.label.startsWith(policy) ? cell.rule.label : `${policy} ${cell.rule.label}`;
}

function groups(cells: readonly AccessCell[]): CellGroup[] {
  const byKey = new Map<string, CellGroup>();
  for (const cell of cells) {
    const why = cellWhy(cell);
    const key = `${cell.verdict}\u0000${why}`;
    let group = byKey.get(key);
    if (!group) byKey.set(key, (group = { verdict: cell.verdict, cells: [], why, ...(cell.policy ? { label: decidingLabel(cell), at: cell.rule ?? cell.policy } : {}) }));
    group.cells.push(cell);
  }
  return [...byKey.values()].sort((a, b) => VERDICT_ORDER[a.verdict] - VERDICT_ORDER[b.verdict]);
}

function destinationTitle(d: AccessDestination): string {
  const about = [d.portName ? `port ${d.portName}` : undefined, d.protocol === 'http' ? 'HTTP' : d.protocol === 'tcp' ? 'TCP' : d.protocolNote, d.service ? `via Service ${d.service}` : undefined].filter(Boolean);
  return `${d.key}${about.length ? ` (${about.join(', ')})` : ''}`;
}

function fewCallers(callers: readonly string[], limit = SHOWN_CALLERS): string {
  const shown = callers.slice(0, limit).map(callerName).join(', ');
  return callers.length > limit ? `${shown} and ${callers.length - limit} more` : shown;
}

function meshHeading(m: MeshAccess): string {
  return `${MESH_NAME[m.mesh]}: ${plural(m.callers.length, 'caller')} × ${plural(m.rows.length, m.mesh === 'consul' ? 'destination service' : 'destination port')}`;
}

/** The cells of a mesh by verdict, and the destinations every caller reaches whatever the request: what an audit looks at first. */
export function meshSummary(m: MeshAccess): { counts: Record<Verdict, number>; openToAll: string[]; openToIdentities: string[] } {
  const counts: Record<Verdict, number> = { allow: 0, deny: 0, unknown: 0, external: 0 };
  const openToAll: string[] = [];
  const openToIdentities: string[] = [];
  for (const row of m.rows) {
    for (const cell of row.cells) counts[cell.verdict]++;
    const identities = row.cells.filter((c) => c.caller !== '-');
    const plaintext = row.cells.find((c) => c.caller === '-');
    if (!identities.length || !identities.every((c) => c.verdict === 'allow')) continue;
    if (plaintext && plaintext.verdict !== 'allow') openToIdentities.push(row.destination.key);
    else openToAll.push(row.destination.key);
  }
  return { counts, openToAll, openToIdentities };
}

function summaryLines(m: MeshAccess): string[] {
  const { counts, openToAll, openToIdentities } = meshSummary(m);
  const lines = [`cells: ${counts.allow} allowed, ${counts.unknown} depending${counts.external ? `, ${counts.external} decided by an external provider` : ''}, ${counts.deny} denied`];
  const plaintextMapped = m.callers.some((c) => c.key === '-');
  if (openToAll.length) lines.push(`open to every caller${plaintextMapped ? ', plaintext included' : ''}: ${openToAll.join(', ')}`);
  if (openToIdentities.length) lines.push(`open to every caller with a mesh identity: ${openToIdentities.join(', ')}`);
  const usage = accessUsage(m);
  if (usage) {
    const unused = usage.unused.map(({ destination, cell }) => `${callerName(cell.caller)} → ${destination.key}`);
    lines.push(`in the logs: ${usage.called} of ${m.rows.length * m.callers.length} cells called; ${unused.length} of ${usage.allowed} allowed cells never called${unused.length ? `: ${fewCallers(unused, 12)}` : ''}`);
  }
  return lines;
}

function requestText(map: AccessMap): string | undefined {
  if (!map.request) return undefined;
  const asked = [map.request.method, map.request.path].filter((t) => t !== undefined).join(' ');
  return `Every cell is decided for the request ${asked} (HTTP, except on ports declared TCP, where the connection is decided).`;
}

/** The map as text: per mesh, per destination, the callers grouped by how they are decided. */
export function accessText(map: AccessMap, rel: (path: string) => string): string {
  const out: string[] = [];
  const asked = requestText(map);
  if (asked) out.push(asked, '');
  for (const m of map.meshes) {
    if (out.length && out[out.length - 1] !== '') out.push('');
    out.push(meshHeading(m), ...summaryLines(m).map((l) => `  ${l}`));
    for (const row of m.rows) {
      out.push('', `  ${destinationTitle(row.destination)}`);
      for (const g of groups(row.cells)) {
        out.push(`    ${VERDICT_WORD[g.verdict].padEnd(8)} ${fewCallers(g.cells.map(callerWithCalls))}`);
        out.push(`             ${g.why}${g.at ? `  [${rel(g.at.file)}:${g.at.range.start.line + 1}]` : ''}`);
      }
    }
  }
  if (!map.meshes.length) out.push('No caller and destination to map: the workspace has no Istio, Linkerd or Consul policy, or the inventory no workload in their mesh (give manifests with --inventory).');
  for (const note of map.notes) out.push('', `Note: ${note}`);
  return out.join('\n');
}

const cellMd = (text: string) => text.replace(/\|/g, '\\|');

/** The map as Markdown: one table per mesh, a row per destination, the callers of each verdict in a column. */
export function accessMarkdown(map: AccessMap, rel: (path: string) => string, options: { links?: boolean } = {}): string {
  const links = options.links ?? true;
  const out: string[] = ['# Access map', '', 'Who may call whom by the policies alone (no traffic): every caller identity of the inventory, and a caller with none (`-`), against every destination. *Depends* means the verdict turns on what the request carries.'];
  const asked = requestText(map);
  if (asked) out.push('', asked);
  for (const m of map.meshes) {
    out.push('', `## ${meshHeading(m)}`, '', ...summaryLines(m).map((l) => `- ${cellMd(l)}`), '', '| Destination | Allowed | Depends on the request | Denied |', '|---|---|---|---|');
    for (const row of m.rows) {
      const column = (verdicts: Verdict[]) => groups(row.cells).filter((g) => verdicts.includes(g.verdict))
        .map((g) => {
          const callers = g.cells.map((c) => `\`${c.caller}\`${callsOf(c)}`).join(', ');
          const place = g.at && `${rel(g.at.file)}:${g.at.range.start.line + 1}`;
          const link = g.at ? (links ? `[${cellMd(g.label ?? g.at.label)}](${rel(g.at.file)}#L${g.at.range.start.line + 1})` : `${cellMd(g.label ?? g.at.label)}, ${place}`) : undefined;
          if (g.verdict === 'unknown' || g.verdict === 'external') return `${callers} — ${cellMd(g.verdict === 'unknown' ? dependsOn(g.cells[0]!) : g.why)}${link ? ` (${link})` : ''}`;
          return `${callers}${link ? ` (by ${link})` : ` (${cellMd(g.why)})`}`;
        })
        .join('<br>') || '—';
      out.push(`| \`${cellMd(destinationTitle(row.destination))}\` | ${column(['allow'])} | ${column(['unknown', 'external'])} | ${column(['deny'])} |`);
    }
  }
  if (!map.meshes.length) out.push('', 'No caller and destination to map: the workspace has no Istio, Linkerd or Consul policy, or the inventory no workload in their mesh.');
  for (const note of map.notes) out.push('', `> ${cellMd(note)}`);
  return out.join('\n');
}

function changeLine(c: AccessChange): string {
  return `${c.before?.verdict ?? 'deny'} → ${c.after?.verdict ?? 'deny'}`;
}

/** The cells that changed since `ref`, opened first, each with what decides it now. */
export function changesText(changes: readonly AccessChange[], ref: string, rel: (path: string) => string): string {
  if (!changes.length) return `No access changed since ${ref}.`;
  const count = (d: AccessChange['direction']) => changes.filter((c) => c.direction === d).length;
  const out = [`Access changed since ${ref}: ${count('opened')} opened, ${count('closed')} closed, ${count('changed')} decided otherwise`];
  for (const c of changes) {
    const now = c.after ?? c.before!;
    const at = now.rule ?? now.policy;
    out.push(`  ${c.direction.padEnd(7)} ${MESH_NAME[c.mesh]}  ${callerName(c.caller)} → ${c.destination}  ${changeLine(c)}`);
    out.push(`          ${c.after ? cellWhy(c.after) : 'no longer in the map'}${at && c.after ? `  [${rel(at.file)}:${at.range.start.line + 1}]` : ''}`);
  }
  return out.join('\n');
}

export function changesMarkdown(changes: readonly AccessChange[], ref: string): string {
  if (!changes.length) return `No access changed since \`${ref}\`.`;
  const rows = changes.map((c) => `| ${c.direction} | ${MESH_NAME[c.mesh]} | \`${c.caller}\` | \`${c.destination}\` | ${changeLine(c)} | ${c.after ? cellMd(cellWhy(c.after)) : 'no longer in the map'} |`);
  return [`## Access changed since \`${ref}\``, '', '| Change | Mesh | Caller | Destination | Verdict | Why now |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
