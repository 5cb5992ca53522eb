import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ALL_RULES, ruleIndexTable } from '../../server/src/engine/rules';
import { Engine } from '../../server/src/engine/engine';
import type { Finding } from '../../server/src/engine/findings';
import { CONFIG_FILE_NAME, defaultConfig } from '../../server/src/engine/config/projectConfig';
import { Codes } from '../../server/src/engine/codes';
import { LiveInsight, type LiveBaseline } from '../../server/src/engine/insight/live';
import { Simulation } from '../../server/src/engine/simulate';
import { headersTestedBy } from '../../server/src/engine/simulate/testedHeaders';
import { ingestTraffic } from '../../server/src/engine/traffic/ingest/ingest';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { LivePolicyTests } from '../../server/src/engine/policyTests/live';
import { REPO_ROOT } from '../helpers/paths';

/**
 * The rule pages under docs/rules/ are user documentation: one page per finding code, each with
 * a Wrong and a Right example. These tests keep them in step with the engine: every code has a
 * page and a row in the index, and the examples still do what the page says they do.
 *
 * Findings from the traffic (MPA4xxx) need observed calls: their pages carry a `## Traffic`
 * section (canonical access records, JSON Lines) that a Wrong or Right section may replace with a
 * `### Traffic` of its own, and MPA4006 an `## At HEAD` section with the policies it compares with.
 */

const RULES_DIR = join(REPO_ROOT, 'docs', 'rules');
const NO_EXAMPLE_CHECK = '<!-- no-example-check -->';
const EXTENSIONS: Record<string, string> = { yaml: 'yaml', yml: 'yaml', hcl: 'hcl', json: 'json' };

interface Fence {
  lang: string;
  body: string;
}

interface Section {
  heading: string;
  level: number;
  /** Lines after the heading, up to the next heading of the same or a higher level. */
  lines: string[];
}

/** A closing fence: only the opening's character, at least as many times. */
function closesFence(line: string, opening: string): boolean {
  const trimmed = line.trim();
  return trimmed.length >= opening.length && [...trimmed].every((c) => c === opening[0]);
}

/** Headings outside code fences, each with the lines it owns. */
function sections(markdown: string): Section[] {
  const lines = markdown.split(/\r?\n/);
  const found: { heading: string; level: number; start: number }[] = [];
  let fence: string | undefined;
  lines.forEach((line, i) => {
    if (fence !== undefined) {
      if (closesFence(line, fence)) fence = undefined;
      return;
    }
    const opening = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (opening) return void (fence = opening);
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) found.push({ heading: heading[2]!, level: heading[1]!.length, start: i });
  });
  return found.map((h, k) => {
    const next = found.slice(k + 1).find((o) => o.level <= h.level);
    return { heading: h.heading, level: h.level, lines: lines.slice(h.start + 1, next ? next.start : lines.length) };
  });
}

function section(markdown: string, heading: string, level: number): Section | undefined {
  return sections(markdown).find((s) => s.level === level && s.heading.toLowerCase() === heading.toLowerCase());
}

/** The first fenced code block in the lines, with its language. */
function firstFence(lines: string[]): Fence | undefined {
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const marker = open[2]!;
    const body: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j]!;
      if (closesFence(line, marker)) {
        return { lang: open[3]!.toLowerCase(), body: body.join('\n') + '\n' };
      }
      body.push(line.slice(Math.min(indent, line.length - line.trimStart().length)));
    }
    return undefined;
  }
  return undefined;
}

function readPage(code: string): string {
  return readFileSync(join(RULES_DIR, `${code}.md`), 'utf8');
}

function describeFindings(findings: Finding[]): string {
  return findings.length ? findings.map((f) => `${f.range.start.line + 1}:${f.range.start.character + 1} ${f.severity} ${f.code} ${f.message}`).join(' | ') : 'no findings';
}

function lintExample(engine: Engine, code: string, part: string, fence: Fence): Finding[] {
  const ext = EXTENSIONS[fence.lang];
  assert.ok(ext, `${code}.md: the ${part} example is fenced as "${fence.lang}"; use yaml, hcl or json`);
  // MPA0004's examples are project configurations, which are recognized by their name
  const name = code === Codes.config ? `${code.toLowerCase()}-${part.toLowerCase()}/${CONFIG_FILE_NAME}` : `${code.toLowerCase()}-${part.toLowerCase()}.${ext}`;
  const findings = engine.lintText(name, fence.body).findings;
  // A policy test file's examples hold the policies they test: decided as `lint` decides them
  if (code !== Codes.policyTestFails && code !== Codes.policyTestProblem) return findings;
  const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
  workspace.update(engine.prepare(engine.read(name, fence.body)));
  return [...findings, ...(new LivePolicyTests().findings(workspace, {}).get(name) ?? [])];
}

/** The first code block of a section of the Wrong/Right part, else of the page, if any. */
function fenceOf(page: string, part: Section, heading: string): Fence | undefined {
  const own = sections(part.lines.join('\n')).find((s) => s.level === 3 && s.heading.toLowerCase() === heading.toLowerCase());
  const shared = section(page, heading, 2);
  return own ? firstFence(own.lines) : shared ? firstFence(shared.lines) : undefined;
}

/**
 * What the editor shows for one example: its lint findings, and the findings of simulating it
 * against the page's traffic (and comparing with the page's HEAD version, when there is one).
 */
async function simulateExample(engine: Engine, code: string, part: string, fence: Fence, traffic: Fence, atHead: Fence | undefined): Promise<Finding[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-policy-rule-docs-'));
  try {
    const path = join(dir, `${code.toLowerCase()}-${part.toLowerCase()}.yaml`);
    writeFileSync(path, fence.body);
    const trafficPath = join(dir, 'traffic.jsonl');
    writeFileSync(trafficPath, traffic.body);
    const workspaceOf = (text: string): WorkspaceModel => {
      const workspace = new WorkspaceModel(defaultConfig(dir));
      workspace.update(engine.prepare(engine.read(path, text)));
      return workspace;
    };
    const workspace = workspaceOf(fence.body);
    const model = await ingestTraffic([trafficPath], { inventory: workspace.inventory, config: workspace.config, keyHeaders: headersTestedBy(workspace), workers: 1 });
    assert.equal(model.stats.skipped, 0, `${code}.md: every traffic line of the ${part} example must be read`);
    const baseline: LiveBaseline | undefined = atHead && { decider: new Simulation(workspaceOf(atHead.body)), files: { ref: 'HEAD', commit: '0'.repeat(40), added: [], deleted: [] } };
    const insight = new LiveInsight(workspace, model.shapes, baseline).next([]);
    return [...engine.lintText(path, fence.body).findings, ...insight.findings(path)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('rule pages (docs/rules)', () => {
  const engine = new Engine();

  it('the codes have distinct entries', () => {
    assert.equal(new Set(ALL_RULES.map((c) => c.code)).size, ALL_RULES.length);
  });

  for (const info of ALL_RULES) {
    describe(info.code, () => {
      const path = join(RULES_DIR, `${info.code}.md`);

      it('has a page with the title line and both examples', () => {
        assert.ok(existsSync(path), `missing docs/rules/${info.code}.md`);
        const page = readPage(info.code);
        const firstLine = page.split(/\r?\n/, 1)[0];
        assert.equal(firstLine, `# ${info.code}: ${info.title}`);
        for (const heading of ['Wrong', 'Right']) {
          const s = section(page, heading, 2);
          assert.ok(s, `${info.code}.md has no "## ${heading}" section`);
          assert.ok(firstFence(s.lines), `${info.code}.md: the ${heading} section has no code block`);
        }
      });

      it('the Wrong example produces the finding shown, the Right example none', async (t) => {
        if (!existsSync(path)) return void assert.fail(`missing docs/rules/${info.code}.md`);
        const page = readPage(info.code);
        if (page.includes(NO_EXAMPLE_CHECK)) return void t.skip('page is marked no-example-check');
        const wrong = section(page, 'Wrong', 2);
        const right = section(page, 'Right', 2);
        assert.ok(wrong && right, `${info.code}.md needs "## Wrong" and "## Right" sections`);
        const wrongFence = firstFence(wrong.lines);
        const rightFence = firstFence(right.lines);
        assert.ok(wrongFence && rightFence, `${info.code}.md: each example section needs a code block`);

        const traffic = [fenceOf(page, wrong, 'Traffic'), fenceOf(page, right, 'Traffic')] as const;
        const atHead = section(page, 'At HEAD', 2);
        const check = (part: 'Wrong' | 'Right', fence: Fence, trafficFence: Fence | undefined): Promise<Finding[]> | Finding[] =>
          trafficFence ? simulateExample(engine, info.code, part, fence, trafficFence, atHead && firstFence(atHead.lines)) : lintExample(engine, info.code, part, fence);
        const wrongFindings = await check('Wrong', wrongFence, traffic[0]);
        const matching = wrongFindings.filter((f) => f.code === info.code);
        assert.ok(matching.length > 0, `${info.code}.md: the Wrong example should produce ${info.code}, got: ${describeFindings(wrongFindings)}`);

        // The output pasted under "What you see" must still be what the CLI prints.
        const shown = section(page, 'What you see', 3);
        assert.ok(shown, `${info.code}.md: the Wrong section needs a "### What you see" part`);
        const shownText = shown.lines.join('\n');
        const first = matching[0]!;
        const line = `:${first.range.start.line + 1}:${first.range.start.character + 1} ${first.severity} ${first.code} ${first.message}`;
        assert.ok(shownText.includes(line), `${info.code}.md: "What you see" is out of date; the engine now reports "${line.slice(1)}"`);

        const rightFindings = (await check('Right', rightFence, traffic[1])).filter((f) => !traffic[1] || f.code === info.code || !f.code.startsWith('MPA4'));
        assert.deepEqual(rightFindings.map((f) => `${f.range.start.line + 1}:${f.range.start.character + 1} ${f.code} ${f.message}`), [], `${info.code}.md: the Right example should be clean`);
      });
    });
  }

  it('no page documents a code the engine does not have', () => {
    const known = new Set<string>(ALL_RULES.map((c) => c.code));
    const pages = readdirSync(RULES_DIR).filter((name) => /^MPA\d+\.md$/.test(name)).map((name) => name.replace(/\.md$/, ''));
    assert.deepEqual(pages.filter((code) => !known.has(code)), []);
  });

  it('the index is the one generated from the registry (npm run docs)', () => {
    const readme = readFileSync(join(RULES_DIR, 'README.md'), 'utf8');
    assert.ok(readme.includes(ruleIndexTable()), 'docs/rules/README.md is out of date: run npm run docs');
  });
});
