import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../server/src/engine/engine';
import { isSchema, type JsonSchema } from '../../server/src/engine/schema/jsonSchema';

/** The schemas feed hover and completion, so every field must explain itself. */
const engine = new Engine();
const catalog = engine.registry.catalog;

function walk(schema: unknown, path: string, visit: (schema: JsonSchema, path: string, isProperty: boolean) => void, isProperty = false): void {
  if (!isSchema(schema)) return;
  visit(schema, path, isProperty);
  for (const [name, sub] of Object.entries(schema.properties ?? {})) walk(sub, `${path}/properties/${name}`, visit, true);
  for (const [name, sub] of Object.entries(schema.definitions ?? {})) walk(sub, `${path}/definitions/${name}`, visit);
  // Combinators (allOf, not, if ...) hold constraints, not fields; they are not walked.
  for (const key of ['items', 'additionalProperties'] as const) walk(schema[key], `${path}/${key}`, visit);
}

describe('schema documentation', () => {
  for (const [id, schema] of catalog.schemas) {
    const file = id.replace(/^.*\/schemas\//, '');
    it(`${file}: every field has a description, every object a title`, () => {
      if (schema.$ref && !schema.$ref.startsWith('#')) {
        assert.ok(schema.title && schema.description, 'a version file needs its own title and description');
        return;
      }
      const missing: string[] = [];
      walk(schema, '#', (s, path, isProperty) => {
        const resolved = s.$ref ? engine.registry.resolve(schema, s) : s;
        if (isProperty && !s.description && !resolved.description) missing.push(`${path}: no description`);
        if ((s.type === 'object' || s.properties) && !s.title && !s.$ref) missing.push(`${path}: object without title`);
      });
      assert.deepEqual(missing, []);
      assert.ok(Array.isArray(schema.examples) && schema.examples.length > 0, 'the top-level schema needs an example document');
    });
  }

  it('every catalog entry has a schema and every example document validates', () => {
    for (const entry of catalog.entries) {
      const root = engine.registry.rootSchema(entry);
      for (const example of root.examples ?? []) {
        if (!example || typeof example !== 'object') continue;
        const errors = engine.registry.validate(entry, example);
        const value = example as { apiVersion?: string };
        // A shared v1/v1beta1 schema carries the example of one version; validate it as that one.
        if (entry.version && value.apiVersion && !value.apiVersion.endsWith(`/${entry.version}`)) continue;
        assert.deepEqual(errors.map((e) => `${e.instancePath} ${e.message}`), [], `${entry.schema}: its own example does not validate`);
      }
    }
  });
});
