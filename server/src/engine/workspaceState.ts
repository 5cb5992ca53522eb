import type { WorkspaceView } from './checks/check';

/**
 * One `T` per state of a workspace: the same object while its resources, inventory and
 * configuration are the same objects (the workspace model keeps them until a file changes), a new
 * one after. What the editor builds lazily for a state (listings, the access map) lives in it.
 */
export function perWorkspaceState<T>(create: (workspace: WorkspaceView) => T): (workspace: WorkspaceView) => T {
  const cache = new WeakMap<object, { inventory: object; config: object; value: T }>();
  return (workspace) => {
    const { resources, inventory, config } = workspace;
    const cached = cache.get(resources);
    if (cached && cached.inventory === inventory && cached.config === config) return cached.value;
    const value = create(workspace);
    cache.set(resources, { inventory, config, value });
    return value;
  };
}
