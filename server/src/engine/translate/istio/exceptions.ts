import type { RequestException } from '../model';
import { istioPath } from './paths';

/**
 * A DENY rule with exceptions (the model's `unless`: requests an earlier allow of a first-match
 * list keeps) as Istio rules. Istio has no "unless", but its negative fields say "not": a rule R
 * with exceptions E1…En matches R AND NOT E1 AND … AND NOT En, and NOT Ei (methods AND paths AND
 * headers) is (notMethods OR notPaths OR a header's notValues). Multiplied out, that is one rule
 * per choice of one negation from each exception; a choice that contradicts R (R's methods all
 * in notMethods, its paths all under notPaths) matches nothing and is dropped. Istio's negative
 * forms match a request that lacks the attribute (spec §1.4), as a Consul permission's header
 * test fails on a request without the header.
 */

export interface Operation { ports?: string[]; notPorts?: string[]; methods?: string[]; notMethods?: string[]; paths?: string[]; notPaths?: string[] }
export interface Condition { key: string; values?: string[]; notValues?: string[] }

/** One alternative of a rule: its `to` operations (OR; 'any' for none) and `when` conditions (AND). */
export interface Alternative { operations: (Operation | 'any')[]; when: Condition[] }

type Negation = { field: 'notMethods' | 'notPaths'; values: string[] } | { field: 'notValues'; key: string; values: string[] };

/** Rules multiplied out at most. */
const MAX_ALTERNATIVES = 64;

/**
 * The alternatives of `base` minus the exceptions, or why they cannot be written; an empty list
 * when the exceptions leave the rule no request.
 */
export function withoutExceptions(base: Alternative, exceptions: readonly RequestException[]): Alternative[] | string {
  let alternatives: Alternative[] = [base];
  for (const e of exceptions) {
    const negations = negationsOf(e);
    if (typeof negations === 'string') return `${e.origin.label}: ${negations}`;
    const next: Alternative[] = [];
    for (const a of alternatives) {
      for (const n of negations) {
        const narrowed = apply(a, n);
        if (narrowed && !next.some((x) => JSON.stringify(x) === JSON.stringify(narrowed))) next.push(narrowed);
      }
    }
    if (next.length > MAX_ALTERNATIVES) return `the exceptions multiply out to more than ${MAX_ALTERNATIVES} rules`;
    alternatives = next;
  }
  return alternatives;
}

function negationsOf(e: RequestException): Negation[] | string {
  const out: Negation[] = [];
  const methods = e.requests.methods;
  if (methods) {
    if (methods.some(isPattern)) return `methods ${JSON.stringify(methods)} would be read by Istio as patterns`;
    out.push({ field: 'notMethods', values: [...methods] });
  }
  if (e.requests.paths) {
    const values: string[] = [];
    for (const p of e.requests.paths) {
      const value = istioPath(p);
      if (value === undefined || value.includes('{')) return `Istio cannot negate the ${p.kind} path ${JSON.stringify(p.value)} (exact values, \`prefix*\` and \`*suffix\` only)`;
      values.push(value);
    }
    out.push({ field: 'notPaths', values });
  }
  for (const h of e.headers) {
    const value = h.value ?? '';
    if (h.match !== 'present' && isPattern(value)) return `header ${h.name} value ${JSON.stringify(value)} would be read by Istio as a pattern`;
    // `*` is Istio's "present and not empty": a Consul prefix "" or Present also takes an empty value
    if (h.match === 'present' || (h.match !== 'exact' && value === '')) return `header ${h.name} present with any value, an empty one included, has no negative form in Istio`;
    const pattern = h.match === 'exact' ? value : h.match === 'prefix' ? `${value}*` : `*${value}`;
    out.push({ field: 'notValues', key: `request.headers[${h.name}]`, values: [pattern] });
  }
  return out;
}

function isPattern(v: string): boolean {
  return v.startsWith('*') || v.endsWith('*');
}

/** The alternative narrowed by one negation, or undefined when that leaves it nothing. */
function apply(a: Alternative, n: Negation): Alternative | undefined {
  if (n.field === 'notValues') {
    const positive = a.when.find((c) => c.key === n.key && c.values);
    if (positive && positive.values!.every((v) => n.values.some((x) => covers(x, v)))) return undefined;
    const existing = a.when.find((c) => c.key === n.key && c.notValues);
    const when = existing
      ? a.when.map((c) => (c === existing ? { ...c, notValues: union(c.notValues!, n.values) } : c))
      : [...a.when, { key: n.key, notValues: [...n.values] }];
    return { operations: a.operations, when };
  }
  const operations: Operation[] = [];
  for (const op of a.operations) {
    const o: Operation = op === 'any' ? {} : { ...op };
    if (n.field === 'notMethods') {
      if (o.methods) {
        o.methods = o.methods.filter((m) => !n.values.includes(m));
        if (o.methods.length === 0) continue;
      } else o.notMethods = union(o.notMethods ?? [], n.values);
    } else {
      if (o.paths) {
        o.paths = o.paths.filter((p) => !n.values.some((x) => covers(x, p)));
        if (o.paths.length === 0) continue;
      }
      const relevant = n.values.filter((x) => !o.paths || o.paths.some((p) => mayOverlap(x, p)));
      if (relevant.length) o.notPaths = union(o.notPaths ?? [], relevant);
    }
    operations.push(o);
  }
  return operations.length ? { operations, when: a.when } : undefined;
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** Whether every value Istio's `positive` matches is matched by `negative` too (exact, `prefix*`, `*`). */
function covers(negative: string, positive: string): boolean {
  if (negative === positive || negative === '*') return true;
  if (!negative.endsWith('*') || negative.startsWith('*') || positive.startsWith('*')) return false;
  const stem = positive.endsWith('*') ? positive.slice(0, -1) : positive;
  return stem.startsWith(negative.slice(0, -1));
}

/** Whether some value may be matched by both (false only when certain). */
function mayOverlap(x: string, y: string): boolean {
  if (x === '*' || y === '*' || x.startsWith('*') || y.startsWith('*')) return true;
  const px = x.endsWith('*');
  const py = y.endsWith('*');
  const sx = px ? x.slice(0, -1) : x;
  const sy = py ? y.slice(0, -1) : y;
  if (!px && !py) return sx === sy;
  if (px && py) return sx.startsWith(sy) || sy.startsWith(sx);
  return px ? sy.startsWith(sx) : sx.startsWith(sy);
}
