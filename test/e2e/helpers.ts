// Shared helpers for the end-to-end tests in test/e2e (compiled to out/test/e2e).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The repository root (this file runs from out/test/e2e). */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const defaultVsixPath = path.join(repoRoot, 'mesh-policy-auditor.vsix');

/** The files the vsix is built from; a vsix older than any of them is rebuilt. */
function packagingInputs(): string[] {
  const inputs = ['dist/client.js', 'dist/server.js', 'dist/cli.js', 'package.json', '.vscodeignore', 'README.md', 'LICENSE']
    .map((f) => path.join(repoRoot, f));
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else inputs.push(p);
    }
  };
  walk(path.join(repoRoot, 'schemas'));
  walk(path.join(repoRoot, 'docs', 'rules'));
  walk(path.join(repoRoot, 'languages'));
  return inputs.filter((f) => fs.existsSync(f));
}

/**
 * The vsix to test: $MESH_POLICY_VSIX if set; else <repo>/mesh-policy-auditor.vsix when it is newer
 * than everything it is built from (e.g. made by `npm run package` just before); else it is built
 * now with scripts/e2e/package-vsix.mjs into a temporary folder (so that concurrent test runs never
 * rewrite a vsix another run is reading; dist/ must already be built).
 */
export function ensureVsix(): string {
  const fromEnv = process.env['MESH_POLICY_VSIX'];
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`MESH_POLICY_VSIX=${fromEnv} does not exist`);
    return path.resolve(fromEnv);
  }
  if (fs.existsSync(defaultVsixPath)) {
    const built = fs.statSync(defaultVsixPath).mtimeMs;
    if (packagingInputs().every((f) => fs.statSync(f).mtimeMs <= built)) return defaultVsixPath;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-policy-vsix-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const built = path.join(dir, path.basename(defaultVsixPath));
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'e2e', 'package-vsix.mjs'), built], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`packaging the vsix failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return built;
}

export interface ZipEntry {
  name: string;
  size: number;
}

/** Lists a zip: `unzip -Z` when available, else the zip's central directory read in JS. */
export function listZip(file: string): ZipEntry[] {
  if (commandExists('unzip')) {
    // zipinfo format: "-rw-r--r--  2.0 unx     1234 b- defN 24-Nov-28 17:31 extension/package.json"
    const out = execFileSync('unzip', ['-Z', '-l', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const entries: ZipEntry[] = [];
    for (const line of out.split('\n')) {
      const m = /^[-dlrwxs?]{10}\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s(.+)$/.exec(line);
      if (m) entries.push({ size: Number(m[1]), name: m[2]! });
    }
    if (entries.length) return entries;
  }
  return readCentralDirectory(fs.readFileSync(file));
}

export function readCentralDirectory(zip: Buffer): ZipEntry[] {
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file (no end-of-central-directory record)');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central directory entry at ${p}`);
    const size = zip.readUInt32LE(p + 24);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    entries.push({ name: zip.toString('utf8', p + 46, p + 46 + nameLength), size });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

export function commandExists(command: string): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
