// Generated inputs shared by the benchmarks: one synthetic mesh per line count under
// bench/.data/mesh-<lines>/ (git-ignored), made by bench/generate.mjs with fixed flags. Log files
// are reused while the manifest says they were made with the same flags.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const MESH_FLAGS = { namespaces: 20, services: 200, policies: 1000, seed: 8, mesh: 'all' };

/** The mesh folder for `lines` lines per format, generating the formats it does not have yet. */
export async function ensureMesh(lines, formats) {
  const dir = join(HERE, '.data', `mesh-${lines}`);
  const malformedEvery = Math.max(1000, Math.floor(lines / 4));
  const flags = { ...MESH_FLAGS, lines, malformedEvery };
  const manifestPath = join(dir, 'manifest.json');
  let manifest = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : undefined;
  const same = manifest && Object.entries(flags).every(([k, v]) => manifest.flags[k] === v);
  const have = same ? Object.keys(manifest.files) : [];
  const missing = formats.filter((f) => !have.includes(f));
  // policies and inventory are small: always rewritten, so they follow the generator's code
  if (missing.length) process.stderr.write(`generating ${missing.join(', ')} (${lines.toLocaleString('en-US')} lines each) into ${dir} ...\n`);
  const made = (await generate({ ...flags, out: dir, formats: missing })).manifest;
  manifest = { flags: made.flags, files: { ...(same ? manifest.files : {}), ...made.files } };
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, manifest, inventory: join(dir, 'inventory', 'cluster.yaml') };
}
