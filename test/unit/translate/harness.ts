import { defaultConfig, type ProjectConfig } from '../../../server/src/engine/config/projectConfig';
import { Engine } from '../../../server/src/engine/engine';
import { buildInventory } from '../../../server/src/engine/inventory/inventory';
import type { Mesh } from '../../../server/src/engine/meshes';
import { SIMULATORS } from '../../../server/src/engine/simulate';
import type { Decision } from '../../../server/src/engine/simulate/types';
import type { AccessRecord } from '../../../server/src/engine/traffic/accessRecord';
import type { MeshResources, TranslationContext } from '../../../server/src/engine/translate/model';

/** Shared by the translation tests: policies and inventory from YAML text, and decisions of calls under them. */

const engine = new Engine();

/** The recognized resources of `yaml` (read as the file `path`). */
export function resourcesOf(yaml: string, path = '/ws/policies.yaml'): MeshResources {
  const file = engine.read(path, yaml);
  return engine.prepare(file).recognition.resources.map((resource) => ({ file, resource }));
}

/** A context with the inventory of `inventoryYaml` and the default configuration, changed by `configure`. */
export function contextOf(inventoryYaml = '', configure: (config: ProjectConfig) => void = () => {}): TranslationContext {
  const config = defaultConfig('/ws');
  configure(config);
  const inventory = buildInventory(inventoryYaml ? [engine.read('/ws/inventory.yaml', inventoryYaml)] : []);
  return { inventory, config };
}

/** Each record decided by `mesh`'s simulator under the policies of `yaml`, with the context's inventory and configuration. */
export function decideUnder(mesh: Mesh, yaml: string, context: TranslationContext, records: readonly AccessRecord[]): Decision[] {
  const compiled = SIMULATORS[mesh].compile({ resources: resourcesOf(yaml).filter((r) => r.resource.mesh === mesh), inventory: context.inventory, config: context.config });
  return records.map((r) => compiled.decide({ mesh, ...r }));
}
