// Validates every schema fixture against the schemas named in schemas/<mesh>/catalog.json.
// Usage: node scripts/check-schema-fixtures.mjs [mesh]
// Used while writing schemas; the real tests live in test/.
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, extname } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const meshes = process.argv[2] ? [process.argv[2]] : ['istio', 'linkerd', 'consul'];
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
ajv.addVocabulary(['errorMessage', 'markdownDescription']);
const entries = [];
for (const mesh of ['istio', 'linkerd', 'consul']) {
  const dir = join(root, 'schemas', mesh);
  if (!existsSync(join(dir, 'catalog.json'))) continue;
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(readFileSync(join(dir, f), 'utf8')));
  for (const e of JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8'))) entries.push({ ...e, mesh });
}
const schemaId = (e) => `https://mesh-policy.invalid/schemas/${e.mesh}/${e.schema}`;
function entryFor(doc) {
  if (doc && typeof doc === 'object' && typeof doc.apiVersion === 'string') {
    const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : ['', doc.apiVersion];
    return entries.find((e) => e.group === group && e.version === version && e.kind === doc.kind);
  }
  if (doc && typeof doc === 'object') {
    const kindKey = Object.keys(doc).find((k) => k.toLowerCase() === 'kind');
    return entries.find((e) => e.configEntryKind && e.configEntryKind === doc[kindKey]);
  }
}
let failures = 0, checked = 0;
for (const mesh of meshes) {
  for (const sub of ['valid', 'invalid']) {
    const dir = join(root, 'test/fixtures/schemas', mesh, sub);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      const ext = extname(f);
      if (ext === '.hcl') continue; // needs the engine's HCL reader
      const text = readFileSync(join(dir, f), 'utf8');
      const docs = ext === '.json' ? [JSON.parse(text)] : parseAllDocuments(text).map((d) => d.toJS());
      const expects = [...text.matchAll(/^# expect: (\S*) (\S+)/gm)].map((m) => ({ path: m[1], keyword: m[2] }));
      for (const doc of docs) {
        if (doc == null) continue;
        const entry = entryFor(doc);
        if (!entry) { console.log(`FAIL ${mesh}/${sub}/${f}: not recognized`); failures++; continue; }
        const validate = ajv.getSchema(schemaId(entry));
        if (!validate) { console.log(`FAIL ${mesh}/${sub}/${f}: no schema ${schemaId(entry)}`); failures++; continue; }
        checked++;
        const ok = validate(doc);
        const errors = validate.errors ?? [];
        if (sub === 'valid' && !ok) { failures++; console.log(`FAIL ${mesh}/valid/${f}:`, JSON.stringify(errors.map((e) => [e.instancePath, e.keyword, e.message]))); }
        if (sub === 'invalid') {
          if (ok) { failures++; console.log(`FAIL ${mesh}/invalid/${f}: validated cleanly`); continue; }
          for (const x of expects) {
            if (!errors.some((e) => e.instancePath === x.path && e.keyword === x.keyword)) {
              failures++; console.log(`FAIL ${mesh}/invalid/${f}: expected ${x.path} ${x.keyword}, got`, JSON.stringify(errors.map((e) => [e.instancePath, e.keyword])));
            }
          }
          if (expects.length === 0) { failures++; console.log(`FAIL ${mesh}/invalid/${f}: no '# expect:' line`); }
        }
      }
    }
  }
}
console.log(`${checked} documents checked, ${failures} failures`);
process.exit(failures ? 1 : 0);
