import type { Resource } from '../resource';
import type { SourceFile } from '../source/sourceFile';
import type { Check, WorkspaceView } from './check';
import { ALL_CHECKS } from './registry';
import { runChecks } from './runChecks';

/**
 * The checks whose errors are admission refusals (`Check.admissionRefusal`), read once on first
 * use: not at module load, since the simulators that ask and some checks import each other.
 */
let refusalChecks: readonly Check[] | undefined;

function admissionChecks(): readonly Check[] {
  return (refusalChecks ??= ALL_CHECKS.filter((check) => check.admissionRefusal === true));
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
 * Why the mesh's admission refuses to store `resource`, in the order the checks report it
 * (empty: it is admitted as far as the checks know): the messages of the errors the lint reports
 * on it through the checks marked `admissionRefusal`, whatever severities or suppressions the
 * workspace configures for them (a suppressed finding is still a refused resource). The one list
 * of what the webhooks refuse, which the lint reports and the simulators leave out.
 */
export function admissionRefusals(file: SourceFile, resource: Resource): string[] {
  return runChecks(file, resource, NO_WORKSPACE, admissionChecks())
    .filter((finding) => finding.severity === 'error')
    .map((finding) => finding.message);
}

/** The codes of the checks whose errors are admission refusals, for the docs and tests. */
export function admissionRefusalCodes(): string[] {
  return admissionChecks().map((check) => check.code);
}
