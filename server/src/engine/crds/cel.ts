import type { CelEnv } from '@bufbuild/cel';
import { isRecord } from '../plainValues';

type Cel = typeof import('@bufbuild/cel');
type CelExt = typeof import('@bufbuild/cel/ext');

/** The CEL library, loaded on the first rule: it takes about 0.1 s to load, which a run without CRDs does not pay. */
let library: { cel: Cel; env: CelEnv } | undefined;
function celLibrary(): { cel: Cel; env: CelEnv } {
  if (!library) {
    const cel = require('@bufbuild/cel') as Cel;
    const { strings } = require('@bufbuild/cel/ext') as CelExt;
    library = { cel, env: cel.celEnv({ funcs: [...strings, ...kubernetesUrlFunctions(cel)] }) };
  }
  return library;
}

/**
 * The CEL rules of a CRD schema (`x-kubernetes-validations`), as the API server evaluates them on
 * create: `self` is the value at the rule's place, typed by its schema (an `integer` is a CEL
 * int, a `number` a double, an object a map). Standard CEL with the strings extension, and of
 * Kubernetes' own libraries the URL functions (`url`, `isURL` and the `get...` accessors; the URL
 * read as WHATWG's parser reads it, not Go's net/url). A rule that names anything else, or that
 * compares with `oldSelf` (a transition rule, evaluated on update only), is not evaluated.
 */
export type RuleOutcome = 'passed' | 'failed' | 'not evaluated';

type Evaluate = (self: unknown) => RuleOutcome;

function kubernetesUrlFunctions({ celFunc, celMethod, CelScalar }: Cel): ReturnType<Cel['celFunc']>[] {
  return [
  celFunc('url', [CelScalar.STRING], CelScalar.STRING, (text) => (parseUrl(text), text)),
  celFunc('isURL', [CelScalar.STRING], CelScalar.BOOL, (text) => {
    try {
      parseUrl(text);
      return true;
    } catch {
      return false;
    }
  }),
  celMethod('getScheme', CelScalar.STRING, [], CelScalar.STRING, function () { return parseUrl(this).scheme; }),
  celMethod('getHost', CelScalar.STRING, [], CelScalar.STRING, function () { return parseUrl(this).host; }),
  celMethod('getHostname', CelScalar.STRING, [], CelScalar.STRING, function () { return parseUrl(this).hostname; }),
  celMethod('getPort', CelScalar.STRING, [], CelScalar.STRING, function () { return parseUrl(this).port; }),
  celMethod('getEscapedPath', CelScalar.STRING, [], CelScalar.STRING, function () { return parseUrl(this).path; }),
  ];
}

/** Kubernetes' `url()`: an absolute URI or an absolute path. */
function parseUrl(text: string): { scheme: string; host: string; hostname: string; port: string; path: string } {
  if (text.startsWith('/')) {
    const path = new URL(text, 'http://placeholder.invalid').pathname;
    return { scheme: '', host: '', hostname: '', port: '', path };
  }
  const url = new URL(text);
  return { scheme: url.protocol.replace(/:$/, ''), host: url.host, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.pathname };
}

const compiled = new Map<string, Evaluate>();

/** The rule compiled once (by its text), ready for values. */
function compile(rule: string): Evaluate {
  let evaluate = compiled.get(rule);
  if (evaluate) return evaluate;
  if (/\boldSelf\b/.test(rule)) evaluate = () => 'not evaluated';
  else {
    try {
      const { cel, env } = celLibrary();
      const run = cel.plan(env, cel.parse(rule));
      evaluate = (self) => {
        const result = run({ self: self as never });
        if (cel.isCelError(result) || typeof result !== 'boolean') return 'not evaluated';
        return result ? 'passed' : 'failed';
      };
    } catch {
      evaluate = () => 'not evaluated';
    }
  }
  if (compiled.size > 1_000) compiled.clear();
  compiled.set(rule, evaluate);
  return evaluate;
}

export interface CelRule {
  rule: string;
  message?: string;
}

/** The rules at a schema node. */
export function celRulesOf(schema: Record<string, unknown>): CelRule[] {
  const rules = schema['x-kubernetes-validations'];
  if (!Array.isArray(rules)) return [];
  return rules.filter(isRecord).filter((r): r is Record<string, unknown> & { rule: string } => typeof r['rule'] === 'string').map((r) => ({
    rule: r.rule,
    ...(typeof r['message'] === 'string' && r['message'] !== '' ? { message: r['message'] } : {}),
  }));
}

/**
 * The most work one rule may take, in the units of its estimate: the elements of `self` raised to
 * the number of comprehensions (`all`, `exists`, `map` ...) the rule nests, each of which may walk
 * them all. Like the API server's cost budget, it keeps a rule from running for minutes; a rule
 * over it is not evaluated.
 */
const COST_BUDGET = 5_000_000;

/** Whether `value` (plain data) passes `rule` at a node of `schema`. */
export function evaluateCelRule(rule: string, value: unknown, schema: Record<string, unknown>): RuleOutcome {
  const comprehensions = rule.match(/\.\s*(all|exists|exists_one|map|filter)\s*\(/g)?.length ?? 0;
  if (comprehensions > 0 && Math.pow(elementsOf(value), comprehensions) > COST_BUDGET) return 'not evaluated';
  return compile(rule)(celValue(value, schema));
}

/** How many values `value` holds, itself included. */
function elementsOf(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + elementsOf(item), 1);
  if (isRecord(value)) return Object.values(value).reduce((sum: number, item) => sum + elementsOf(item), 1);
  return 1;
}

/** A plain value as CEL sees it under its schema. */
function celValue(value: unknown, schema: Record<string, unknown> | undefined): unknown {
  if (Array.isArray(value)) {
    const items = schema && isRecord(schema['items']) ? schema['items'] : undefined;
    return value.map((item) => celValue(item, items));
  }
  if (isRecord(value)) {
    const properties = schema && isRecord(schema['properties']) ? schema['properties'] : undefined;
    const additional = schema && isRecord(schema['additionalProperties']) ? schema['additionalProperties'] : undefined;
    return new Map(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => {
      const child = properties?.[k];
      return [k, celValue(v, isRecord(child) ? child : additional)];
    }));
  }
  if (typeof value === 'number') {
    const type = schema?.['type'];
    if (type === 'number') return value;
    return Number.isInteger(value) ? BigInt(value) : value;
  }
  return value;
}
