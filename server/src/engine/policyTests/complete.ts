import type { WorkspaceView } from '../checks/check';
import type { Suggestion } from '../complete';
import type { SourceFile } from '../source/sourceFile';
import { RULE_OUTLINERS } from '../policyRules';
import { resourceLabel } from '../resource';
import { resourceValue } from '../resourceValue';
import { namesPolicy, POLICY_TEST_KIND, VERDICT_MEANINGS } from './index';

const VERDICTS = Object.entries(VERDICT_MEANINGS);
const KEYS: readonly [string, string][] = [
  ['name', 'what the test is about'],
  ['call', 'the call: `[<mesh>:] <ns>/<caller> -> <ns>/<workload>[:<port>] [METHOD] [/path]`, or an access record'],
  ['expect', 'the verdict the call must get: allow, deny, external or unknown'],
  ['policy', 'the policy that must decide: `Kind namespace/name`, `namespace/name` or `name`'],
  ['rule', 'the rule that must decide, as the walkthrough names it: `rules[0]`, `sources[1] web`'],
];

/**
 * Completion in a policy test file (docs/policy-tests.md), line by line so that it works while
 * the YAML does not parse: the keys of a test, the verdicts of `expect:`, the workspace's
 * policies for `policy:` and the rules of the test's policy for `rule:`. Undefined when the file is not a test file.
 */
export function completeTestAt(file: SourceFile, offset: number, workspace: WorkspaceView): Suggestion[] | undefined {
  if (file.format !== 'yaml' || !new RegExp(`^kind:\\s*${POLICY_TEST_KIND}\\s*$`, 'm').test(file.text)) return undefined;
  const position = file.lines.position(offset);
  const lineStart = file.lines.offset({ line: position.line, character: 0 });
  const before = file.text.slice(lineStart, offset);
  const value = /^(\s*(?:-\s+)?)(expect|policy|rule):\s*(\S*)$/.exec(before);
  if (value) {
    const replace = { start: offset - value[3]!.length, end: offset };
    const options = value[2] === 'expect' ? VERDICTS : value[2] === 'policy' ? policies(workspace) : rulesOf(policyOfTest(file.text, position.line), workspace);
    return options.map(([label, detail]) => ({ label, kind: 'value', insertText: label, replace, detail }));
  }
  const key = /^(\s*(?:-\s+)?)([A-Za-z]*)$/.exec(before);
  if (key && (key[1]!.length > 0)) {
    const replace = { start: offset - key[2]!.length, end: offset };
    return KEYS.map(([label, documentation]) => ({ label, kind: 'field', insertText: `${label}: `, replace, documentation, ...(label === 'call' || label === 'expect' ? { required: true, detail: 'policy test' } : { detail: 'policy test' }) }));
  }
  return [];
}

/**
 * The `policy:` written in the test around `line` (the list item the line is in), or undefined.
 * Line-based, as the rest of this completion: the file may not parse while it is typed.
 */
function policyOfTest(text: string, line: number): string | undefined {
  const lines = text.split(/\r?\n/);
  let start = line;
  while (start > 0 && !/^\s*-\s/.test(lines[start]!)) start--;
  const indent = /^(\s*)/.exec(lines[start]!)![1]!.length;
  for (let i = start; i < lines.length; i++) {
    const current = lines[i]!;
    if (i > start && current.trim() !== '' && /^(\s*)/.exec(current)![1]!.length <= indent) break;
    const policy = /^\s*(?:-\s+)?policy:\s*["']?([^"'#\s]+)/.exec(current);
    if (policy) return policy[1];
  }
  return undefined;
}

/** The rules of the policy a test names, as the walkthrough names them (the labels of the lenses and the outline). */
function rulesOf(policy: string | undefined, workspace: WorkspaceView): [string, string][] {
  if (!policy) return [];
  const out: [string, string][] = [];
  for (const { resource } of workspace.resources) {
    const label = resourceLabel(resource);
    if (!resource.name || !namesPolicy(policy, label)) continue;
    for (const rule of RULE_OUTLINERS[resource.mesh](resource, resourceValue(resource))) out.push([rule.label, label]);
  }
  return out;
}

/** `namespace/name` of each policy, with its kind. */
function policies(workspace: WorkspaceView): [string, string][] {
  const seen = new Map<string, string>();
  for (const { resource } of workspace.resources) {
    if (!resource.name) continue;
    const label = resource.namespace ? `${resource.namespace}/${resource.name}` : resource.name;
    if (!seen.has(label)) seen.set(label, `${resource.kind} (${resource.mesh})`);
  }
  return [...seen].sort((a, b) => a[0].localeCompare(b[0]));
}
