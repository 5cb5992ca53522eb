import type { TrafficShape } from '../../traffic/ingest/types';
import { collectEvidence, plural, templateRegex, type Caller, type GenerateOptions, type Operation } from './evidence';
import { GenerationDraft } from './summary';
import type { GeneratedPolicies, PolicyGenerator } from './types';
import { dnsName } from './yaml';

/**
 * The calling service, and its namespace and partition where its SPIFFE ID
 * (spiffe://<trust domain>[/ap/<partition>]/ns/<ns>/dc/<dc>/svc/<name>) gives them.
 */
function sourceOf(caller: Caller): { name: string; namespace: string; partition: string } | undefined {
  const spiffe = /^spiffe:\/\/[^/]+(?:\/ap\/([^/]+))?\/ns\/([^/]+)\/dc\/[^/]+\/svc\/([^/]+)$/.exec(caller.principal);
  if (spiffe) return { name: caller.service ?? spiffe[3]!, namespace: spiffe[2]!, partition: spiffe[1] ?? 'default' };
  const name = caller.service ?? /\/svc\/([^/]+)$/.exec(caller.principal)?.[1];
  return name === undefined ? undefined : { name, namespace: 'default', partition: 'default' };
}

/**
 * Consul: one ServiceIntentions (consul-k8s CRD) per destination service. Each calling service is
 * a source: L4 `action: allow` for TCP services; for HTTP services, L7 permissions (one per
 * method set and path: `pathExact`, or `pathRegex` of one segment for a template) ending with a
 * deny of every other path, so that the default intention policy never decides its requests.
 * A wildcard source denies every service not listed; a service no call was observed allowed to
 * gets that wildcard deny alone.
 *
 * Enterprise namespaces (a destination or a caller outside `default`): the entry names its
 * destination's namespace, `default` too (consul-k8s would otherwise put it in the Consul
 * namespace of the Kubernetes namespace the resource is applied to), a source names its namespace unless it is the destination's (an empty source
 * namespace is the entry's own), and the wildcard deny covers every namespace (`*`/`*`): a
 * `*` source with no namespace is only the destination's namespace.
 */
export const consulGenerator: PolicyGenerator = {
  mesh: 'consul',
  generate(shapes: readonly TrafficShape[], options: GenerateOptions): GeneratedPolicies {
    const evidence = collectEvidence('consul', shapes, (r) => {
      const name = r.destination?.service ?? r.destination?.workload;
      if (!name) return 'destination service not resolved';
      const namespace = r.destination?.namespace ?? 'default';
      return { key: namespace === 'default' ? name : `${namespace}/${name}`, namespace, service: name };
    }, options);
    const enterprise = evidence.destinations.some((d) => d.namespace !== 'default'
      || d.groups.some((g) => g.callers.some((c) => (sourceOf(c)?.namespace ?? 'default') !== 'default')));
    const draft = new GenerationDraft();
    const { body, destinations, skipped } = draft;
    for (const dest of evidence.destinations) {
      // per calling service: its operations (from every group it belongs to) and whether it used TCP
      // keyed by partition, namespace and name: a source without them is the destination's own
      // namespace and partition (the entry written here names neither: default)
      const sources = new Map<string, { name: string; namespace: string; partition: string; calls: number; operations: Operation[]; tcp: number }>();
      for (const group of dest.groups) {
        for (const caller of group.callers) {
          const source = sourceOf(caller);
          if (!source) {
            skipped.push({ reason: 'caller identity names no Consul service', calls: caller.calls, examples: [caller.principal] });
            continue;
          }
          const key = `${source.partition}/${source.namespace}/${source.name}`;
          const s = sources.get(key) ?? { ...source, calls: 0, operations: [], tcp: 0 };
          s.calls += caller.calls;
          s.operations.push(...group.operations);
          s.tcp += group.tcp.reduce((sum, t) => sum + t.calls, 0);
          sources.set(key, s);
        }
      }
      if (sources.size === 0 && dest.groups.length > 0) continue;
      const http = [...dest.ports.values()].some((p) => p.http || p.grpc);
      body.document();
      if (dest.groups.length === 0) body.comment(0, `${dest.key}: no call observed allowed, ${plural(dest.deniedCalls, 'observed denied call')}: only the wildcard deny.`);
      else body.comment(0, `${dest.key}: ${plural(dest.calls, 'allowed call')} from ${plural(sources.size, 'service')}${dest.deniedCalls ? `; ${plural(dest.deniedCalls, 'observed denied call')} stay denied` : ''}.`);
      if (http && sources.size > 0) body.comment(0, `L7 permissions need ${dest.key} to be an http service (ServiceDefaults protocol: http).`);
      body.key(0, 'apiVersion', 'consul.hashicorp.com/v1alpha1').key(0, 'kind', 'ServiceIntentions');
      body.key(0, 'metadata').key(2, 'name', dnsName(dest.key));
      body.key(0, 'spec');
      body.key(2, 'destination').key(4, 'name', dest.service ?? dest.key);
      if (enterprise) body.key(4, 'namespace', dest.namespace);
      body.key(2, 'sources');
      for (const [, s] of [...sources].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
        body.line(4, `- name: ${JSON.stringify(s.name)}`, plural(s.calls, 'call'));
        if (s.namespace !== dest.namespace) body.key(6, 'namespace', s.namespace);
        if (s.partition !== 'default') body.key(6, 'partition', s.partition);
        if (!http || s.operations.length === 0) {
          body.key(6, 'action', 'allow');
          continue;
        }
        body.key(6, 'permissions');
        for (const op of s.operations) {
          for (const path of op.paths) {
            body.line(8, '- action: allow', path.kind === 'template' ? `${path.distinct} distinct paths, ${plural(path.calls, 'call')}` : plural(path.calls, 'call'));
            body.key(10, 'http');
            if (path.value === '') body.key(12, 'pathPrefix', '/');
            else if (path.kind === 'template') body.key(12, 'pathRegex', templateRegex(path.value));
            else body.key(12, 'pathExact', path.value);
            if (op.methods.length) body.list(12, 'methods', op.methods.map((m) => ({ value: m })));
          }
        }
        body.line(8, '- action: deny', 'every other request from this source');
        body.key(10, 'http').key(12, 'pathPrefix', '/');
      }
      body.line(4, '- name: "*"', enterprise ? 'every other service, in every namespace' : 'every other service');
      if (enterprise) body.key(6, 'namespace', '*');
      body.key(6, 'action', 'deny');
      destinations.push({ name: dest.key, calls: dest.calls, callers: sources.size, resources: [`ServiceIntentions ${dest.key}`] });
    }
    return draft.finish('consul', 'Consul', evidence, options);
  },
};
