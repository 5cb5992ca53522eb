import type { Check } from '../check';
import { modelOf, obj } from './model';
import { removeObjectEntry } from './removal';

/**
 * V13 as Consul applies it: on a normal write (`consul config write`, the config API, a CRD
 * sync) Normalize clears `LegacyID`, `LegacyCreateTime` and `LegacyUpdateTime` by itself, so
 * those pass silently, but it keeps a non-empty `LegacyMeta` so that Validate can refuse the
 * write instead of dropping the data: "Sources[%d].LegacyMeta must be omitted". This is what
 * happens when the output of `consul config read` for a migrated pre-1.9 intention is written
 * back unchanged. The CRD has no legacy fields.
 */
export const legacyMeta: Check = {
  code: 'MPA3003',
  mesh: 'consul',
  title: 'LegacyMeta on a normal write',
  defaultSeverity: 'error',
  upstream: 'Consul config entry validation: "Sources[%d].LegacyMeta must be omitted"',
  kinds: ['service-intentions'],
  run(context) {
    const model = modelOf(context.resource);
    for (const source of model.sources) {
      const meta = obj(source.raw['LegacyMeta']);
      if (!meta || Object.keys(meta).length === 0) continue;
      const node = context.locate(source.path).node;
      const index = node?.type === 'object' ? node.entries.findIndex((e) => e.key === 'LegacyMeta') : -1;
      const edit = node?.type === 'object' && index >= 0 ? removeObjectEntry(context.file, node, index) : undefined;
      context.report(
        { path: [...source.path, 'LegacyMeta'], part: 'key' },
        `LegacyMeta must be omitted: Consul refuses to write an entry that carries the metadata of a pre-1.9 intention (it clears LegacyID and the legacy times itself, but not this)`,
        { fixes: edit ? [{ title: 'Remove LegacyMeta', edits: [edit], preferred: true }] : [] },
      );
    }
  },
};
