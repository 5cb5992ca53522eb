import type { TrafficShape } from '../../traffic/ingest/types';
import { collectEvidence, plural, selectorOrSkip, templateRegex, TEMPLATE_SEGMENT, workloadKeyer, type CallerGroup, type GenerateOptions, type PathPattern } from './evidence';
import { GenerationDraft } from './summary';
import type { GeneratedPolicies, GenerationSummary, PolicyGenerator } from './types';
import { dnsName, type YamlWriter } from './yaml';

/**
 * Linkerd: per workload port, a Server; per group of callers that make the same requests, an
 * HTTPRoute (Gateway API, parent the Server) with one match per method and path, a
 * MeshTLSAuthentication with the callers' identities, and an AuthorizationPolicy that targets
 * the route and requires that authentication. Groups never share a path, so a request matches
 * the route of exactly one group. TCP-only ports get an AuthorizationPolicy on the Server.
 * Path templates become `RegularExpression` matches of one segment. Ports that only carried
 * gRPC get `proxyProtocol: gRPC` and GRPCRoutes (Linkerd does not use HTTPRoutes there). A port
 * no call was observed allowed to gets a Server alone, which denies every call.
 */
export const linkerdGenerator: PolicyGenerator = {
  mesh: 'linkerd',
  generate(shapes: readonly TrafficShape[], options: GenerateOptions): GeneratedPolicies {
    const evidence = collectEvidence('linkerd', shapes, workloadKeyer(true), options);
    const draft = new GenerationDraft();
    const { body, destinations, skipped, unprotected } = draft;
    for (const dest of evidence.destinations) {
      const selector = selectorOrSkip(dest, options.inventory, skipped, unprotected);
      // the keyer puts the port in the destination
      const port = [...dest.ports.keys()][0];
      if (!selector || port === undefined) continue;
      const kinds = dest.ports.get(port)!;
      const server = dnsName(dest.workload ?? 'workload', port);
      const names: string[] = [];
      const doc = (kind: string, apiVersion: string, name: string): void => {
        body.document();
        body.key(0, 'apiVersion', apiVersion).key(0, 'kind', kind);
        body.key(0, 'metadata').key(2, 'name', name).key(2, 'namespace', dest.namespace);
        body.key(0, 'spec');
        names.push(`${kind} ${dest.namespace}/${name}`);
      };
      body.document();
      if (dest.groups.length === 0) {
        body.comment(0, `${dest.key}: no call observed allowed, ${plural(dest.deniedCalls, 'observed denied call')}.`);
        body.comment(0, 'A Server that no authorization targets denies every call to the port (kubelet probes included).');
      } else {
        body.comment(0, `${dest.key}: ${plural(dest.calls, 'allowed call')}${dest.deniedCalls ? `; ${plural(dest.deniedCalls, 'observed denied call')} stay denied` : ''}.`);
        body.comment(0, 'Once a Server selects the port, only the authorizations below admit calls (kubelet probes included).');
      }
      body.key(0, 'apiVersion', 'policy.linkerd.io/v1beta3').key(0, 'kind', 'Server');
      body.key(0, 'metadata').key(2, 'name', server).key(2, 'namespace', dest.namespace);
      body.key(0, 'spec');
      body.key(2, 'podSelector').key(4, 'matchLabels');
      for (const [k, v] of Object.entries(selector)) body.key(6, k, v);
      body.key(2, 'port', port);
      // gRPC Servers route with GRPCRoutes (HTTPRoutes are not used for them)
      const grpc = kinds.grpc && !kinds.http && !kinds.tcp;
      if (grpc) body.key(2, 'proxyProtocol', 'gRPC');
      else if (kinds.tcp && !kinds.http && !kinds.grpc) body.key(2, 'proxyProtocol', 'opaque');
      names.push(`Server ${dest.namespace}/${server}`);
      dest.groups.forEach((group, i) => {
        const base = dest.groups.length === 1 ? server : dnsName(server, i + 1);
        // identities need a MeshTLSAuthentication, addresses a NetworkAuthentication; one policy
        // requires all of its authentications, so each kind gets its own AuthorizationPolicy
        const meshCallers = group.callers.filter((c) => !c.network);
        const networkCallers = group.callers.filter((c) => c.network);
        const authns: { kind: string; name: string; suffix?: string }[] = [];
        if (meshCallers.length) {
          const authn = dnsName(base, 'clients');
          doc('MeshTLSAuthentication', 'policy.linkerd.io/v1alpha1', authn);
          body.list(2, 'identities', meshCallers.map((c) => ({ value: c.principal, note: plural(c.calls, 'call') })));
          authns.push({ kind: 'MeshTLSAuthentication', name: authn });
        }
        if (networkCallers.length) {
          const authn = dnsName(base, 'network-clients');
          body.document();
          body.comment(0, 'Clients without mesh identity (e.g. kubelet probes from the nodes), by the addresses they called from.');
          body.key(0, 'apiVersion', 'policy.linkerd.io/v1alpha1').key(0, 'kind', 'NetworkAuthentication');
          body.key(0, 'metadata').key(2, 'name', authn).key(2, 'namespace', dest.namespace);
          body.key(0, 'spec');
          names.push(`NetworkAuthentication ${dest.namespace}/${authn}`);
          body.key(2, 'networks');
          for (const c of networkCallers) body.line(4, `- cidr: ${c.network!}`, plural(c.calls, 'call'));
          authns.push({ kind: 'NetworkAuthentication', name: authn, ...(meshCallers.length ? { suffix: 'network' } : {}) });
        }
        const matches = group.operations.length > 0 ? (grpc ? grpcMatches(group, skipped) : httpMatches(group)) : [];
        const authorize = (targetGroup: string, targetKind: string, targetName: string, calls: number): void => {
          for (const authn of authns) {
            doc('AuthorizationPolicy', 'policy.linkerd.io/v1alpha1', authn.suffix ? dnsName(targetName, authn.suffix) : targetName);
            body.key(2, 'targetRef');
            body.key(4, 'group', targetGroup).key(4, 'kind', targetKind).key(4, 'name', targetName);
            body.key(2, 'requiredAuthenticationRefs');
            body.line(4, '- group: policy.linkerd.io', plural(calls, 'call'));
            body.key(6, 'kind', authn.kind).key(6, 'name', authn.name);
          }
        };
        if (matches.length === 0) {
          authorize('policy.linkerd.io', 'Server', server, group.calls);
          return;
        }
        // Gateway API bounds: 8 matches per rule, 16 rules per route; more matches make more routes
        const perRoute = MAX_MATCHES * MAX_RULES;
        for (let r = 0; r * perRoute < matches.length; r++) {
          const routeName = r === 0 ? base : dnsName(base, 'part', r + 1);
          const part = matches.slice(r * perRoute, (r + 1) * perRoute);
          doc(grpc ? 'GRPCRoute' : 'HTTPRoute', 'gateway.networking.k8s.io/v1', routeName);
          body.key(2, 'parentRefs');
          body.line(4, '- group: policy.linkerd.io');
          body.key(6, 'kind', 'Server').key(6, 'name', server);
          body.key(2, 'rules');
          part.forEach((write, k) => {
            if (k % MAX_MATCHES === 0) body.line(4, '- matches:');
            write(body);
          });
          authorize('gateway.networking.k8s.io', grpc ? 'GRPCRoute' : 'HTTPRoute', routeName, group.calls);
        }
      });
      destinations.push({ name: dest.key, calls: dest.calls, callers: new Set(dest.groups.flatMap((g) => g.callers.map((c) => c.principal))).size, resources: names });
    }
    return draft.finish('linkerd', 'Linkerd', evidence, options);
  },
};

const MAX_MATCHES = 8;
const MAX_RULES = 16;

/** Writes one match (a list item under `matches:`). */
type MatchWriter = (body: YamlWriter) => void;

/** gRPC calls are POST /<service>/<method>: a path template of the method is the whole service. */
function grpcMatch(path: PathPattern): { service: string; method?: string } | undefined {
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path.value);
  if (!m || m[1] === TEMPLATE_SEGMENT) return undefined;
  return m[2] === TEMPLATE_SEGMENT ? { service: m[1]! } : { service: m[1]!, method: m[2]! };
}

function grpcMatches(group: CallerGroup, skipped: GenerationSummary['skipped']): MatchWriter[] {
  const out: MatchWriter[] = [];
  for (const op of group.operations) {
    for (const path of op.paths) {
      const match = grpcMatch(path);
      if (!match) {
        skipped.push({ reason: 'gRPC path that names no service and method', calls: path.calls, examples: [path.value] });
        continue;
      }
      out.push((body) => {
        body.line(8, '- method:', path.kind === 'template' ? `every method of the service: ${path.distinct} seen, ${plural(path.calls, 'call')}` : plural(path.calls, 'call'));
        body.key(12, 'type', 'Exact').key(12, 'service', match.service);
        if (match.method) body.key(12, 'method', match.method);
      });
    }
  }
  return out;
}

function httpMatches(group: CallerGroup): MatchWriter[] {
  const out: MatchWriter[] = [];
  for (const op of group.operations) {
    for (const path of op.paths) {
      const note = path.kind === 'template' ? `${path.distinct} distinct paths, ${plural(path.calls, 'call')}` : plural(path.calls, 'call');
      for (const method of op.methods.length ? op.methods : [undefined]) {
        out.push((body) => {
          if (path.value === '') {
            // the log gives no path: any path, with the method when known
            if (method) body.line(8, `- method: ${method}`, `${note}; no path in the log`);
            else body.line(8, '- path:', `${note}; no path in the log`).key(12, 'type', 'PathPrefix').key(12, 'value', '/');
            return;
          }
          body.line(8, '- path:', note);
          body.key(12, 'type', path.kind === 'template' ? 'RegularExpression' : 'Exact');
          body.key(12, 'value', path.kind === 'template' ? templateRegex(path.value) : path.value);
          if (method) body.key(10, 'method', method);
        });
      }
    }
  }
  return out;
}
