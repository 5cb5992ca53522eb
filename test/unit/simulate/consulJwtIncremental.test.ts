import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { Simulation, resimulate, simulateShapes } from '../../../server/src/engine/simulate';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import type { TrafficShape } from '../../../server/src/engine/traffic/ingest/types';
import { WorkspaceModel } from '../../../server/src/engine/workspace';
import { FIXTURES } from '../../helpers/paths';

// Incremental simulation after an edit of a Consul jwt-provider entry, which is no recognized
// resource: Simulation.update compiles Consul again (`fileInputs`), every Consul call is affected
// (`globals`), the intentions' compiled forms are taken over, and the result equals a new
// Simulation's. Verdicts: jwt-provider reference (Issuer must equal the token's iss; Audiences,
// when listed, must name one of its aud) and the docs' JWT intention (docs-jwt.hcl).

const engine = new Engine();
const FIX = join(FIXTURES, 'simulate', 'consul');
const INTENTIONS = join(FIX, 'docs-jwt.hcl');
const PROVIDER = join(FIX, 'jwt-provider-okta.hcl');

const call = (issuer: string, aud?: string[]): AccessRecord => ({
  mesh: 'consul', protocol: 'http',
  source: { principal: 'spiffe://7d4e1f2a-0b1c-4d2e-9f30-a1b2c3d4e5f6.consul/ns/default/dc/dc1/svc/frontend' },
  destination: { service: 'backend' },
  request: { method: 'GET', path: '/admin', jwt: { valid: true, issuer, claims: { perms: { role: 'admin' } }, ...(aud ? { audiences: aud } : {}) } },
  observed: 'allowed',
});
const shapes: TrafficShape[] = [call('okta'), call('https://evil.example'), call('okta', ['backend-api'])].map((record, i) => ({ key: `k${i}`, record, count: 1 }) as unknown as TrafficShape);

// [edit, new text of the provider file (from the fixture's), verdicts of the three calls after it]
const EDITS: [string, (text: string) => string, string[]][] = [
  ['Issuer changed', (t) => t.replace('Issuer = "okta"', 'Issuer = "https://evil.example"'), ['deny', 'allow', 'deny']],
  ['Audiences added', (t) => t.replace('Issuer = "https://evil.example"', 'Issuer = "okta"\nAudiences = ["backend-api"]'), ['deny', 'deny', 'allow']],
  ['a comment added above: the place traces cite moved', (t) => `# moved\n${t}`, ['deny', 'deny', 'allow']],
  ['the entry removed: no provider is defined, a single provider takes a valid token as its own', () => '# no entry\n', ['allow', 'allow', 'allow']],
];

describe('incremental simulation: Consul jwt-provider entries', () => {
  it('an edited entry recompiles Consul, affects every Consul call, and equals a new simulation', () => {
    const workspace = new WorkspaceModel(defaultConfig(FIX));
    workspace.config.consul = { defaultIntentionPolicy: 'deny' };
    for (const path of [INTENTIONS, PROVIDER]) workspace.update(engine.prepare(engine.read(path, readFileSync(path, 'utf8'))));
    const simulation = new Simulation(workspace);
    let result = simulateShapes(simulation, shapes);
    assert.deepEqual(result.outcomes.map((o) => o.decision.verdict), ['allow', 'deny', 'allow']);
    let text = readFileSync(PROVIDER, 'utf8');
    for (const [name, edit, verdicts] of EDITS) {
      text = edit(text);
      workspace.update(engine.prepare(engine.read(PROVIDER, text)));
      const update = simulation.update(workspace, [PROVIDER]);
      assert.deepEqual(update.recompiled, ['consul'], name);
      assert.deepEqual(update.wholeMesh, ['consul'], name);
      assert.deepEqual(simulation.compileCounts('consul'), { compiled: 0, reused: 1 }, `${name}: the intentions' forms are taken over`);
      result = resimulate(result, simulation, update.affects);
      const fresh = simulateShapes(new Simulation(workspace), shapes);
      assert.deepEqual(result.outcomes.map((o) => o.decision.verdict), verdicts, name);
      assert.deepEqual(result.outcomes.map((o) => o.decision), fresh.outcomes.map((o) => o.decision), name);
    }
  });
});
