import type { Resource } from '../../resource';
import type { SourceFile } from '../../source/sourceFile';
import { at, child, isEmptyObject, items, outlinedRules, policyLabel, scalar, strings, type AuditMeshModule, type RuleCandidate, type StaticRisk } from './types';

/** Fields whose values are matched with `*` prefix/suffix wildcards (a lone `*` matches anything). */
const SOURCE_WILDCARD_FIELDS = ['principals', 'namespaces', 'requestPrincipals'];
const OPERATION_WILDCARD_FIELDS = ['hosts', 'paths'];

export const istioAudit: AuditMeshModule = {
  mesh: 'istio',

  rules(file: SourceFile, resource: Resource): RuleCandidate[] {
    if (resource.kind !== 'AuthorizationPolicy') return [];
    const label = policyLabel(resource);
    const rules = outlinedRules(file, resource, label);
    // A policy without rules still decides (ALLOW: allow-nothing; DENY: nothing): the policy is the rule.
    return rules.length ? rules : [{ mesh: 'istio', file: file.path, ...at(file, resource.node), label }];
  },

  risks(file: SourceFile, resource: Resource): StaticRisk[] {
    const label = policyLabel(resource);
    const spec = child(resource.node, 'spec');
    const out: StaticRisk[] = [];
    const risk = (kind: StaticRisk['kind'], node: Parameters<typeof at>[1], message: string): void => {
      out.push({ kind, mesh: 'istio', file: file.path, range: at(file, node).range, label, message });
    };
    if (resource.kind === 'PeerAuthentication') {
      const mode = scalar(child(child(spec, 'mtls'), 'mode'));
      if (mode === 'PERMISSIVE' || mode === 'DISABLE') risk('plaintext', child(child(spec, 'mtls'), 'mode')!, `mTLS mode ${mode}: the workloads accept plaintext calls, which carry no caller identity`);
      const ports = child(spec, 'portLevelMtls');
      if (ports?.type === 'object') {
        for (const entry of ports.entries) {
          const portMode = scalar(child(entry.value, 'mode'));
          if (portMode === 'PERMISSIVE' || portMode === 'DISABLE') risk('plaintext', entry.value, `port ${entry.key}: mTLS mode ${portMode} accepts plaintext calls`);
        }
      }
      return out;
    }
    if (resource.kind !== 'AuthorizationPolicy') return out;
    const action = scalar(child(spec, 'action')) ?? 'ALLOW';
    if (action !== 'ALLOW') return out;
    items(child(spec, 'rules')).forEach((rule, i) => {
      if (isEmptyObject(rule)) {
        risk('allow-all', rule, `rules[${i}] is empty: it allows every request to the selected workloads`);
        return;
      }
      if (!child(rule, 'from')) risk('allow-all', rule, `rules[${i}] has no "from": any caller, including plaintext ones, may make the requests it names`);
      items(child(rule, 'from')).forEach((from, j) => {
        const source = child(from, 'source');
        for (const field of SOURCE_WILDCARD_FIELDS) {
          const node = child(source, field);
          for (const value of strings(node)) if (value.includes('*')) risk('wildcard', node!, `rules[${i}].from[${j}].source.${field} has the wildcard "${value}"${value === '*' ? ': any authenticated caller' : ''}`);
        }
      });
      items(child(rule, 'to')).forEach((to, j) => {
        const operation = child(to, 'operation');
        for (const field of OPERATION_WILDCARD_FIELDS) {
          const node = child(operation, field);
          for (const value of strings(node)) if (value === '*' || value === '/*') risk('wildcard', node!, `rules[${i}].to[${j}].operation.${field} is "${value}": every ${field === 'paths' ? 'path' : 'host'}`);
        }
      });
    });
    return out;
  },
};
