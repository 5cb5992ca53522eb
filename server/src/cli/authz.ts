import type { SourceRef } from '../engine/simulate/types';
import { listAuthz, listingText, unknownText, type AuthzListing, type AuthzTarget } from '../engine/authz';
import { ArgCursor } from './args';
import { commandFailure, HelpRequested, UsageError } from './errors';
import type { CliIo } from './main';
import { loadWorkspace } from './simulate';
import { displayPath } from './traffic';

export const AUTHZ_USAGE = `Usage: mesh-policy authz <namespace>/<workload> --policies <paths> [options]
       mesh-policy authz <service> --policies <paths> [options]          (Consul)

authz lists the policies that apply to one workload, in the order its mesh evaluates them, read
from files (no cluster): per Istio proxy the call passes, its mTLS mode (PeerAuthentication, per
port where portLevelMtls sets one) and the RequestAuthentications that validate tokens, then
CUSTOM, DENY, ALLOW and AUDIT policies; per Linkerd port, the Server that selects it, its routes
in the order the proxy prefers them and its authorizations, or the default policy; the Consul
intentions for the service by precedence, and the default (docs/authz.md).

Options:
  --policies <paths>           Policy files or folders (several after the option, repeated, or
                               separated with commas).
  --inventory <paths>          Kubernetes manifests or kubectl dumps (default: the policy paths).
  --port <N>                   Linkerd: list only this port (default: every port of the workload).
  --config <file>              .meshpolicy.yaml (default: the nearest one above the current folder).
  --format text|json           A table per mesh (default), or the same as JSON.

Exit codes: 0 listed, 2 usage error, unreadable input, or a workload no mesh knows (the nearest
names are suggested).`;

interface AuthzArgs {
  target?: string;
  port?: number;
  policies: string[];
  inventory: string[];
  config?: string;
  format: 'text' | 'json';
}

function parse(args: string[]): AuthzArgs {
  const parsed: AuthzArgs = { policies: [], inventory: [], format: 'text' };
  for (const cli = new ArgCursor(args); cli.next();) {
    switch (cli.flag) {
      case '--help': case '-h': throw new HelpRequested();
      case '--policies': parsed.policies.push(...cli.list()); break;
      case '--inventory': parsed.inventory.push(...cli.list()); break;
      case '--config': parsed.config = cli.value(); break;
      case '--port': {
        const raw = cli.value();
        const n = Number(raw);
        if (!/^\d+$/.test(raw) || n < 1 || n > 65535) throw new UsageError(`--port must be a port number, 1 to 65535 (got "${raw}")`);
        parsed.port = n;
        break;
      }
      case '--format': {
        const v = cli.value();
        if (v !== 'text' && v !== 'json') throw new UsageError(`--format must be text or json (got "${v}")`);
        parsed.format = v;
        break;
      }
      default:
        if (cli.isOption || parsed.target !== undefined) throw cli.unexpected();
        parsed.target = cli.arg;
    }
  }
  if (parsed.target === undefined) throw new UsageError('authz needs a workload: <namespace>/<workload> (Consul: <service>)');
  if (parsed.policies.length === 0) throw new UsageError('authz needs --policies');
  return parsed;
}

function targetOf(text: string, port: number | undefined): AuthzTarget {
  const parts = text.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) throw new UsageError(`the workload must be <namespace>/<workload> or <name> (got "${text}")`);
  const [first, second] = parts as [string, string | undefined];
  return { ...(second !== undefined ? { namespace: first, name: second } : { name: first }), ...(port !== undefined ? { port } : {}) };
}

export function runAuthzCli(args: string[], io: CliIo): number {
  try {
    const parsed = parse(args);
    const target = targetOf(parsed.target!, parsed.port);
    const loaded = loadWorkspace(parsed, io);
    if (typeof loaded === 'number') return loaded;
    const { listings, unknown } = listAuthz(loaded.workspace, target);
    if (unknown.length && !listings.length) {
      const empty = loaded.workspace.inventory.workloads.length === 0 ? '; the inventory has no workloads: give their manifests with --inventory' : '';
      io.stderr(`mesh-policy: ${unknownText(parsed.target!, unknown)}${empty}`);
      return 2;
    }
    const rel = (p: string) => displayPath(io.cwd, p);
    if (parsed.format === 'json') {
      io.stdout(JSON.stringify({ target: parsed.target, listings: listings.map((l) => relativeListing(l, rel)) }, null, 2));
    } else {
      io.stdout(listings.length ? listings.map((l) => listingText(l, rel)).join('\n\n') : `No Istio, Linkerd or Consul policy in --policies: nothing applies to ${parsed.target}.`);
    }
    return 0;
  } catch (error) {
    return commandFailure(error, io, AUTHZ_USAGE);
  }
}

function relativeListing(listing: AuthzListing, rel: (p: string) => string): AuthzListing {
  const relative = (at: SourceRef): SourceRef => ({ ...at, file: rel(at.file) });
  return {
    ...listing,
    sections: listing.sections.map((s) => ({
      ...s,
      ...(s.authentication ? { authentication: { ...s.authentication, rows: s.authentication.rows.map((r) => (r.at ? { ...r, at: relative(r.at) } : r)) } } : {}),
      rows: s.rows.map((r) => ({ ...r, at: relative(r.at) })),
    })),
  };
}
