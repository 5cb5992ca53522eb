import type { ErrorObject } from 'ajv';
import { Codes, type Code } from '../codes';
import { addField, replaceScalar, renameKey, spanEdit, wrapInList } from '../edits';
import type { Finding, Fix, Severity, TextEdit } from '../findings';
import type { Resource } from '../resource';
import type { SourceFile } from '../source/sourceFile';
import { admittedValue, locate, type NodePath, type ScalarNode, type SourceNode, type Span } from '../source/tree';
import { isSchema, type JsonSchema } from './jsonSchema';
import { closestMatch, closestMatches, describeType, describeValue, explainPattern, listWords, plural, truncate, typeOfValue } from './messages';
import { expand, firstWith, safeTest } from './navigate';
import type { SchemaRegistry } from './registry';

const COMBINATORS = new Set(['oneOf', 'anyOf', 'not', 'if']);

/** Validates one resource against its schema and turns every error into a finding a person can
 * act on: the offending key or value as the range, plain words, and a fix where one is obvious. */
export function schemaFindings(file: SourceFile, resource: Resource, registry: SchemaRegistry, value: unknown = admittedValue(resource.node)): Finding[] {
  return findingsOf(file, resource, registry, registry.validate(resource.entry, value));
}

/**
 * Why the API server refuses to store a Kubernetes resource for its schema (the CRD's OpenAPI
 * schema and CEL rules, which ours follow): the messages of the schema's errors. Unknown fields
 * are left out: the API server drops them from the object it stores unless the client asks for
 * strict field validation (kubectl does, and is then refused; Helm and GitOps controllers
 * mostly do not), so the object is read as stored, without them. The lint reports them all.
 */
export function schemaRefusals(file: SourceFile, resource: Resource, registry: SchemaRegistry, value: unknown = admittedValue(resource.node)): string[] {
  const errors = registry.validate(resource.entry, value).filter((error) => error.keyword !== 'additionalProperties');
  return findingsOf(file, resource, registry, errors).filter((finding) => finding.severity === 'error').map((finding) => finding.message);
}

/** A value as the API server stores it, and the unknown fields it dropped (`a.b[0].c`). */
export interface StoredValue {
  value: Record<string, unknown>;
  dropped: string[];
}

/**
 * `value` as the API server stores it: without the fields its schema does not know (structural
 * pruning; what the validating webhooks then see). Parts without such a field are shared with
 * `value`, which is left as it is.
 */
export function storedValue(resource: Resource, registry: SchemaRegistry, value: Record<string, unknown>): StoredValue {
  const unknown = registry.validate(resource.entry, value).filter((error) => error.keyword === 'additionalProperties');
  if (unknown.length === 0) return { value, dropped: [] };
  /** Each unknown key, and the instance path of the object that holds it. */
  const drops: { path: string[]; key: string }[] = unknown.map((error) => ({
    path: error.instancePath.split('/').slice(1).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~')),
    key: String((error.params as { additionalProperty?: unknown }).additionalProperty),
  }));
  const copied = new Map<object, Record<string, unknown> | unknown[]>();
  const root = { ...value };
  copied.set(value, root);
  for (const { path, key } of drops) {
    let original: unknown = value;
    let copy: Record<string, unknown> | unknown[] | undefined = root;
    for (const segment of path) {
      const child: unknown = Array.isArray(original) ? original[Number(segment)] : (original as Record<string, unknown>)[segment];
      if (child === null || typeof child !== 'object') {
        copy = undefined;
        break;
      }
      let childCopy = copied.get(child);
      if (!childCopy) copied.set(child, (childCopy = Array.isArray(child) ? [...child] : { ...(child as Record<string, unknown>) }));
      if (Array.isArray(copy)) copy[Number(segment)] = childCopy;
      else copy[segment] = childCopy;
      original = child;
      copy = childCopy;
    }
    if (copy !== undefined && !Array.isArray(copy)) delete copy[key];
  }
  const dropped = drops.map(({ path, key }) => [...path, key].reduce((text, segment) => (/^\d+$/.test(segment) ? `${text}[${segment}]` : text ? `${text}.${segment}` : segment), ''));
  return { value: root, dropped };
}

function findingsOf(file: SourceFile, resource: Resource, registry: SchemaRegistry, errors: readonly ErrorObject[]): Finding[] {
  if (errors.length === 0) return [];
  const root = registry.rootSchema(resource.entry);
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const error of condense(errors)) {
    const finding = describeError(file, resource, error, errors, root, registry);
    const key = `${finding.range.start.line}:${finding.range.start.character}:${finding.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push(finding);
  }
  return findings;
}


interface Reported {
  error: ErrorObject;
  message?: string;
  /** The errors inside the rule whose own message replaced theirs (a fix may still come from one). */
  replaced?: ErrorObject[];
}

/**
 * Ajv reports every failed branch of a oneOf/anyOf and the "must match then" of an if. A person
 * wants one statement per problem: the rule's own errorMessage when the schema gives one, or
 * else the errors of the branch that came closest.
 */
function condense(errors: readonly ErrorObject[]): Reported[] {
  // Errors inside propertyNames repeat what the propertyNames error says, without the key.
  const dropped = new Set<ErrorObject>(errors.filter((e) => (e as { propertyName?: string }).propertyName !== undefined && e.keyword !== 'propertyNames'));
  const messages = new Map<ErrorObject, string>();
  const replaced = new Map<ErrorObject, ErrorObject[]>();
  const combinators = errors.filter((e) => COMBINATORS.has(e.keyword)).sort((a, b) => b.schemaPath.length - a.schemaPath.length);
  for (const combinator of combinators) {
    if (dropped.has(combinator)) continue;
    // Ajv restarts schemaPath at every $ref, so the owner comes from parentSchema, not a lookup.
    const ownerPath = combinator.schemaPath.slice(0, combinator.schemaPath.lastIndexOf('/'));
    const owner = combinator.parentSchema as JsonSchema | undefined;
    const branchPrefix = combinator.keyword === 'if' ? ownerPath + '/' : combinator.schemaPath + '/';
    const branchErrors = errors.filter((e) => e !== combinator && e.schemaPath.startsWith(branchPrefix) && e.instancePath.startsWith(combinator.instancePath) && !dropped.has(e));
    if (owner?.errorMessage) {
      branchErrors.forEach((e) => dropped.add(e));
      messages.set(combinator, owner.errorMessage);
      replaced.set(combinator, branchErrors);
      continue;
    }
    if (combinator.keyword === 'if') {
      dropped.add(combinator);
      continue;
    }
    if ((combinator.keyword === 'oneOf' || combinator.keyword === 'anyOf') && branchErrors.length) {
      const byBranch = new Map<string, ErrorObject[]>();
      for (const e of branchErrors) {
        const branch = e.schemaPath.slice(branchPrefix.length).split('/')[0]!;
        byBranch.set(branch, [...(byBranch.get(branch) ?? []), e]);
      }
      const best = [...byBranch.values()].sort((a, b) => rank(a) - rank(b))[0]!;
      branchErrors.filter((e) => !best.includes(e)).forEach((e) => dropped.add(e));
      dropped.add(combinator);
    }
  }
  return errors.filter((e) => !dropped.has(e)).map((error) => ({
    error,
    ...(messages.has(error) ? { message: messages.get(error)! } : {}),
    ...(replaced.has(error) ? { replaced: replaced.get(error)! } : {}),
  }));
}

/** Prefer the branch whose errors are about details, not about the value's whole shape. */
function rank(errors: ErrorObject[]): number {
  return errors.reduce((sum, e) => sum + (e.keyword === 'type' && e.instancePath === errors[0]!.instancePath ? 10 : 1), 0);
}

/** A JSON pointer (Ajv's `instancePath`) as a node path; digit-only segments as indexes. */
export function decodePath(pointer: string): NodePath {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((raw) => {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(segment) ? Number(segment) : segment;
  });
}

function label(path: NodePath, resource: Resource): string {
  if (path.length === 0) return resource.kind || 'the document';
  const last = path[path.length - 1]!;
  if (typeof last === 'number') {
    const parent = path[path.length - 2];
    return typeof parent === 'string' ? `${parent}[${last}]` : `item ${last}`;
  }
  return last;
}

/** What is wrong with a map key, from the error Ajv raised inside propertyNames. */
function keyProblem(error: ErrorObject): string {
  const limit = Number((error.params as { limit?: number }).limit);
  switch (error.keyword) {
    case 'maxLength': return `keys may have at most ${plural(limit, 'character')}`;
    case 'minLength': return limit === 1 ? 'keys must not be empty' : `keys need at least ${plural(limit, 'character')}`;
    case 'pattern': return explainPattern(String((error.params as { pattern?: string }).pattern)) ?? 'the key does not have the expected format';
    default: return 'the key is not valid';
  }
}

/** Prefixes a schema's own errorMessage with the field, unless the message already names it. */
function withName(name: string, message: string): string {
  return message.toLowerCase().startsWith(name.toLowerCase()) ? message : `${name}: ${message}`;
}

function objectName(schema: JsonSchema | undefined, path: NodePath, resource: Resource): string {
  if (schema?.title) return schema.title;
  return path.length === 0 ? resource.kind || 'the document' : label(path, resource);
}

interface Described {
  code: Code;
  message: string;
  span: Span;
  fixes: Fix[];
  severity?: Severity;
}

function describeError(file: SourceFile, resource: Resource, reported: Reported, errors: readonly ErrorObject[], root: JsonSchema, registry: SchemaRegistry): Finding {
  const { error } = reported;
  const path = decodePath(error.instancePath);
  const located = locate(resource.node, path);
  const node = located.node;
  const parentSchema = error.parentSchema as JsonSchema | undefined;
  const name = label(path, resource);
  const valueSpan = node ? displaySpan(file, node, located.keySpan) : resource.node.span;
  const keyOrValueSpan = located.keySpan ?? valueSpan;
  const params = error.params as Record<string, unknown>;
  let described: Described;

  switch (error.keyword) {
    case 'additionalProperties': {
      const field = String(params['additionalProperty']);
      const entry = node?.type === 'object' ? [...node.entries].reverse().find((e) => e.key === field) : undefined;
      const known = Object.keys(expand(registry, root, parentSchema ?? {}).reduce<Record<string, unknown>>((all, s) => ({ ...all, ...(s.properties ?? {}) }), {}));
      const suggestion = closestMatch(field, known);
      const fixes: Fix[] = [];
      if (suggestion && entry) fixes.push({ title: `Rename "${field}" to "${suggestion}"`, edits: [renameKey(file, entry.keySpan, suggestion)], preferred: true });
      described = {
        code: Codes.unknownField,
        message: `unknown field "${field}" in ${objectName(parentSchema, path, resource)}${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
        span: entry?.keySpan ?? keyOrValueSpan,
        fixes,
      };
      break;
    }
    case 'required': {
      const field = String(params['missingProperty']);
      const fixes: Fix[] = [];
      const propertySchema = parentSchema?.properties?.[field];
      if (node?.type === 'object' && !(node.entries.length === 0 && !node.flow && file.format === 'yaml')) {
        // Not preferred: the value is a placeholder, a guess that "fix all" must not apply.
        const expandSchema = (schema: unknown): JsonSchema[] => (isSchema(schema) ? expand(registry, root, schema) : []);
        fixes.push({ title: `Add the missing field "${field}"`, edits: [addField(file, node, field, placeholder(expandSchema(propertySchema), expandSchema))] });
      }
      described = {
        code: Codes.missingField,
        message: `missing required field "${field}" in ${objectName(parentSchema, path, resource)}`,
        span: path.length === 0 ? rootSpan(file, resource) : located.keySpan ?? firstLine(file, valueSpan),
        fixes,
      };
      break;
    }
    case 'type': {
      const expected = String(params['type']).split(',').map(describeType);
      const fixes: Fix[] = [];
      if (params['type'] === 'array' && node?.type === 'scalar' && node.value !== null) fixes.push({ title: 'Wrap the value in a list', edits: [wrapInList(file, node)], preferred: true });
      const quoted = String(params['type']).split(',').includes('string') && node?.type === 'scalar' ? quoteAsWritten(file, node) : undefined;
      if (quoted) {
        const satisfies = satisfiesLocally(error.parentSchema as JsonSchema | undefined, quoted.value);
        fixes.push({ title: `Quote ${quoted.value} as ${JSON.stringify(quoted.value)}`, edits: [quoted.edit], ...(satisfies ? { preferred: true } : {}) });
      }
      described = { code: Codes.wrongType, message: `${name} must be ${listWords(expected)} (got ${typeOfValue(error.data)})`, span: valueSpan, fixes };
      break;
    }
    case 'enum':
    case 'const': {
      const allowed = (error.keyword === 'enum' ? params['allowedValues'] : [params['allowedValue']]) as unknown[];
      const shown = allowed.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
      const fixes: Fix[] = [];
      if (node?.type === 'scalar') {
        const near = typeof error.data === 'string' ? closestMatches(error.data, allowed.filter((v): v is string => typeof v === 'string')) : [];
        // Only an unambiguous correction is preferred (and so applied by fix-all); a guess among equals offers every value.
        if (near.length === 1) fixes.push({ title: `Change to "${near[0]}"`, edits: [replaceScalar(file, node, near[0]!)], preferred: true });
        else {
          // The nearest values first (HTTP/3: HTTP/2 and HTTP/1), then the others in the schema's order.
          const offered = allowed.length <= 8 ? [...near, ...allowed.filter((v) => !near.includes(v as string))] : near;
          for (const value of offered) fixes.push({ title: `Change to ${JSON.stringify(value)}`, edits: [replaceScalar(file, node, value)] });
        }
      }
      const message = allowed.length === 1 ? `${name} must be ${JSON.stringify(allowed[0])} (got ${describeValue(error.data)})` : `${name} must be one of ${shown.join(', ')} (got ${describeValue(error.data)})`;
      described = { code: Codes.valueNotAllowed, message, span: valueSpan, fixes };
      break;
    }
    case 'pattern':
    case 'format': {
      const example = firstWith([parentSchema ?? {}], 'examples')?.[0];
      const message = parentSchema?.errorMessage
        ? `${withName(name, parentSchema.errorMessage)} (got ${describeValue(error.data)})`
        : error.keyword === 'format'
          ? `${name} must be a valid ${String(params['format'])} (got ${describeValue(error.data)})`
          : explainPattern(String(params['pattern']))
            ? `${name} ${explainPattern(String(params['pattern']))} (got ${describeValue(error.data)})`
          : `${name} ${describeValue(error.data)} does not have the expected format${typeof example === 'string' ? ` (for example ${JSON.stringify(example)})` : ` (${truncate(String(params['pattern']), 80)})`}`;
      described = { code: Codes.badFormat, message, span: valueSpan, fixes: leadingSlashFixes(file, resource, [error]) };
      break;
    }
    case 'minLength':
    case 'maxLength': {
      const limit = Number(params['limit']);
      const length = typeof error.data === 'string' ? error.data.length : 0;
      const message = parentSchema?.errorMessage ? withName(name, parentSchema.errorMessage) : error.keyword === 'maxLength' && limit === 0 ? `${name} must be empty (got ${describeValue(error.data)})` : error.keyword === 'minLength'
        ? limit === 1 ? `${name} must not be empty` : `${name} must be at least ${plural(limit, 'character')} long (got ${length})`
        : `${name} must be at most ${plural(limit, 'character')} long (got ${length})`;
      described = { code: Codes.outOfBounds, message, span: valueSpan, fixes: [] };
      break;
    }
    case 'minItems':
    case 'maxItems': {
      const limit = Number(params['limit']);
      const count = Array.isArray(error.data) ? error.data.length : 0;
      const message = error.keyword === 'minItems'
        ? limit === 1 ? `${name} must have at least one item` : `${name} must have at least ${plural(limit, 'item')} (got ${count})`
        : `${name} has ${plural(count, 'item')}; at most ${limit} are allowed`;
      described = { code: Codes.outOfBounds, message, span: keyOrValueSpan, fixes: [] };
      break;
    }
    case 'minProperties':
    case 'maxProperties': {
      const limit = Number(params['limit']);
      const message = parentSchema?.errorMessage ? withName(name, parentSchema.errorMessage) : error.keyword === 'minProperties'
        ? `${objectName(parentSchema, path, resource)} must set at least ${plural(limit, 'field')}`
        : `${objectName(parentSchema, path, resource)} may set at most ${plural(limit, 'field')}`;
      described = { code: Codes.outOfBounds, message, span: keyOrValueSpan, fixes: [] };
      break;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const words: Record<string, string> = { minimum: 'at least', maximum: 'at most', exclusiveMinimum: 'more than', exclusiveMaximum: 'less than' };
      described = { code: Codes.outOfBounds, message: `${name} must be ${words[error.keyword]} ${String(params['limit'])} (got ${describeValue(error.data)})`, span: valueSpan, fixes: [] };
      break;
    }
    case 'uniqueItems': {
      const i = Number(params['i']);
      const j = Number(params['j']);
      const duplicate = node?.type === 'array' ? node.items[Math.max(i, j)] : undefined;
      described = { code: Codes.duplicateItems, message: `${name} lists ${describeValue(Array.isArray(error.data) ? error.data[i] : undefined)} more than once`, span: duplicate ? duplicate.span : keyOrValueSpan, fixes: [] };
      break;
    }
    case 'propertyNames': {
      const property = String(params['propertyName']);
      const entry = node?.type === 'object' ? node.entries.find((e) => e.key === property) : undefined;
      const innerError = errors.find((e) => (e as { propertyName?: string }).propertyName === property && e.instancePath === error.instancePath);
      const inner = parentSchema?.propertyNames?.errorMessage ?? (innerError?.parentSchema as JsonSchema | undefined)?.errorMessage ?? (innerError ? keyProblem(innerError) : undefined);
      described = { code: Codes.badFormat, message: `key ${JSON.stringify(property)} in ${name} is not allowed${inner ? `: ${inner}` : ''}`, span: entry?.keySpan ?? keyOrValueSpan, fixes: [] };
      break;
    }
    case 'dependencies': {
      described = { code: Codes.conflictingFields, message: `"${String(params['property'])}" requires "${String(params['missingProperty'])}" in ${objectName(parentSchema, path, resource)}`, span: keyOrValueSpan, fixes: [] };
      break;
    }
    case 'oneOf':
    case 'anyOf':
    case 'not':
    case 'if': {
      const message = reported.message ?? (error.keyword === 'oneOf' && params['passingSchemas']
        ? `${objectName(parentSchema, path, resource)} matches more than one of its allowed forms; set only one of the alternatives`
        : `${objectName(parentSchema, path, resource)} combines fields in a way that is not allowed`);
      // A rule like "an Exact path must start with /" is an if/then: its fix is the pattern's inside.
      described = { code: Codes.conflictingFields, message, span: conflictSpan(node, error) ?? keyOrValueSpan, fixes: leadingSlashFixes(file, resource, reported.replaced ?? []) };
      break;
    }
    case 'false schema':
      described = { code: Codes.unknownField, message: `${name} is not allowed here`, span: keyOrValueSpan, fixes: [] };
      break;
    case 'propertyNames/pattern':
    default:
      described = { code: Codes.badFormat, message: `${name} ${error.message ?? 'is not valid'}`, span: valueSpan, fixes: [] };
  }

  return {
    file: file.path,
    range: file.lines.range(described.span),
    severity: described.severity ?? 'error',
    code: described.code,
    message: described.message,
    documentIndex: resource.documentIndex,
    ...(described.fixes.length ? { fixes: described.fixes } : {}),
  };
}

interface ScalarRewrite {
  /** The value the scalar holds after the edit. */
  value: string;
  edit: TextEdit;
}

/**
 * A number or boolean where a string is wanted, quoted exactly as written: `0x1F` becomes
 * `"0x1F"`, not the number's value. Only plain scalars whose text needs no escaping (a tag,
 * anchor or comment in the span would not be the scalar's own text).
 */
function quoteAsWritten(file: SourceFile, node: ScalarNode): ScalarRewrite | undefined {
  if (node.style !== 'plain' || (typeof node.value !== 'number' && typeof node.value !== 'boolean')) return undefined;
  const written = file.text.slice(node.span.start, node.span.end);
  if (!/^[A-Za-z0-9_.+-]+$/.test(written)) return undefined;
  return { value: written, edit: spanEdit(file, node.span, JSON.stringify(written)) };
}

/** The schemas' patterns that only ask a path to start with "/" (the empty string aside). */
const LEADING_SLASH_PATTERNS = new Set(['^/', '^(?:/|$)']);

/** "Start the path with /" for the first of `errors` that only asks a string to start with "/". */
function leadingSlashFixes(file: SourceFile, resource: Resource, errors: readonly ErrorObject[]): Fix[] {
  for (const error of errors) {
    if (error.keyword !== 'pattern' || !LEADING_SLASH_PATTERNS.has(String((error.params as { pattern?: unknown }).pattern))) continue;
    const node = locate(resource.node, decodePath(error.instancePath)).node;
    const slashed = node?.type === 'scalar' ? withLeadingSlash(file, node) : undefined;
    if (!slashed) continue;
    const satisfies = satisfiesLocally(error.parentSchema as JsonSchema | undefined, slashed.value);
    return [{ title: 'Start the path with /', edits: [slashed.edit], ...(satisfies ? { preferred: true } : {}) }];
  }
  return [];
}

/** Inserts "/" before the string's first character, inside its quotes, so escapes and quoting
 * style stay as written; heredocs and YAML block scalars are left alone. */
function withLeadingSlash(file: SourceFile, node: ScalarNode): ScalarRewrite | undefined {
  if (typeof node.value !== 'string' || node.value.startsWith('/')) return undefined;
  const opening = file.text[node.span.start];
  const quoted = (node.style === 'double' && opening === '"') || (node.style === 'single' && opening === "'");
  if (!quoted && node.style !== 'plain') return undefined;
  const at = quoted ? node.span.start + 1 : node.span.start;
  return { value: '/' + node.value, edit: spanEdit(file, { start: at, end: at }, '/') };
}

/**
 * Whether a string satisfies the constraints of the schema that reported the error at its place
 * (enum, const, pattern, length), read there alone: validating the whole resource again per
 * finding made a 10,000-rule policy take minutes.
 */
function satisfiesLocally(schema: JsonSchema | undefined, replacement: string): boolean {
  if (!schema) return false;
  const length = [...replacement].length;
  if (schema.enum && !schema.enum.includes(replacement)) return false;
  if ('const' in schema && schema.const !== replacement) return false;
  if (typeof schema.pattern === 'string' && !safeTest(schema.pattern, replacement)) return false;
  if (typeof schema.minLength === 'number' && length < schema.minLength) return false;
  if (typeof schema.maxLength === 'number' && length > schema.maxLength) return false;
  return true;
}

/** For a rule about fields that exclude or require each other: the last of the named fields
 * that is present, since that is usually the one added by mistake. */
function conflictSpan(node: SourceNode | undefined, error: ErrorObject): Span | undefined {
  if (node?.type !== 'object') return undefined;
  const owner = error.parentSchema as JsonSchema | undefined;
  const named = new Set<string>();
  const collect = (value: unknown, depth: number): void => {
    if (depth > 6 || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) return value.forEach((v) => collect(v, depth + 1));
    const schema = value as JsonSchema;
    schema.required?.forEach((name) => named.add(name));
    Object.keys(schema.properties ?? {}).forEach((name) => named.add(name));
    for (const key of ['not', 'anyOf', 'oneOf', 'allOf', 'if', 'then'] as const) collect(schema[key], depth + 1);
  };
  collect(owner, 0);
  const present = node.entries.filter((e) => named.has(e.key));
  return present.length ? present[present.length - 1]!.keySpan : undefined;
}

/** Objects and lists are shown by their key, or by their first line: never a whole block. */
function displaySpan(file: SourceFile, node: SourceNode, keySpan: Span | undefined): Span {
  if (node.type === 'scalar') return node.span.end > node.span.start ? node.span : keySpan ?? node.span;
  return keySpan ?? firstLine(file, node.span);
}

function firstLine(file: SourceFile, span: Span): Span {
  const line = file.lines.position(span.start).line;
  return { start: span.start, end: Math.min(span.end, file.lines.lineEnd(line)) };
}

function rootSpan(file: SourceFile, resource: Resource): Span {
  const kindEntry = resource.node.entries.find((e) => e.key === 'kind' || e.key === 'Kind');
  return kindEntry ? { start: kindEntry.keySpan.start, end: kindEntry.value.span.end } : firstLine(file, resource.node.span);
}

/**
 * A value to fill in for a field of `schemas`: an example, the first allowed value, the default,
 * or an empty value of its type, an object with its required fields; for a list of objects with
 * required fields, one such object (an empty list can mean "everything": an empty
 * `requiredAuthenticationRefs` authorizes every client, where a reference to fill in is refused,
 * or authorizes no one, until it names what exists).
 */
function placeholder(schemas: JsonSchema[], expandSchema: (schema: unknown) => JsonSchema[], depth = 0): unknown {
  const example = firstWith(schemas, 'examples')?.[0];
  // (an example object or list is left out: it may grant what the author did not mean, such as
  // Consul Sources allowing an example caller; its required fields, to fill in, grant nothing)
  if (example !== undefined && (typeof example !== 'object' || example === null)) return example;
  const enumValues = firstWith(schemas, 'enum');
  if (enumValues?.length) return enumValues[0];
  const defaultValue = firstWith(schemas, 'default');
  if (defaultValue !== undefined && typeof defaultValue !== 'object') return defaultValue;
  const type = firstWith(schemas, 'type');
  const first = Array.isArray(type) ? type[0] : type;
  switch (first) {
    case 'array': {
      const items = expandSchema(firstWith(schemas, 'items'));
      return firstWith(items, 'required')?.length && depth < 3 ? [placeholder(items, expandSchema, depth + 1)] : [];
    }
    case 'object': {
      // (its required fields, each a placeholder)
      const item: Record<string, unknown> = {};
      if (depth < 3) for (const key of firstWith(schemas, 'required') ?? []) item[key] = placeholder(expandSchema(schemas.find((s) => s.properties?.[key])?.properties?.[key]), expandSchema, depth + 1);
      return item;
    }
    case 'integer':
    case 'number': return 0;
    case 'boolean': return false;
    default: return '';
  }
}

