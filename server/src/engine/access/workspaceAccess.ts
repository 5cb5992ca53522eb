import type { WorkspaceView } from '../checks/check';
import { MESH_NAME } from '../authz/render';
import { Simulation } from '../simulate';
import { perWorkspaceState } from '../workspaceState';
import type { Verdict } from '../simulate/types';
import { Pace } from '../pace';
import { accessMapPaced } from './index';
import type { AccessMap } from './types';

/** The most cells the editor decides for its lenses on its own; a larger map is left to the command. */
export const LENS_MAX_CELLS = 20_000;

/**
 * The access map of one workspace state for the editor's lenses on workload manifests: built on
 * the first lens asked (every caller against every destination port, decided once), kept while
 * the state lasts, and not built at all over `LENS_MAX_CELLS`.
 */
export class WorkspaceAccess {
  private built: AccessMap | undefined;

  constructor(private readonly workspace: WorkspaceView) {}

  private async map(pace: Pace): Promise<AccessMap> {
    // (a build cancelled half way keeps nothing: the next lens starts again)
    this.built ??= await accessMapPaced(this.workspace, new Simulation(this.workspace), { maxCells: LENS_MAX_CELLS }, pace);
    return this.built;
  }

  /**
   * One line per mesh on who may call the workload, per port: `Access (Istio, 4 callers): :9090 1
   * depending · 3 denied; :9102 4 allowed`. None when the workload is in no mapped mesh, or the map
   * is too large for a lens.
   */
  async headlines(namespace: string, name: string, pace = new Pace()): Promise<string[]> {
    const out: string[] = [];
    for (const mesh of (await this.map(pace)).meshes) {
      const rows = mesh.rows.filter((r) => r.destination.namespace === namespace && r.destination.name === name);
      if (!rows.length) continue;
      const parts = rows.map((row) => {
        const counts = new Map<Verdict, number>();
        for (const cell of row.cells) counts.set(cell.verdict, (counts.get(cell.verdict) ?? 0) + 1);
        const said = (['allow', 'unknown', 'external', 'deny'] as const).filter((v) => counts.has(v)).map((v) => `${counts.get(v)} ${WORDS[v]}`).join(' · ');
        return row.destination.port !== undefined ? `:${row.destination.port} ${said}` : said;
      });
      out.push(`Access (${MESH_NAME[mesh.mesh]}, ${mesh.callers.length} ${mesh.callers.length === 1 ? 'caller' : 'callers'}): ${parts.join('; ')}`);
    }
    return out;
  }
}

const WORDS: Record<Verdict, string> = { allow: 'allowed', unknown: 'depending', external: 'external', deny: 'denied' };

/** The `WorkspaceAccess` of the workspace's current state (`perWorkspaceState`). */
export const workspaceAccess: (workspace: WorkspaceView) => WorkspaceAccess = perWorkspaceState((workspace) => new WorkspaceAccess(workspace));
