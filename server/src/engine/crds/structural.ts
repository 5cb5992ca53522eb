import { RE2JS } from 're2js';
import type { NodePath } from '../source/tree';
import { isRecord } from '../plainValues';
import { celRulesOf, evaluateCelRule } from './cel';
import { installedCrdsFor, servedVersion, type InstalledCrd, type InstalledCrdVersion } from './installed';

/**
 * What the API server does with a custom resource under the structural schema of its CRD
 * version (`openAPIV3Schema`), as apiextensions-apiserver documents it:
 * - a field the schema does not declare, outside `x-kubernetes-preserve-unknown-fields`, is
 *   unknown: with strict field validation (kubectl's default) the request is refused, otherwise
 *   the field is dropped (pruned) before the object is stored;
 * - a value the schema's value validations refuse (type, enum, pattern, bounds, required, list
 *   types, the junctors allOf/anyOf/oneOf/not) refuses the request.
 * - a CEL rule (`x-kubernetes-validations`) that fails refuses the request (`cel.ts`: what is
 *   evaluated, and what is not).
 * `format` is not checked. Patterns are Go regular expressions, matched with RE2 as the API
 * server does (unanchored).
 */
export interface StructuralProblem {
  /** The field, relative to the object (a missing one's path where it would be). */
  path: NodePath;
  /** An unknown field is about its key, a missing one about its object, the others about their value. */
  kind: 'unknown' | 'missing' | 'invalid';
  /** In the API server's words: `spec.action: Unsupported value: "allow": supported values: ...`. */
  message: string;
  /** The field path in Kubernetes' form (`spec.rules[0].to`). */
  field: string;
}

type Schema = Record<string, unknown>;

/** The problems of `value` (an object without null fields, as stored) under `schema`; `metadata`, `apiVersion` and `kind` are the API server's own. */
export function structuralProblems(value: Record<string, unknown>, schema: Schema, options: { skipStatus: boolean }): StructuralProblem[] {
  try {
    return problemsOf(value, schema, options);
  } catch (error) {
    // A schema nested past the stack (junctors thousands deep, in a file read without depth
    // limits) is not one the API server would have taken: nothing is said rather than everything stopping.
    if (error instanceof RangeError) return [];
    throw error;
  }
}

function problemsOf(value: Record<string, unknown>, schema: Schema, options: { skipStatus: boolean }): StructuralProblem[] {
  const problems: StructuralProblem[] = [];
  const properties = isRecord(schema['properties']) ? schema['properties'] : {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'metadata' || key === 'apiVersion' || key === 'kind' || (key === 'status' && options.skipStatus)) continue;
    const childSchema = properties[key];
    if (isRecord(childSchema)) walk(child, childSchema, [key], key, problems, true);
    else if (schema['x-kubernetes-preserve-unknown-fields'] !== true) problems.push(unknown([key], key));
  }
  for (const key of requiredOf(schema)) {
    if (key !== 'metadata' && key !== 'apiVersion' && key !== 'kind' && !(key in value)) problems.push(required([key], key));
  }
  return problems;
}

function walk(value: unknown, schema: Schema, path: NodePath, field: string, problems: StructuralProblem[], structural: boolean): void {
  // The API server drops a null field that is not nullable before it validates (and keeps a nullable one).
  if (value === null || value === undefined) return;
  if (!typeMatches(value, schema)) {
    problems.push(invalid(path, field, kindOf(value), `${field} in body must be of type ${typeName(schema)}: "${kindOf(value)}"`));
    return;
  }
  valueChecks(value, schema, path, field, problems);
  if (structural) celChecks(value, schema, path, field, problems);
  if (Array.isArray(value)) {
    const items = schema['items'];
    if (isRecord(items)) value.forEach((item, i) => walk(item, items, [...path, i], `${field}[${i}]`, problems, structural));
    listType(value, schema, path, field, problems);
  } else if (isRecord(value)) {
    const properties = isRecord(schema['properties']) ? schema['properties'] : undefined;
    const additional = schema['additionalProperties'];
    const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
    for (const [key, child] of Object.entries(value)) {
      const declared = properties?.[key];
      if (isRecord(declared)) walk(child, declared, [...path, key], `${field}.${key}`, problems, structural);
      else if (isRecord(additional)) walk(child, additional, [...path, key], `${field}[${key}]`, problems, structural);
      else if (additional === true || preserve || schema['x-kubernetes-embedded-resource'] === true) continue;
      else if (structural) problems.push(unknown([...path, key], `${field}.${key}`));
    }
    for (const key of requiredOf(schema)) if (!(key in value)) problems.push(required([...path, key], `${field}.${key}`));
  }
  junctors(value, schema, path, field, problems);
}

function valueChecks(value: unknown, schema: Schema, path: NodePath, field: string, problems: StructuralProblem[]): void {
  const enumValues = schema['enum'];
  if (Array.isArray(enumValues) && !enumValues.some((allowed) => sameValue(allowed, value))) {
    problems.push({ path, kind: 'invalid', field, message: `${field}: Unsupported value: ${show(value)}: supported values: ${enumValues.map(show).join(', ')}` });
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof schema['maxLength'] === 'number' && length > schema['maxLength']) problems.push({ path, kind: 'invalid', field, message: `${field}: Too long: may not be more than ${schema['maxLength']} bytes` });
    if (typeof schema['minLength'] === 'number' && length < schema['minLength']) problems.push(invalid(path, field, value, `${field} in body should be at least ${schema['minLength']} chars long`));
    if (typeof schema['pattern'] === 'string' && !patternMatches(schema['pattern'], value)) problems.push(invalid(path, field, value, `${field} in body should match '${schema['pattern']}'`));
  }
  if (typeof value === 'number') {
    const { maximum, minimum, multipleOf } = schema;
    if (typeof maximum === 'number' && (schema['exclusiveMaximum'] === true ? value >= maximum : value > maximum)) problems.push(invalid(path, field, value, `${field} in body should be less than ${schema['exclusiveMaximum'] === true ? '' : 'or equal to '}${maximum}`));
    if (typeof minimum === 'number' && (schema['exclusiveMinimum'] === true ? value <= minimum : value < minimum)) problems.push(invalid(path, field, value, `${field} in body should be greater than ${schema['exclusiveMinimum'] === true ? '' : 'or equal to '}${minimum}`));
    if (typeof multipleOf === 'number' && multipleOf > 0 && !Number.isInteger(value / multipleOf)) problems.push(invalid(path, field, value, `${field} in body should be a multiple of ${multipleOf}`));
  }
  if (Array.isArray(value)) {
    if (typeof schema['maxItems'] === 'number' && value.length > schema['maxItems']) problems.push({ path, kind: 'invalid', field, message: `${field}: Too many: ${value.length}: must have at most ${schema['maxItems']} items` });
    if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) problems.push(invalid(path, field, value.length, `${field} in body should have at least ${schema['minItems']} items`));
  }
  if (isRecord(value)) {
    const count = Object.keys(value).length;
    if (typeof schema['maxProperties'] === 'number' && count > schema['maxProperties']) problems.push({ path, kind: 'invalid', field, message: `${field}: Too many: ${count}: must have at most ${schema['maxProperties']} items` });
    if (typeof schema['minProperties'] === 'number' && count < schema['minProperties']) problems.push(invalid(path, field, count, `${field} in body should have at least ${schema['minProperties']} properties`));
  }
}

/** The CEL rules at this node (`x-kubernetes-validations`), in the API server's words: the rule's message, else the rule. */
function celChecks(value: unknown, schema: Schema, path: NodePath, field: string, problems: StructuralProblem[]): void {
  for (const { rule, message } of celRulesOf(schema)) {
    if (evaluateCelRule(rule, value, schema) !== 'failed') continue;
    problems.push(invalid(path, field, kindOf(value), message ?? `failed rule: ${rule}`));
  }
}

/** `x-kubernetes-list-type`: `set` items are unique, `map` items unique by their `x-kubernetes-list-map-keys`. */
function listType(value: unknown[], schema: Schema, path: NodePath, field: string, problems: StructuralProblem[]): void {
  const type = schema['x-kubernetes-list-type'];
  if (type !== 'set' && type !== 'map') return;
  const keys = type === 'map' && Array.isArray(schema['x-kubernetes-list-map-keys']) ? schema['x-kubernetes-list-map-keys'].filter((k): k is string => typeof k === 'string') : [];
  const seen = new Set<string>();
  value.forEach((item, i) => {
    const identity = type === 'set' ? JSON.stringify(item) : JSON.stringify(keys.map((k) => (isRecord(item) ? item[k] ?? null : null)));
    if (seen.has(identity)) {
      const shown = type === 'set' ? show(item) : `map[${keys.map((k) => `${k}:${isRecord(item) ? String(item[k] ?? '') : ''}`).join(' ')}]`;
      problems.push({ path: [...path, i], kind: 'invalid', field: `${field}[${i}]`, message: `${field}[${i}]: Duplicate value: ${shown}` });
    }
    seen.add(identity);
  });
}

/** allOf, anyOf, oneOf and not: value validations only (a structural schema declares no fields in them). */
function junctors(value: unknown, schema: Schema, path: NodePath, field: string, problems: StructuralProblem[]): void {
  const fails = (sub: unknown): boolean => {
    if (!isRecord(sub)) return false;
    const found: StructuralProblem[] = [];
    walk(value, sub, path, field, found, false);
    return found.length > 0;
  };
  if (Array.isArray(schema['allOf'])) for (const sub of schema['allOf']) if (isRecord(sub)) walk(value, sub, path, field, problems, false);
  if (Array.isArray(schema['anyOf']) && schema['anyOf'].length > 0 && schema['anyOf'].every(fails)) problems.push(invalid(path, field, kindOf(value), `${field} in body must match at least one schema in anyOf`));
  if (Array.isArray(schema['oneOf']) && schema['oneOf'].length > 0) {
    const passing = schema['oneOf'].filter((sub) => isRecord(sub) && !fails(sub)).length;
    if (passing !== 1) problems.push(invalid(path, field, kindOf(value), `${field} in body must match exactly one schema in oneOf`));
  }
  if (isRecord(schema['not']) && !fails(schema['not'])) problems.push(invalid(path, field, kindOf(value), `${field} in body should not match the schema in not`));
}

function typeMatches(value: unknown, schema: Schema): boolean {
  if (schema['x-kubernetes-int-or-string'] === true) return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
  switch (schema['type']) {
    case 'object': return isRecord(value);
    case 'array': return Array.isArray(value);
    case 'string': return typeof value === 'string';
    case 'integer': return typeof value === 'number' && Number.isInteger(value);
    case 'number': return typeof value === 'number';
    case 'boolean': return typeof value === 'boolean';
    default: return true;
  }
}

function typeName(schema: Schema): string {
  if (schema['x-kubernetes-int-or-string'] === true) return 'integer or string';
  return typeof schema['type'] === 'string' ? schema['type'] : 'any';
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function requiredOf(schema: Schema): string[] {
  return Array.isArray(schema['required']) ? schema['required'].filter((k): k is string => typeof k === 'string') : [];
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : isRecord(value) || Array.isArray(value) ? kindOf(value) : String(value);
}

function unknown(path: NodePath, field: string): StructuralProblem {
  return { path, kind: 'unknown', field, message: `unknown field "${field}"` };
}

function required(path: NodePath, field: string): StructuralProblem {
  return { path, kind: 'missing', field, message: `${field}: Required value` };
}

function invalid(path: NodePath, field: string, value: unknown, detail: string): StructuralProblem {
  return { path, kind: 'invalid', field, message: `${field}: Invalid value: ${show(value)}: ${detail}` };
}

const patterns = new Map<string, RE2JS | null>();

/** Go's regexp `MatchString` (unanchored), in linear time. A pattern RE2 cannot compile is not checked: the API server would have refused such a CRD, so it is not the cluster's. */
function patternMatches(pattern: string, value: string): boolean {
  let compiled = patterns.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = RE2JS.compile(pattern);
    } catch {
      compiled = null;
    }
    if (patterns.size > 1_000) patterns.clear();
    patterns.set(pattern, compiled);
  }
  return compiled === null || compiled.matcher(value).find();
}

/** One CRD's say on a value: it does not serve the value's version, or a problem under the version's schema. */
export type InstalledCrdProblem = { crd: InstalledCrd; unserved: true } | { crd: InstalledCrd; version: InstalledCrdVersion; problem: StructuralProblem };

/** What the CRDs of `kind` among `crds` say of `value` written as `apiVersion`, CRD by CRD (the lint, the simulators and our writers read the same). */
export function installedCrdProblems(crds: readonly InstalledCrd[] | undefined, apiVersion: string, kind: string, value: Record<string, unknown>): InstalledCrdProblem[] {
  return installedCrdsFor(crds, apiVersion, kind).flatMap((crd): InstalledCrdProblem[] => {
    const version = servedVersion(crd, apiVersion);
    if (!version) return [{ crd, unserved: true }];
    if (!version.schema) return [];
    return structuralProblems(value, version.schema, { skipStatus: version.statusSubresource }).map((problem) => ({ crd, version, problem }));
  });
}
