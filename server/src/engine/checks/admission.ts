import type { Finding } from '../findings';
import type { Resource } from '../resource';
import type { SourceFile } from '../source/sourceFile';
import type { Check, WorkspaceView } from './check';
import { allChecks } from './registry';
import { runChecks } from './runChecks';
import { resourceValue } from '../resourceValue';
import { sharedRegistry } from '../schema/registry';
import { schemaRefusals, storedValue } from '../schema/schemaFindings';
import { installedCrdRefusals } from '../crds/stored';

/**
 * The checks whose errors are admission refusals (`Check.admissionRefusal`), read once on first
 * use: not at module load, since the simulators that ask and some checks import each other.
 */
let refusalChecks: readonly Check[] | undefined;

function admissionChecks(): readonly Check[] {
  return (refusalChecks ??= allChecks().filter((check) => check.admissionRefusal === true));
}

const refuse = (): never => {
  throw new Error('an admission check reads the resource alone, not the workspace');
};

/** What the admission checks see of the workspace: nothing (each reads its resource alone; one that reads more fails, and a test says so). */
const NO_WORKSPACE: WorkspaceView = {
  get resources() { return refuse(); },
  get inventory() { return refuse(); },
  get config() { return refuse(); },
  get sourceFiles() { return refuse(); },
  sourceFile: refuse,
};

/**
 * Why the mesh's admission refuses to store `resource`, beyond the `known` problems a simulator
 * found itself, in the order reported (empty: it is admitted as far as we know): the errors the
 * lint reports through the checks marked `admissionRefusal` (the webhooks), whatever severities or
 * suppressions the workspace configures for them (a suppressed finding is still a refused
 * resource); and, for a Kubernetes resource refused for nothing else (not a Consul config entry,
 * whose decoder this does not model), the errors of its schema
 * that the API server enforces (`schemaRefusals`: the CRD's structure and CEL rules, unknown
 * fields aside), which would otherwise repeat the same problems in other words. The one list of
 * what the mesh refuses, which the lint reports and the simulators leave out. `schema: false`
 * leaves the schema out (the object is checked as written, unknown fields included), for a check
 * that must not validate resources again on each edit (the lint reports the schema's errors anyway).
 */
export function admissionRefusals(file: SourceFile, resource: Resource, known: readonly string[] = [], options: { schema?: false } = {}): string[] {
  const written = resourceValue(resource);
  const kubernetes = resource.entry.kind !== undefined;
  // The webhooks see the object as stored: a Kubernetes resource without its unknown fields.
  const stored = kubernetes && options.schema !== false ? storedValue(resource, sharedRegistry(), written) : { value: written, dropped: [] };
  const refusals = errorsOf(runChecks(file, resource, NO_WORKSPACE, admissionChecks(), stored.value));
  if (stored.dropped.length > 0) {
    // A refusal that only the dropping causes (a `source` whose one field is misspelt is empty) says so.
    const asWritten = new Set(errorsOf(runChecks(file, resource, NO_WORKSPACE, admissionChecks(), written)));
    const why = `that is the object as stored, after the API server drops the unknown field${stored.dropped.length > 1 ? 's' : ''} ${stored.dropped.map((path) => `\`${path}\``).join(', ')}`;
    for (let i = 0; i < refusals.length; i++) if (!asWritten.has(refusals[i]!)) refusals[i] = `${refusals[i]}; ${why}`;
  }
  // The workspace's CRD refused it (`crds/stored.ts`): the API server's refusal comes first.
  const byCrd = installedCrdRefusals(resource);
  if (options.schema !== false && known.length === 0 && refusals.length === 0 && byCrd.length === 0 && kubernetes) refusals.push(...schemaRefusals(file, resource, sharedRegistry(), stored.value));
  return byCrd.length ? [...byCrd, ...refusals] : refusals;
}

function errorsOf(findings: readonly Finding[]): string[] {
  return findings.filter((finding) => finding.severity === 'error').map((finding) => finding.message);
}

/** The codes of the checks whose errors are admission refusals, for the docs and tests. */
export function admissionRefusalCodes(): string[] {
  return admissionChecks().map((check) => check.code);
}
