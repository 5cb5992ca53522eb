import { relative } from 'node:path';
import { CODE_INFO } from '../engine/codes';
import { ALL_RULES } from '../engine/rules';
import type { Finding, Range, Severity } from '../engine/findings';

export type OutputFormat = 'text' | 'json' | 'sarif';

export function formatText(findings: Finding[], cwd: string): string {
  return findings.map((f) => `${relative(cwd, f.file) || f.file}:${f.range.start.line + 1}:${f.range.start.character + 1} ${f.severity} ${f.code} ${f.message}`).join('\n');
}

export function formatJson(findings: Finding[], cwd: string): string {
  return JSON.stringify(findings.map((f) => ({ file: relative(cwd, f.file) || f.file, range: f.range, severity: f.severity, code: f.code, message: f.message })), null, 2);
}

const SARIF_LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'note', hint: 'note' };

export function formatSarif(findings: Finding[], cwd: string, version: string): string {
  const ruleIds = [...new Set(findings.map((f) => f.code))].sort();
  const rules = ruleIds.map((id) => {
    const title = ALL_RULES.find((r) => r.code === id)?.title;
    const description = CODE_INFO.find((c) => c.code === id)?.description ?? title ?? id;
    return {
      id,
      name: title ? title.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : '')) : id,
      shortDescription: { text: title ?? id },
      fullDescription: { text: description },
      // (no helpUri: the project has no public home yet; the rule's page is docs/rules/<code>.md)
      help: { text: `${description} See docs/rules/${id}.md.` },
    };
  });
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'mesh-policy', semanticVersion: version, version, rules } },
      columnKind: 'utf16CodeUnits',
      results: findings.map((f) => ({
        ruleId: f.code,
        ruleIndex: ruleIds.indexOf(f.code),
        level: SARIF_LEVEL[f.severity],
        message: { text: f.message },
        locations: [{ physicalLocation: physicalLocation(f.file, f.range, cwd) }],
        // (a traffic finding's busiest calls: the log lines they were read from)
        ...(f.related?.length ? { relatedLocations: f.related.map((r, id) => ({ id, physicalLocation: physicalLocation(r.file, r.range, cwd), message: { text: r.message } })) } : {}),
      })),
    }],
  };
  return JSON.stringify(sarif, null, 2);
}

function physicalLocation(file: string, range: Range, cwd: string): unknown {
  return {
    artifactLocation: { uri: toUri(relative(cwd, file) || file), uriBaseId: '%SRCROOT%' },
    region: { startLine: range.start.line + 1, startColumn: range.start.character + 1, endLine: range.end.line + 1, endColumn: range.end.character + 1 },
  };
}

/** A relative path as a SARIF artifact URI: each segment percent-encoded (a space, `#`, `%`). */
export function toUri(path: string): string {
  return path.split(/[\\/]/).map(encodeURIComponent).join('/');
}
