import type { Mesh } from '../meshes';
import type { AuthzListing, AuthzRow, AuthzSection, AuthzUnknown } from './types';

/**
 * The listings as text (`mesh-policy authz`) and as markdown (the editor's "Show Policies for
 * Workload" view), from the same cells; and the short names both the lenses and hovers use.
 */

export const MESH_NAME: Record<Mesh, string> = { istio: 'Istio', linkerd: 'Linkerd', consul: 'Consul' };

const HEADERS = ['RESOURCE', 'ATTACHES BY', 'HOLDS', 'AT', 'NOTES'];
/** What the first column says per mesh. */
const ROLE_HEADER: Record<Mesh, string> = { istio: 'ACTION', linkerd: 'ROLE', consul: 'DECIDES' };

/** A section's table: the header row, then a row of cells per resource. */
function tableOf(mesh: Mesh, section: AuthzSection, rel: (p: string) => string): { headers: string[]; cells: string[][] } {
  const cells = section.rows.map((r) => [r.role, r.resource, r.attachment, r.detail, `${rel(r.at.file)}:${r.at.range.start.line + 1}`, r.notes.join('; ')]);
  return { headers: [ROLE_HEADER[mesh], ...HEADERS], cells };
}

/** One mesh: a title, then per section its table and closing lines. */
export function listingText(listing: AuthzListing, rel: (p: string) => string): string {
  const out = [`${MESH_NAME[listing.mesh]}: ${listing.target}`];
  for (const section of listing.sections) {
    out.push('', `  ${section.title}`);
    const { headers, cells } = tableOf(listing.mesh, section, rel);
    if (cells.length) {
      const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
      const line = (c: string[]) => `    ${c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ')}`.trimEnd();
      out.push(line(headers), ...cells.map(line));
    } else out.push('    (none)');
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
 * whose AT cells link to the file and line (`link`: the URI of a file, or undefined for plain text).
 */
export function listingMarkdown(target: string, listings: readonly AuthzListing[], options: { rel: (p: string) => string; link?: (file: string, line: number) => string | undefined }): string {
  const out = [listingHeading(target), ''];
  if (!listings.length) out.push(`No Istio, Linkerd or Consul policy in the workspace: nothing applies to ${target}.`);
  for (const listing of listings) {
    out.push(`## ${MESH_NAME[listing.mesh]}: ${escapeCell(listing.target)}`, '');
    for (const section of listing.sections) {
      out.push(`### ${escapeCell(section.title)}`, '');
      const { headers, cells } = tableOf(listing.mesh, section, options.rel);
      if (cells.length) {
        out.push(`| ${headers.join(' | ')} |`, `|${headers.map(() => ' --- ').join('|')}|`);
        section.rows.forEach((row, i) => {
          const cell = cells[i]!.map(escapeCell);
          const href = options.link?.(row.at.file, row.at.range.start.line + 1);
          if (href) cell[4] = `[${cell[4]}](${href})`;
          out.push(`| ${cell.join(' | ')} |`);
        });
      } else out.push('(none)');
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
