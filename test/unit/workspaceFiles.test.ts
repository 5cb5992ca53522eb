import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../server/src/cli/main';
import { defaultConfig } from '../../server/src/engine/config/projectConfig';
import { describeFsError } from '../../server/src/engine/fsErrors';
import { collectTrafficFiles } from '../../server/src/engine/traffic/ingest/files';
import { collectPolicyFiles, type WalkFs } from '../../server/src/engine/workspaceFiles';
import { FIXTURES, REPO_ROOT } from '../helpers/paths';
import { scratchDir } from '../helpers/scratch';
import { mkfifo } from '../helpers/unreadable';

const dir = scratchDir('mesh-policy-walk-');
const POLICY = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\nspec:\n  action: allow\n';

function run(args: string[]): { code: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const code = runCli(args, { stdout: (t) => { stdout += `${t}\n`; }, stderr: (t) => { stderr += `${t}\n`; }, cwd: dir });
  return { code, stdout, stderr };
}

/** A file system that refuses the folders in `denied` as a chmod 000 folder does to a non-root user. */
function refusing(denied: string[]): WalkFs {
  const eacces = (path: string): Error => Object.assign(new Error(`EACCES: permission denied, scandir '${path}'`), { code: 'EACCES' });
  return {
    statSync: (path) => fs.statSync(path),
    readdirSync: (path) => {
      if (denied.includes(path)) throw eacces(path);
      return fs.readdirSync(path);
    },
  };
}

describe('file discovery', () => {
  // loop/sub/x.yaml, loop/sub/up -> .., loop/self -> ../loop
  fs.mkdirSync(join(dir, 'loop', 'sub'), { recursive: true });
  fs.writeFileSync(join(dir, 'loop', 'sub', 'x.yaml'), POLICY);
  fs.symlinkSync('..', join(dir, 'loop', 'sub', 'up'));
  fs.symlinkSync('../loop', join(dir, 'loop', 'self'));
  // tloop/f.log, tloop/self -> ../tloop
  fs.mkdirSync(join(dir, 'tloop'));
  fs.writeFileSync(join(dir, 'tloop', 'f.log'), '');
  fs.symlinkSync('../tloop', join(dir, 'tloop', 'self'));

  it('reads each real file once through symbolic link loops, and names the loops', () => {
    const walk = collectPolicyFiles([join(dir, 'loop')]);
    assert.deepEqual(walk.files, [join(dir, 'loop', 'sub', 'x.yaml')]);
    assert.deepEqual(walk.loops, [join(dir, 'loop', 'self'), join(dir, 'loop', 'sub', 'up')]);
    assert.deepEqual(collectTrafficFiles([join(dir, 'tloop')], defaultConfig(dir)).files, [join(dir, 'tloop', 'f.log')]);
  });

  it('a symbolic link that leads back to itself: a note in a folder, unreadable (exit 2) when named', () => {
    fs.mkdirSync(join(dir, 'cycle'));
    fs.writeFileSync(join(dir, 'cycle', 'x.yaml'), POLICY);
    fs.symlinkSync('self.yaml', join(dir, 'cycle', 'self.yaml'));
    const walk = collectPolicyFiles([join(dir, 'cycle')]);
    assert.deepEqual(walk.files, [join(dir, 'cycle', 'x.yaml')]);
    assert.deepEqual(walk.skipped, [{ path: join(dir, 'cycle', 'self.yaml'), reason: 'a symbolic link that leads back to itself (a loop), to no file' }]);
    const folder = run(['lint', 'cycle']);
    assert.match(folder.stderr, /note: skipped "cycle\/self\.yaml": a symbolic link that leads back to itself \(a loop\), to no file/);
    const named = run(['lint', join('cycle', 'self.yaml')]);
    assert.equal(named.code, 2);
    assert.match(named.stderr, /cannot read "cycle\/self\.yaml": too many symbolic links \(a loop\)/);
  });

  it('lint through a loop: one finding, a note on stderr, not an error', () => {
    const result = run(['lint', 'loop']);
    assert.equal(result.code, 1, 'the policy\'s own error');
    assert.equal(result.stdout.trim().split('\n').length, 1);
    assert.match(result.stderr, /note: skipped "loop\/self": a symbolic link back to a folder already being read \(a loop\)/);
    assert.match(result.stderr, /in 1 policy from 1 file/);
  });

  it('an unreadable folder is named with "permission denied", not skipped', () => {
    fs.mkdirSync(join(dir, 'perm2', 'subdir'), { recursive: true });
    fs.writeFileSync(join(dir, 'perm2', 'subdir', 'p.yaml'), POLICY);
    const inside = collectPolicyFiles([join(dir, 'perm2')], undefined, refusing([join(dir, 'perm2', 'subdir')]));
    assert.deepEqual(inside, { files: [], missing: [], loops: [], skipped: [], empty: [], unreadable: [{ path: join(dir, 'perm2', 'subdir'), reason: 'permission denied' }] });
    const given = collectPolicyFiles([join(dir, 'perm2', 'subdir')], undefined, refusing([join(dir, 'perm2', 'subdir')]));
    assert.deepEqual(given.unreadable, [{ path: join(dir, 'perm2', 'subdir'), reason: 'permission denied' }]);
    assert.deepEqual(given.missing, []);
  });

  it('lint of a chmod 000 folder or file exits 2 and says "permission denied" (as a non-root user)', (t) => {
    if (process.getuid?.() === 0) {
      t.skip('root reads every folder; the walk itself is tested with a refusing file system above');
      return;
    }
    fs.mkdirSync(join(dir, 'perm3', 'subdir'), { recursive: true });
    fs.writeFileSync(join(dir, 'perm3', 'p.yaml'), POLICY);
    fs.chmodSync(join(dir, 'perm3', 'subdir'), 0);
    fs.chmodSync(join(dir, 'perm3', 'p.yaml'), 0);
    try {
      for (const path of ['perm3', 'perm3/subdir']) {
        const result = run(['lint', path]);
        assert.equal(result.code, 2, path);
        assert.match(result.stderr, /cannot read "perm3\/subdir": permission denied/, path);
      }
      assert.match(run(['lint', 'perm3/p.yaml']).stderr, /cannot read "perm3\/p.yaml": permission denied/);
    } finally {
      fs.chmodSync(join(dir, 'perm3', 'subdir'), 0o755);
      fs.chmodSync(join(dir, 'perm3', 'p.yaml'), 0o644);
    }
  });

  it('file system errors are said in words', () => {
    const cases: [string, string][] = [
      ['ENOENT', 'no such file or folder'],
      ['EACCES', 'permission denied'],
      ['EPERM', 'permission denied'],
      ['EISDIR', 'is a folder'],
      ['ELOOP', 'too many symbolic links (a loop)'],
    ];
    for (const [code, words] of cases) assert.equal(describeFsError(Object.assign(new Error(code), { code })), words);
  });
});


describe('what is not a regular file: named pipes and devices', () => {
  // special/x.yaml, special/p.yaml (a named pipe), special/zero.yaml -> /dev/zero;
  // special/tf/one.log, special/tf/pipe.log (a named pipe)
  const special = join(dir, 'special');
  fs.mkdirSync(join(special, 'tf'), { recursive: true });
  fs.writeFileSync(join(special, 'x.yaml'), POLICY);
  fs.symlinkSync('/dev/zero', join(special, 'zero.yaml'));
  fs.writeFileSync(join(special, 'tf', 'one.log'), `${fs.readFileSync(join(FIXTURES, 'traffic', 'formats', 'istio-text.log'), 'utf8').split('\n')[0]}\n`);
  const pipes = mkfifo(join(special, 'p.yaml')) && mkfifo(join(special, 'tf', 'pipe.log'));
  const PIPE = 'is a named pipe, not a regular file';
  const DEVICE = 'is a device, not a regular file';

  // (a walk that opened a pipe would block for good: each test has a timeout to fail instead)
  it('a folder walk skips them, with why; named, they are listed for the reader to refuse', { timeout: 10_000 }, (t) => {
    if (!pipes) return t.skip('mkfifo is not available');
    const walk = collectPolicyFiles([special]);
    assert.deepEqual(walk.files, [join(special, 'x.yaml')]);
    // the logs under special/tf are not policy files: no note for them
    assert.deepEqual(walk.skipped, [{ path: join(special, 'p.yaml'), reason: PIPE }, { path: join(special, 'zero.yaml'), reason: DEVICE }]);
    const traffic = collectTrafficFiles([join(special, 'tf')], defaultConfig(dir));
    assert.deepEqual([traffic.files, traffic.skipped], [[join(special, 'tf', 'one.log')], [{ path: join(special, 'tf', 'pipe.log'), reason: PIPE }]]);
    const named = collectPolicyFiles([join(special, 'p.yaml'), '/dev/zero']);
    assert.deepEqual([named.files, named.skipped], [[join(special, 'p.yaml'), '/dev/zero'], []]);
  });

  // [what, arguments, exit code, what stderr says]: a real process each, stopped if it hangs
  const CASES: [string, string[], number, RegExp[]][] = [
    ['lint of a folder: a note each, the rest linted', ['lint', 'special'], 1, [new RegExp(`note: skipped "special/p.yaml": ${PIPE}`), new RegExp(`note: skipped "special/zero.yaml": ${DEVICE}`), /in 1 policy from 1 file/]],
    ['lint of a named pipe', ['lint', 'special/p.yaml'], 2, [new RegExp(`cannot read "special/p.yaml": ${PIPE}`)]],
    ['lint of /dev/zero', ['lint', '/dev/zero'], 2, [new RegExp(`dev/zero": ${DEVICE}`)]],
    ['lint --inventory a named pipe', ['lint', 'special/x.yaml', '--inventory', 'special/p.yaml'], 2, [new RegExp(`cannot read "special/p.yaml": ${PIPE}`)]],
    ['lint --config a named pipe', ['lint', 'special/x.yaml', '--config', 'special/p.yaml'], 2, [new RegExp(`p.yaml: ${PIPE}`)]],
    ['traffic of a folder with a named pipe', ['traffic', '--no-inventory', 'special/tf'], 0, [new RegExp(`special/tf/pipe.log: skipped, ${PIPE}`)]],
    ['traffic of a named pipe', ['traffic', '--no-inventory', 'special/tf/pipe.log'], 2, [new RegExp(`cannot read "special/tf/pipe.log": ${PIPE}`)]],
    ['traffic --inventory a folder with a named pipe', ['traffic', 'special/tf/one.log', '--inventory', 'special'], 0, [new RegExp(`inventory: .*special/p.yaml: skipped, ${PIPE}`)]],
    ['simulate --policies /dev/zero', ['simulate', '--policies', '/dev/zero', '--traffic', 'special/tf/one.log'], 2, [new RegExp(`dev/zero": ${DEVICE}`)]],
    ['simulate --traffic a named pipe', ['simulate', '--policies', 'special/x.yaml', '--traffic', 'special/tf/pipe.log'], 2, [new RegExp(`special/tf/pipe.log: ${PIPE}`)]],
  ];
  for (const [name, args, code, said] of CASES) {
    it(`${name}: exits ${code}`, { timeout: 30_000 }, (t) => {
      if (!pipes) return t.skip('mkfifo is not available');
      const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'mesh-policy.js'), ...args], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
      assert.equal(result.signal, null, `stopped after 20 s: it hung (stderr: ${result.stderr.slice(0, 500)})`);
      assert.equal(result.status, code, result.stderr.slice(0, 1000));
      for (const words of said) assert.match(result.stderr, words);
    });
  }
});
