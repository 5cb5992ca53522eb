import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AUDIT_TIME_BUCKET_MS, buildAuditModel, renderReportHtml, renderTrafficMapHtml, type AuditModel } from '../../server/src/engine/audit';
import { defaultConfig } from '../../server/src/engine/config/projectConfig';
import { Engine } from '../../server/src/engine/engine';
import { Simulation, simulateShapes } from '../../server/src/engine/simulate';
import { ingestTraffic } from '../../server/src/engine/traffic/ingest';
import { collectPolicyFiles } from '../../server/src/engine/workspaceFiles';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { EXAMPLES, REPO_ROOT } from '../helpers/paths';

/**
 * Renders the HTML report and the traffic map in headless Chromium (playwright-core with the
 * system browser), with every network request blocked and recorded, saves screenshots to
 * test-results/audit/ (git-ignored) and checks the DOM.
 */
const CHROMIUM = '/usr/bin/chromium';
const RESULTS = join(REPO_ROOT, 'test-results', 'audit');
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}: the headless rendering test needs the system browser`;

async function exampleModel(): Promise<AuditModel> {
  const engine = new Engine();
  const workspace = new WorkspaceModel(defaultConfig(REPO_ROOT));
  for (const path of collectPolicyFiles([join(EXAMPLES, 'istio')]).files) workspace.update(engine.prepare(engine.read(path, readFileSync(path, 'utf8'))));
  const traffic = await ingestTraffic([join(EXAMPLES, 'istio', 'traffic')], { inventory: workspace.inventory, config: workspace.config, timeBucketMs: AUDIT_TIME_BUCKET_MS, workers: 1 });
  const result = simulateShapes(new Simulation(workspace), traffic.shapes);
  return buildAuditModel({ stats: traffic.stats, result, workspace }, { displayPath: (p) => p.slice(REPO_ROOT.length + 1) });
}

/**
 * Clicks an edge of the map halfway along its line, as a person would: the middle of its bounding
 * box is off the line of a curved edge (one that bends back to a node of the same column).
 */
async function clickEdge(page: import('playwright-core').Page, index: number): Promise<void> {
  const point = await page.locator(`g.edge[data-edge="${index}"] path.hit`).evaluate((element) => {
    // (SVGPathElement's members; the tests are compiled without the DOM's types)
    const path = element as unknown as { getTotalLength(): number; getPointAtLength(at: number): { x: number; y: number }; getScreenCTM(): { a: number; b: number; c: number; d: number; e: number; f: number } | null };
    const middle = path.getPointAtLength(path.getTotalLength() / 2);
    const screen = path.getScreenCTM()!;
    return { x: screen.a * middle.x + screen.c * middle.y + screen.e, y: screen.b * middle.x + screen.d * middle.y + screen.f };
  });
  await page.mouse.click(point.x, point.y);
}

describe('audit HTML in headless Chromium', { skip }, () => {
  it('renders the report and the traffic map offline; clicking an edge lists its calls and deciding rules', async () => {
    const { chromium } = await import('playwright-core');
    const model = await exampleModel();
    mkdirSync(RESULTS, { recursive: true });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.route('**/*', (route) => { requests.push(route.request().url()); return route.abort(); });

      // the report
      const report = renderReportHtml(model);
      writeFileSync(join(RESULTS, 'report.html'), report);
      await page.setContent(report, { waitUntil: 'load' });
      await page.screenshot({ path: join(RESULTS, 'report.png'), fullPage: true });
      assert.equal(await page.locator('[data-total="calls"] b').textContent(), model.totals.calls.toLocaleString('en-US'));
      assert.equal(await page.locator('[data-total="newly-denied"] b').textContent(), model.totals.newlyDenied.toLocaleString('en-US'));
      assert.equal(await page.locator('table[data-table="matrix"] tbody tr').count(), model.matrix.sources.length);
      assert.equal(await page.locator('svg.trend [data-point]').count(), model.trends.points.length);
      assert.equal(await page.locator('table[data-table="newly-denied"] tbody tr').count(), model.violations.newlyDenied.rows.length + (model.violations.newlyDenied.more ? 1 : 0));
      assert.equal(await page.locator('table[data-table="unused"] tbody tr').count(), model.unusedRules.rows.length);
      const sections = await page.locator('section h2').allTextContents();
      assert.deepEqual(sections, ['Trends', 'Traffic matrix', 'Violations', 'Most-accessed services and busiest callers', 'Workloads receiving traffic with no policy', 'Unused rules', 'Risky patterns']);
      const bar = await page.locator('svg.trend rect').first().boundingBox();
      assert.ok(bar && bar.height > 10, 'the trend chart draws bars');

      // the traffic map
      const map = renderTrafficMapHtml(model);
      writeFileSync(join(RESULTS, 'map.html'), map);
      await page.setContent(map, { waitUntil: 'load' });
      assert.equal(await page.locator('g.edge').count(), model.map.edges.length);
      const newlyDenied = model.map.edges.findIndex((e) => e.state === 'newly-denied');
      assert.ok(newlyDenied >= 0, 'the example has an edge the policies newly deny');
      const edge = model.map.edges[newlyDenied]!;
      assert.equal(await page.locator(`g.edge[data-edge="${newlyDenied}"] path.line`).getAttribute('stroke'), '#ef6c00');
      await clickEdge(page, newlyDenied);
      assert.equal(await page.locator('#details').getAttribute('data-selected'), String(newlyDenied));
      assert.equal(await page.locator('#details h3').first().textContent(), `${edge.source} → ${edge.destination}`);
      assert.equal(await page.locator('#details tr.call').count(), edge.rows.length);
      const link = page.locator('#details a.rule').first();
      const rule = edge.rules[0]!;
      assert.equal(await link.getAttribute('data-file'), rule.file);
      assert.equal(await link.getAttribute('data-line'), String(rule.line));
      // the host hook: clicking a rule reports its file and line
      await page.evaluate("window.opened = []; document.addEventListener('meshpolicy:open', (e) => window.opened.push(e.detail));");
      await link.click();
      assert.deepEqual(await page.evaluate('window.opened'), [{ file: rule.file, line: rule.line }]);
      await page.screenshot({ path: join(RESULTS, 'map.png'), fullPage: true });
      assert.equal(await page.locator('#details button[data-fix]').count(), 0, 'a map for a file offers no actions');

      // in the editor's webview: the edge's action buttons report the edge and the action to the host
      await page.setContent(renderTrafficMapHtml(model, { edgeActions: true }), { waitUntil: 'load' });
      await clickEdge(page, newlyDenied);
      const allow = page.locator('#details button[data-fix="allow"]');
      assert.equal(await allow.textContent(), 'Allow these calls');
      assert.equal(await allow.getAttribute('data-source'), edge.source);
      assert.equal(await allow.getAttribute('data-destination'), edge.destination);
      assert.equal(await page.locator('#details button[data-fix="deny"]').count(), edge.decision.allow > 0 ? 1 : 0);
      await page.evaluate("window.fixes = []; window.meshPolicyHost = { fixEdge: (s, d, a) => window.fixes.push([s, d, a]) }; document.addEventListener('meshpolicy:fix', (e) => window.fixes.push(e.detail));");
      await allow.click();
      assert.deepEqual(await page.evaluate('window.fixes'), [{ source: edge.source, destination: edge.destination, action: 'allow' }, [edge.source, edge.destination, 'allow']]);
      await page.screenshot({ path: join(RESULTS, 'map-actions.png'), fullPage: true });

      assert.deepEqual(errors, [], 'no script error');
      assert.deepEqual(requests, [], 'no network request');
    } finally {
      await browser.close();
    }
  });
});
