import type { RuleSetting } from '../config/projectConfig';
import type { Finding } from '../findings';
import type { SourceFile } from '../source/sourceFile';

/**
 * Inline suppression comments (YAML and HCL):
 *   # mesh-policy-ignore MPA1001            on the line above, or at the end of the line itself
 *   # mesh-policy-ignore                     the same, for every code
 *   # mesh-policy-ignore-file MPA1001        anywhere: the whole file
 */
const DIRECTIVE = /(?:#|\/\/)\s*mesh-policy-ignore(-file)?\b([^\n]*)/g;

interface Suppression {
  line: number;
  codes: Set<string> | 'all';
  file: boolean;
}

function parseSuppressions(file: SourceFile): Suppression[] {
  if (file.format === 'json' || !file.text.includes('mesh-policy-ignore')) return [];
  const out: Suppression[] = [];
  for (const match of file.text.matchAll(DIRECTIVE)) {
    const codes = [...match[2]!.matchAll(/MPA\d{4}/g)].map((m) => m[0]);
    out.push({ line: file.lines.position(match.index!).line, codes: codes.length ? new Set(codes) : 'all', file: Boolean(match[1]) });
  }
  return out;
}

function suppressed(finding: Finding, file: SourceFile, suppressions: Suppression[]): boolean {
  const line = finding.range.start.line;
  return suppressions.some((s) => {
    if (s.codes !== 'all' && !s.codes.has(finding.code)) return false;
    if (s.file) return true;
    if (s.line === line) return true;
    // A directive alone on the line above applies to the next line.
    return s.line === line - 1 && /^\s*(#|\/\/)/.test(file.lines.lineText(s.line));
  });
}

/** Applies the configured severities (`off` drops) and the inline suppressions. */
export function applyRuleSettings(findings: Finding[], file: SourceFile, rules: Record<string, RuleSetting>): Finding[] {
  const suppressions = parseSuppressions(file);
  const out: Finding[] = [];
  for (const finding of findings) {
    const setting = rules[finding.code];
    if (setting === 'off') continue;
    if (suppressions.length && suppressed(finding, file, suppressions)) continue;
    out.push(setting ? { ...finding, severity: setting } : finding);
  }
  return out;
}
