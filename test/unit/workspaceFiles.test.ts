import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../server/src/cli/main';
import { defaultConfig } from '../../server/src/engine/config/projectConfig';
import { describeFsError } from '../../server/src/engine/fsErrors';
import { collectTrafficFiles } from '../../server/src/engine/traffic/ingest/files';
import { collectPolicyFiles, type WalkFs } from '../../server/src/engine/workspaceFiles';
import { scratchDir } from '../helpers/scratch';

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
    assert.deepEqual(inside, { files: [], missing: [], loops: [], unreadable: [{ path: join(dir, 'perm2', 'subdir'), reason: 'permission denied' }] });
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
