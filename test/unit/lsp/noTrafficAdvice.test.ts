import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultConfig, DEFAULT_TRAFFIC_GLOBS, type ProjectConfig } from '../../../server/src/engine/config/projectConfig';
import { emptyTrafficAdvice, type TrafficStatus } from '../../../server/src/lsp/traffic';
import { noTrafficMarkdown } from '../../../server/src/lsp/trafficRequests';

/**
 * What the editor says when no access log was found (status bar tooltip, traffic views): it must
 * match where the traffic globs came from. With no `.meshpolicy.yaml` the default globs apply
 * and the way out is to create one with `traffic:` (or the setting meshPolicy.configFile); with
 * one, its globs (or the defaults it leaves in place) are what matched nothing.
 */
const ROOT = join('/', 'work', 'shop');

function config(change: Partial<ProjectConfig>): ProjectConfig {
  return { ...defaultConfig(ROOT), ...change };
}

describe('the advice when no access log is found', () => {
  const cases: [string, ProjectConfig, RegExp[], RegExp[]][] = [
    ['no .meshpolicy.yaml', config({}),
      [/no file in the workspace matches the default traffic globs/, /`\*\*\/\*\.log`, `\*\*\/\*\.log\.gz`, `\*\*\/\*\.jsonl`/, /there is no `\.meshpolicy\.yaml`/, /create `\.meshpolicy\.yaml` at the root of the workspace with a `traffic:` list of globs/, /`meshPolicy\.configFile`/],
      [/globs of/]],
    ['a .meshpolicy.yaml without traffic:', config({ file: join(ROOT, '.meshpolicy.yaml') }),
      [/`\.meshpolicy\.yaml` has no `traffic:` list, so the default globs/, /Add a `traffic:` list of globs that match the access logs to `\.meshpolicy\.yaml`/],
      [/create/, /there is no/]],
    ['a .meshpolicy.yaml whose globs match nothing', config({ file: join(ROOT, 'ops', '.meshpolicy.yaml'), traffic: ['logs/**/*.txt'] }),
      [/no file in the workspace matches the `traffic:` globs of `ops\/\.meshpolicy\.yaml` \(`logs\/\*\*\/\*\.txt`\)/, /Change them/],
      [/default/, /create/]],
    ['a configuration outside the workspace (meshPolicy.configFile)', config({ file: join('/', 'etc', 'mesh', 'policy.yaml'), traffic: ['*.log'] }),
      [/the `traffic:` globs of `\/etc\/mesh\/policy\.yaml`/],
      [/default/]],
    ['a configuration that could not be read', config({ file: join(ROOT, 'missing.yaml'), unusable: true }),
      [/`missing\.yaml` could not be read/, /the default traffic globs \(`\*\*\/\*\.log`/, /Fix `missing\.yaml` or the setting `meshPolicy\.configFile`/],
      [/create/]],
  ];
  for (const [what, given, says, doesNotSay] of cases) {
    it(`with ${what}`, () => {
      const advice = emptyTrafficAdvice(given, [ROOT]);
      for (const pattern of says) assert.match(advice, pattern);
      for (const pattern of doesNotSay) assert.doesNotMatch(advice, pattern);
    });
  }

  it('names the workspace folders when there are several', () => {
    assert.match(emptyTrafficAdvice(config({}), [ROOT, join('/', 'work', 'other')]), /no file in the workspace folders matches/);
  });

  it('lists every default glob', () => {
    const advice = emptyTrafficAdvice(config({}), [ROOT]);
    for (const glob of DEFAULT_TRAFFIC_GLOBS) assert.ok(advice.includes(`\`${glob}\``), glob);
  });
});

describe('what a traffic view says with no simulation to answer it', () => {
  const status = (change: Partial<TrafficStatus>): TrafficStatus => ({ state: 'empty', files: 0, lines: 0, skipped: 0, calls: 0, shapes: 0, policies: 0, newlyDenied: 0, newlyAllowed: 0, unknown: 0, ...change });
  const cases: [string, TrafficStatus, RegExp][] = [
    ['no access log found: the advice', status({ advice: 'No access logs found: THE ADVICE' }), /^No observed traffic is loaded\. No access logs found: THE ADVICE$/],
    ['still reading', status({ state: 'loading' }), /being read/],
    ['traffic off, and why', status({ state: 'off', message: 'the workspace is not trusted' }), /only lints here \(the workspace is not trusted\)/],
    ['reading failed, and why', status({ state: 'failed', message: 'EACCES' }), /could not be read \(EACCES\)/],
    ['logs read that gave no call', status({ state: 'ready', files: 2, lines: 10 }), /\(2 files, 10 lines\) gave no call/],
    ['calls read, simulation failed', status({ state: 'ready', files: 2, lines: 10, calls: 5 }), /the simulation of the calls read failed/],
  ];
  for (const [what, given, says] of cases) {
    it(`when ${what}`, () => assert.match(noTrafficMarkdown(given), says));
  }
});
