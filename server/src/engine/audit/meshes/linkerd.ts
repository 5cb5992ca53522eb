import type { Resource } from '../../resource';
import type { SourceFile } from '../../source/sourceFile';
import { at, child, items, outlinedRules, policyLabel, scalar, strings, type AuditMeshModule, type RuleCandidate, type StaticRisk } from './types';

const ANYWHERE = new Set(['0.0.0.0/0', '::/0']);

export const linkerdAudit: AuditMeshModule = {
  mesh: 'linkerd',

  rules(file: SourceFile, resource: Resource): RuleCandidate[] {
    const label = policyLabel(resource);
    if (resource.kind === 'AuthorizationPolicy' || resource.kind === 'ServerAuthorization') return [{ mesh: 'linkerd', file: file.path, ...at(file, resource.node), label }];
    return outlinedRules(file, resource, label);
  },

  risks(file: SourceFile, resource: Resource): StaticRisk[] {
    const label = policyLabel(resource);
    const spec = child(resource.node, 'spec');
    const out: StaticRisk[] = [];
    const risk = (kind: StaticRisk['kind'], node: Parameters<typeof at>[1], message: string): void => {
      out.push({ kind, mesh: 'linkerd', file: file.path, range: at(file, node).range, label, message });
    };
    switch (resource.kind) {
      case 'Server': {
        const node = child(spec, 'accessPolicy');
        const policy = scalar(node);
        if (policy === 'all-unauthenticated') risk('allow-all', node!, 'accessPolicy all-unauthenticated: any client, with or without mesh identity, may call the Server');
        else if (policy === 'cluster-unauthenticated') risk('plaintext', node!, 'accessPolicy cluster-unauthenticated: plaintext clients in the cluster networks may call the Server');
        break;
      }
      case 'AuthorizationPolicy': {
        const refs = child(spec, 'requiredAuthenticationRefs');
        if (items(refs).length === 0) risk('allow-all', refs ?? resource.node, 'no requiredAuthenticationRefs: every client of the target is authorized');
        break;
      }
      case 'MeshTLSAuthentication': {
        const node = child(spec, 'identities');
        for (const identity of strings(node)) if (identity.includes('*')) risk('wildcard', node!, `identity "${identity}"${identity === '*' ? ': any meshed client' : ' is a wildcard'}`);
        break;
      }
      case 'NetworkAuthentication':
        items(child(spec, 'networks')).forEach((network, i) => {
          const cidr = scalar(child(network, 'cidr'));
          if (cidr && ANYWHERE.has(cidr) && items(child(network, 'except')).length === 0) risk('plaintext', network, `networks[${i}] is ${cidr}: unauthenticated clients from any address`);
        });
        break;
      case 'ServerAuthorization': {
        const client = child(spec, 'client');
        const unauthenticated = child(client, 'unauthenticated');
        if (scalar(unauthenticated) === 'true') risk('plaintext', unauthenticated!, 'client.unauthenticated: plaintext clients are authorized');
        const identities = child(child(client, 'meshTLS'), 'identities');
        for (const identity of strings(identities)) if (identity.includes('*')) risk('wildcard', identities!, `client.meshTLS.identities has "${identity}"`);
        break;
      }
      default:
    }
    return out;
  },
};
