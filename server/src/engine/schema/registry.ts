import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { loadCatalog, schemaId, type CatalogEntry, type SchemaCatalog } from './catalog';
import { isSchema, type JsonSchema } from './jsonSchema';

/**
 * Compiles each schema once and hands out validators and schema lookups. A version file that
 * is only a `$ref` to a sibling resolves to that sibling, so error paths and hover lookups are
 * always relative to the schema that holds the definitions.
 */
export class SchemaRegistry {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly validated = new WeakMap<object, { id: string; errors: readonly ErrorObject[] }>();

  constructor(readonly catalog: SchemaCatalog) {
    this.ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    addFormats(this.ajv);
    this.ajv.addVocabulary(['errorMessage', 'markdownDescription']);
    for (const schema of catalog.schemas.values()) this.ajv.addSchema(schema);
  }

  /** The schema that holds the entry's definitions (after following a whole-file `$ref`). */
  rootSchema(entry: CatalogEntry): JsonSchema {
    let id = schemaId(entry);
    for (let hops = 0; hops < 8; hops++) {
      const schema = this.catalog.schemas.get(id);
      if (!schema) throw new Error(`schema ${id} is not in the catalog`);
      if (!schema.$ref || schema.$ref.startsWith('#')) return schema;
      id = new URL(schema.$ref, id).href;
    }
    throw new Error(`schema ${schemaId(entry)} has a $ref cycle`);
  }

  /**
   * The schema's errors for `value`. An object value is validated once per schema: a resource's
   * value is shared by every reader of its text (`resourceValue`) and never changed, so the lint
   * and the simulators' admission (`schemaRefusals`) read the same errors.
   */
  validate(entry: CatalogEntry, value: unknown): readonly ErrorObject[] {
    const root = this.rootSchema(entry);
    const id = root.$id!;
    const object = value !== null && typeof value === 'object' ? value : undefined;
    const kept = object && this.validated.get(object);
    if (kept?.id === id) return kept.errors;
    let validator = this.validators.get(id);
    if (!validator) {
      validator = this.ajv.getSchema(id);
      if (!validator) throw new Error(`schema ${id} did not compile`);
      this.validators.set(id, validator);
    }
    const errors = validator(value) ? [] : [...(validator.errors ?? [])];
    if (object) this.validated.set(object, { id, errors });
    return errors;
  }

  /** Resolves a `#/definitions/...` reference inside the root schema. */
  resolve(root: JsonSchema, schema: JsonSchema): JsonSchema {
    let current = schema;
    for (let hops = 0; current.$ref && hops < 16; hops++) {
      const target = this.pointer(root, current.$ref);
      if (!target) break;
      current = target;
    }
    return current;
  }

  /** The schema object at an Ajv `schemaPath` (`#/properties/spec/...`). */
  pointer(root: JsonSchema, ref: string): JsonSchema | undefined {
    if (!ref.startsWith('#')) return undefined;
    let node: unknown = root;
    for (const raw of ref.slice(1).split('/').filter(Boolean)) {
      const segment = decodeURIComponent(raw.replace(/~1/g, '/').replace(/~0/g, '~'));
      if (node === null || typeof node !== 'object') return undefined;
      node = (node as Record<string, unknown>)[segment];
    }
    return isSchema(node) ? node : undefined;
  }
}

let shared: SchemaRegistry | undefined;

/** The registry of the installed schemas, compiled once per process and shared by the engines and the simulators. */
export function sharedRegistry(): SchemaRegistry {
  return (shared ??= new SchemaRegistry(loadCatalog()));
}
