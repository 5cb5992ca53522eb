import type { Check, CheckContext } from '../check';
import { arr, isRec, quote } from './lib/common';
import { cidrContains, parseCidr, type Cidr } from './lib/cidr';

/** Networks the Linkerd admission webhook rejects (linkerd/linkerd2:policy-controller/runtime/src/admission.rs
 * `Validate<NetworkAuthenticationSpec>`, `validate_networks`, `Validate<ServerAuthorizationSpec>`;
 * k8s/api/src/policy/network.rs `Cidr`). The schema only says `cidr` is a string. */

function checkNetworks(context: CheckContext, networks: unknown[], base: (string | number)[]): void {
  networks.forEach((network, index) => {
    if (!isRec(network)) return;
    const path = [...base, index];
    const cidrText = network['cidr'];
    let cidr: Cidr | undefined;
    if (typeof cidrText === 'string') {
      cidr = parseCidr(cidrText);
      if (!cidr) context.report({ path: [...path, 'cidr'] }, notParsed(cidrText));
    }
    arr(network['except']).forEach((exceptText, k) => {
      if (typeof exceptText !== 'string') return;
      const exceptPath = [...path, 'except', k];
      const except = parseCidr(exceptText);
      if (!except) return void context.report({ path: exceptPath }, notParsed(exceptText));
      if (!cidr || typeof cidrText !== 'string') return;
      if (cidrContains(except, cidr)) {
        context.report({ path: exceptPath }, `exception ${quote(exceptText)} covers all of ${quote(cidrText)}, so this network admits no address; the admission webhook rejects it ("cidr '${cidrText}' is completely negated by exception '${exceptText}'")`);
      } else if (!cidrContains(cidr, except)) {
        const family = cidr.family !== except.family ? ` (an IPv${except.family} exception in an IPv${cidr.family} network)` : '';
        context.report({ path: exceptPath }, `exception ${quote(exceptText)} is not inside ${quote(cidrText)}${family}; the admission webhook rejects it ("cidr '${cidrText}' does not include exception '${exceptText}'")`);
      }
    });
  });
}

function notParsed(text: string): string {
  return `${quote(text)} is neither an IP address nor a CIDR block (such as 10.0.0.0/8, 192.0.2.7 or fd00::/8); the admission webhook cannot read the spec and rejects it`;
}

export const networkRejected: Check = {
  code: 'MPA2003',
  mesh: 'linkerd',
  title: 'Network rejected by the Linkerd admission webhook',
  defaultSeverity: 'error',
  upstream: 'Linkerd policy admission webhook: "at least one network must be specified", "cidr ... does not include exception ...", "cidr ... is completely negated by exception ..."',
  kinds: ['NetworkAuthentication', 'ServerAuthorization'],
  run(context) {
    const spec = context.value['spec'];
    if (!isRec(spec)) return;
    if (context.resource.kind === 'NetworkAuthentication') {
      const networks = spec['networks'];
      if (!Array.isArray(networks)) return;
      if (networks.length === 0) {
        context.report({ path: ['spec', 'networks'], part: 'key' }, 'networks is empty: a NetworkAuthentication needs at least one network; the admission webhook rejects it ("at least one network must be specified")');
        return;
      }
      checkNetworks(context, networks, ['spec', 'networks']);
    } else {
      const client = spec['client'];
      if (isRec(client) && Array.isArray(client['networks'])) checkNetworks(context, client['networks'], ['spec', 'client', 'networks']);
    }
  },
};
