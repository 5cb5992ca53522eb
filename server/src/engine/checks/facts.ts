import type { WorkspaceFact, WorkspaceView } from './check';

interface Known {
  resources: WorkspaceView['resources'];
  sourceFiles: WorkspaceView['sourceFiles'];
  inventory: WorkspaceView['inventory'];
  config: WorkspaceView['config'];
  value: unknown;
  key: string;
}

/** Per workspace object, the last value of each fact and the workspace state it was computed in. */
const known = new WeakMap<object, Map<WorkspaceFact<unknown>, Known>>();

/** The fact's value in `workspace` (without tracking): computed again only when the workspace
 * hands out other resources, files, inventory or configuration, and the same object as before
 * while its key is unchanged. */
export function factValue<T>(workspace: WorkspaceView, fact: WorkspaceFact<T>): T {
  let facts = known.get(workspace);
  if (!facts) known.set(workspace, (facts = new Map()));
  const last = facts.get(fact as WorkspaceFact<unknown>);
  const { resources, sourceFiles, inventory, config } = workspace;
  if (last && last.resources === resources && last.sourceFiles === sourceFiles && last.inventory === inventory && last.config === config) return last.value as T;
  const value = fact.compute(workspace);
  const key = fact.index ? '' : fact.key(value);
  const kept = last && !fact.index && last.key === key ? (last.value as T) : value;
  facts.set(fact as WorkspaceFact<unknown>, { resources, sourceFiles, inventory, config, value: kept, key });
  return kept;
}

/** How a check reads a fact: through the view it was given, so that a tracking view records it. */
export function readFact<T>(workspace: WorkspaceView, fact: WorkspaceFact<T>): T {
  return workspace.fact ? workspace.fact(fact) : factValue(workspace, fact);
}

const textIds = new WeakMap<object, number>();
let nextTextId = 0;

/** A number for a resource's admitted value: the same for the same text (`resourceValue` shares
 * the value per text), so a fact's key can name what a resource says without copying it. */
export function textId(value: object): number {
  let id = textIds.get(value);
  if (id === undefined) textIds.set(value, (id = nextTextId++));
  return id;
}
