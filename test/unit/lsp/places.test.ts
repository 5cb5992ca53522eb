import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { relativePlaces } from '../../../server/src/lsp/places';

/**
 * The places of a traffic listing or a walkthrough (server/src/lsp/places.ts): relative to the
 * workspace folder that holds them, as the editor's other views name files.
 */
const CASES: [string, string, string[], string][] = [
  ['a header line', '/ws/policy/servers.yaml:3', ['/ws'], 'policy/servers.yaml:3'],
  ['a walkthrough step: the place in parentheses', '1. `applies` x — Server a/b (/ws/policy/servers.yaml:40)', ['/ws'], '1. `applies` x — Server a/b (policy/servers.yaml:40)'],
  ['a list of log lines', '- /ws/traffic/a.log:3\n- /ws/traffic/b.log:12', ['/ws'], '- traffic/a.log:3\n- traffic/b.log:12'],
  ['the folder that holds the file, of several (nested ones too)', '/ws/a/x.yaml:1 /ws/b.yaml:2', ['/ws', '/ws/a'], 'x.yaml:1 b.yaml:2'],
  ['outside every folder: as it was', '/elsewhere/x.yaml:1 and /wsx/y.yaml:2', ['/ws'], '/elsewhere/x.yaml:1 and /wsx/y.yaml:2'],
  ['a path that only contains the folder\'s path: as it was', '/other/ws/x.yaml:1', ['/ws'], '/other/ws/x.yaml:1'],
  ['in a code span: as it was', 'see `/ws/x.yaml:1` here', ['/ws'], 'see `/ws/x.yaml:1` here'],
  ['a path with a space: as it was', '/ws/my policy.yaml:1', ['/ws'], '/ws/my policy.yaml:1'],
  ['a name with a colon and digits inside: up to the line number', '/ws/a:1b.yaml:7.', ['/ws'], 'a:1b.yaml:7.'],
  ['no folder: as it was', '/ws/x.yaml:1', [], '/ws/x.yaml:1'],
  ['a folder given with its trailing slash', '/ws/x.yaml:1', ['/ws/'], 'x.yaml:1'],
];

describe('places in listings are written relative to the workspace folder', () => {
  for (const [name, markdown, roots, expected] of CASES) {
    it(name, () => assert.equal(relativePlaces(markdown, roots), expected));
  }
});
