import { toValue, type SourceNode } from '../../source/tree';
import type { Fix } from '../../findings';
import type { Check } from '../check';
import { describeSource, key, modelOf, normalizedSource } from './model';
import { removeArrayItem } from './removal';
import { lineOf } from './util';

/**
 * V26: a source may appear once per destination. Identity is (peer, sameness group, partition,
 * namespace, name) after Normalize, so `web` and `web` with the destination's own namespace
 * written out are the same source. Consul rejects the entry ("Sources[i] defines ... more than
 * once"); the consul-k8s webhook does not look, so a CRD fails later, at sync.
 */
export const duplicateSource: Check = {
  code: 'MPA3001',
  mesh: 'consul',
  title: 'Source listed twice',
  defaultSeverity: 'error',
  upstream: 'Consul config entry validation: "Sources[%d] defines %q more than once"',
  kinds: ['ServiceIntentions', 'service-intentions'],
  run(context) {
    const model = modelOf(context.resource);
    const seen = new Map<string, number>();
    for (const source of model.sources) {
      if (!source.name) continue;
      const n = normalizedSource(model, source);
      const identity = JSON.stringify([n.peer, n.samenessGroup, n.partition, n.namespace, n.name]);
      const first = seen.get(identity);
      if (first === undefined) {
        seen.set(identity, source.index);
        continue;
      }
      const firstSource = model.sources.find((s) => s.index === first)!;
      const line = lineOf(context, firstSource.path);
      const fixes: Fix[] = [];
      // Removing is only mechanical when both say exactly the same thing.
      const located = context.locate(source.path.slice(0, -1));
      if (located.node?.type === 'array' && sameMeaning(context.locate(firstSource.path).node, context.locate(source.path).node)) {
        const edit = removeArrayItem(context.file, located.node, source.index);
        if (edit) fixes.push({ title: `Remove the repeated source "${source.name}"`, edits: [edit], preferred: true });
      }
      context.report(
        { path: [...source.path, key(model.form, 'Name')] },
        `source ${JSON.stringify(describeSource(model, source))} is already listed${line ? ` at line ${line}` : ''}; Consul rejects an intentions entry that defines a source more than once`,
        { fixes },
      );
    }
  },
};

function sameMeaning(a: SourceNode | undefined, b: SourceNode | undefined): boolean {
  const strip = (v: unknown) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
    return Object.fromEntries(Object.entries(v).filter(([k]) => k.toLowerCase() !== 'description'));
  };
  return JSON.stringify(strip(toValue(a))) === JSON.stringify(strip(toValue(b)));
}
