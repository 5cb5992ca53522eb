import type { WorkspaceView } from '../checks/check';
import { toValue } from '../source/tree';

/**
 * Request headers the policies test: Istio `request.headers[name]` conditions, and the header
 * matches of Linkerd/Gateway API routes and Consul permissions (`headers`/`header`/`Header`
 * lists of objects with a name).
 */
export function headersTestedBy(workspace: Pick<WorkspaceView, 'resources'>): string[] {
  const names = new Set<string>();
  const visit = (value: unknown, key: string | undefined): void => {
    if (Array.isArray(value)) {
      for (const item of value) {
        if (key && /^headers?$/i.test(key) && item && typeof item === 'object' && !Array.isArray(item)) {
          const name = (item as Record<string, unknown>)['name'] ?? (item as Record<string, unknown>)['Name'];
          if (typeof name === 'string') names.add(name.toLowerCase());
        }
        visit(item, undefined);
      }
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k === 'key' && typeof v === 'string') {
          const header = /^request\.headers\[(.+)\]$/.exec(v);
          if (header) names.add(header[1]!.toLowerCase());
        }
        visit(v, k);
      }
    }
  };
  for (const { resource } of workspace.resources) visit(toValue(resource.node), undefined);
  return [...names].sort();
}
