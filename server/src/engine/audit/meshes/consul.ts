import type { Resource } from '../../resource';
import type { SourceFile } from '../../source/sourceFile';
import type { SourceNode } from '../../source/tree';
import { at, child, items, outlinedRules, scalar, type AuditMeshModule, type RuleCandidate, type StaticRisk } from './types';

/** ServiceIntentions (consul-k8s CRD, camelCase under spec) and service-intentions config entries (top level). */
function intentions(resource: Resource): { destination: string; sources: SourceNode[]; label: string } {
  const spec = child(resource.node, 'spec') ?? resource.node;
  const destination = scalar(child(child(spec, 'destination'), 'name')) ?? scalar(child(spec, 'name')) ?? resource.name ?? '?';
  return { destination, sources: items(child(spec, 'sources')), label: `${resource.kind} ${destination}` };
}

function permissionsOf(source: SourceNode): SourceNode[] {
  return items(child(source, 'permissions'));
}

export const consulAudit: AuditMeshModule = {
  mesh: 'consul',

  rules(file: SourceFile, resource: Resource): RuleCandidate[] {
    if (!/^(ServiceIntentions|service-intentions)$/i.test(resource.kind)) return [];
    return outlinedRules(file, resource, intentions(resource).label);
  },

  risks(file: SourceFile, resource: Resource): StaticRisk[] {
    if (!/^(ServiceIntentions|service-intentions)$/i.test(resource.kind)) return [];
    const { destination, sources, label } = intentions(resource);
    const out: StaticRisk[] = [];
    const risk = (kind: StaticRisk['kind'], node: SourceNode, message: string): void => {
      out.push({ kind, mesh: 'consul', file: file.path, range: at(file, node).range, label, message });
    };
    sources.forEach((source, i) => {
      const name = scalar(child(source, 'name')) ?? '';
      const action = scalar(child(source, 'action'))?.toLowerCase();
      if (action === 'allow' && name === '*') risk('allow-all', source, `Sources[${i}] allows every service${destination === '*' ? ' to call every service' : ` to call ${destination}`}`);
      else if (action === 'allow' && destination === '*') risk('allow-all', source, `Sources[${i}] ${name} may call every service`);
      for (const field of ['namespace', 'partition', 'peer']) {
        if (scalar(child(source, field)) === '*' && action === 'allow') risk('wildcard', source, `Sources[${i}] ${name}: ${field} "*"`);
      }
      permissionsOf(source).forEach((permission, j) => {
        if (scalar(child(permission, 'action'))?.toLowerCase() !== 'allow') return;
        const http = child(permission, 'http');
        const prefix = scalar(child(http, 'pathPrefix'));
        const methods = items(child(http, 'methods'));
        const headers = items(child(http, 'header'));
        if ((prefix === '/' || (http?.type === 'object' && http.entries.length === 0)) && methods.length === 0 && headers.length === 0) {
          risk('wildcard', permission, `Sources[${i}] ${name} Permissions[${j}] allows every path and method`);
        }
      });
    });
    return out;
  },
};
