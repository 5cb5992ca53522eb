import { MESH_DISPLAY_NAMES, type Mesh } from '../meshes';
import type { SourceRef } from '../simulate/types';
import type { AuthnTable, AuthzListing, AuthzRow, AuthzSection, AuthzUnknown } from './types';

/**
 * The listings as text (`mesh-policy authz`) and as markdown (the editor's "Show Policies for
 * Workload" view), from the same cells; and the short names both the lenses and hovers use.
 */

export const MESH_NAME = MESH_DISPLAY_NAMES;

const HEADERS = ['RESOURCE', 'ATTACHES BY', 'HOLDS', 'AT', 'NOTES'];
/** What the first column says per mesh. */
const ROLE_HEADER: Record<Mesh, string> = { istio: 'ACTION', linkerd: 'ROLE', consul: 'DECIDES' };

/** A section's table: the header row, then a row of cells per resource. */
function tableOf(mesh: Mesh, section: AuthzSection, rel: (p: string) => string): Table {
  const cells = section.rows.map((r) => [r.role, r.resource, r.attachment, r.detail, at(r.at, rel), r.notes.join('; ')]);
  return { headers: [ROLE_HEADER[mesh], ...HEADERS], cells };
}

/** The authentication table of a section: a row per mode or JWT rule, in the AT column the resource that sets it. */
function authnTableOf(authentication: AuthnTable, rel: (p: string) => string): Table {
  const cells = authentication.rows.map((r) => [r.role, r.setting, r.resource, r.attachment, r.at ? at(r.at, rel) : '', r.notes.join('; ')]);
  return { headers: AUTHN_HEADERS, cells };
}

const AUTHN_HEADERS = ['AUTHN', 'SETS', 'RESOURCE', 'ATTACHES BY', 'AT', 'NOTES'];

interface Table {
  headers: string[];
  cells: string[][];
}

function at(ref: SourceRef, rel: (p: string) => string): string {
  return `${rel(ref.file)}:${ref.range.start.line + 1}`;
}

/** A table in columns, indented under its section. */
function tableText(table: Table): string[] {
  const { headers, cells } = table;
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `    ${c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [line(headers), ...cells.map(line)];
}

/** One mesh: a title, then per section its authentication (Istio), its table and closing lines. */
export function listingText(listing: AuthzListing, rel: (p: string) => string): string {
  const out = [`${MESH_NAME[listing.mesh]}: ${listing.target}`];
  for (const section of listing.sections) {
    out.push('', `  ${section.title}`);
    if (section.authentication) {
      const authn = authnTableOf(section.authentication, rel);
      if (authn.cells.length) out.push(...tableText(authn));
      for (const s of section.authentication.summary) out.push(`    → ${s}`);
      if (section.authentication.rows.length || section.authentication.summary.length) out.push('');
    }
    const table = tableOf(listing.mesh, section, rel);
    if (table.cells.length) out.push(...tableText(table));
    else out.push('    (none)');
    for (const s of section.summary) out.push(`    → ${s}`);
    for (const n of section.notes) out.push(`    note: ${n}`);
  }
  if (listing.notes.length) out.push('', ...listing.notes.map((n) => `  note: ${n}`));
  return out.join('\n');
}

/** The heading of the markdown listing of `target` (the editor's view starts with it). */
export function listingHeading(target: string): string {
  return `# Policies that apply to ${target}`;
}

/**
 * The listings of one target as markdown: a heading, then per mesh a section, per step a table
 * whose AT cells name the file (by `rel`) and line.
 */
export function listingMarkdown(target: string, listings: readonly AuthzListing[], options: { rel: (p: string) => string }): string {
  const out = [listingHeading(target), ''];
  if (!listings.length) out.push(`No Istio, Linkerd or Consul policy in the workspace: nothing applies to ${target}.`);
  for (const listing of listings) {
    out.push(`## ${MESH_NAME[listing.mesh]}: ${escapeCell(listing.target)}`, '');
    for (const section of listing.sections) {
      out.push(`### ${escapeCell(section.title)}`, '');
      const tableMarkdown = (table: Table): void => {
        out.push(`| ${table.headers.join(' | ')} |`, `|${table.headers.map(() => ' --- ').join('|')}|`);
        for (const cells of table.cells) out.push(`| ${cells.map(escapeCell).join(' | ')} |`);
      };
      if (section.authentication) {
        const authn = authnTableOf(section.authentication, options.rel);
        if (authn.cells.length) tableMarkdown(authn);
        if (authn.cells.length || section.authentication.summary.length) out.push('');
        for (const s of section.authentication.summary) out.push(`- → ${escapeCell(s)}`);
        if (section.authentication.summary.length) out.push('');
      }
      const table = tableOf(listing.mesh, section, options.rel);
      if (table.cells.length) tableMarkdown(table);
      else out.push('(none)');
      out.push('');
      for (const s of section.summary) out.push(`- → ${escapeCell(s)}`);
      for (const n of section.notes) out.push(`- note: ${escapeCell(n)}`);
      if (section.summary.length || section.notes.length) out.push('');
    }
    for (const n of listing.notes) out.push(`- note: ${escapeCell(n)}`);
    if (listing.notes.length) out.push('');
  }
  return out.join('\n').trimEnd() + '\n';
}

/** Text in a markdown table cell or list item: pipes and markup characters read as text. */
function escapeCell(text: string): string {
  return text.replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);
}

/** What a target no mesh knows gets: the meshes asked and the nearest names. */
export function unknownText(asked: string, answers: readonly AuthzUnknown[]): string {
  const near = [...new Set(answers.flatMap((a) => a.near))];
  const meshes = answers.map((a) => MESH_NAME[a.mesh]).join(' or ');
  return `unknown workload "${asked}": no ${meshes} workload or service of that name in the inventory or the policies${near.length ? `; did you mean ${near.slice(0, 5).map((n) => `"${n}"`).join(' or ')}?` : ''}`;
}

/** The rows of every section, each resource once (a policy a waypoint and the sidecar both apply). */
export function distinctRows(listing: AuthzListing): AuthzRow[] {
  const seen = new Map<string, AuthzRow>();
  for (const section of listing.sections) for (const row of section.rows) if (!seen.has(row.resource)) seen.set(row.resource, row);
  return [...seen.values()];
}

/** A row's resource without its kind and namespace: "AuthorizationPolicy shop/allow-nothing" → "allow-nothing". */
export function shortName(resource: string): string {
  const word = resource.slice(resource.lastIndexOf(' ') + 1);
  return word.slice(word.lastIndexOf('/') + 1);
}

/** The first `shown` names, then how many more. */
export function fewNames(names: readonly string[], shown: number, more = (n: number) => `+${n} more`): string {
  return names.length <= shown ? names.join(', ') : `${names.slice(0, shown).join(', ')}, ${more(names.length - shown)}`;
}
