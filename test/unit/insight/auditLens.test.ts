import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Engine } from '../../../server/src/engine/engine';
import { LiveInsight } from '../../../server/src/engine/insight/live';
import { loadExampleTraffic } from '../../helpers/exampleTraffic';
import { EXAMPLES } from '../../helpers/paths';

// A Linkerd Server in audit mode (`accessPolicy: audit`) admits what its authorizations refuse
// and flags it (linkerd docs "Audit mode"; mesh-semantics §2). Its lens counts the calls only the
// audit authorization admitted: enforced, they are denied. In examples/linkerd the emojivoto-prom
// Server denies Prometheus's scrapes of web's metrics port (its log lines answer 403); put in
// audit mode, it admits exactly those.
describe('lenses: calls only an audit authorization admitted (Linkerd)', () => {
  it('the Server in audit mode says how many of its allowed calls enforcement would deny', async () => {
    const engine = new Engine();
    const example = await loadExampleTraffic(engine, 'linkerd');
    const scrapesDenied = readFileSync(join(EXAMPLES, 'linkerd', 'traffic', 'web.log'), 'utf8').split('\n').filter((l) => l.includes('prometheus.monitoring.serviceaccount') && /:8801\/metrics HTTP\/2\.0" 403$/.test(l)).length;
    assert.ok(scrapesDenied > 0);
    const path = join(EXAMPLES, 'linkerd', 'policy', 'servers.yaml');
    const text = example.texts.get(path)!;
    assert.ok(text.includes('accessPolicy: deny'));
    example.workspace.update(engine.prepare(engine.read(path, text.replace('accessPolicy: deny', 'accessPolicy: audit'))));
    const insight = new LiveInsight(example.workspace, example.shapes).next([]);
    const lens = insight.lenses(path).find((l) => l.item.label === 'Server emojivoto/emojivoto-prom');
    assert.equal(lens?.title, `${scrapesDenied} allowed (${scrapesDenied} only by audit: denied once enforced) · 0 denied · ${scrapesDenied} changed`);
  });
});
