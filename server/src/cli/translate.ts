import { relative, resolve } from 'node:path';
import { MESHES, type Mesh } from '../engine/meshes';
import { MISSING_TARGET, translatePolicies, translationLines, type Translation } from '../engine/translate';
import { collectPolicyFiles } from '../engine/workspaceFiles';
import { ArgCursor } from './args';
import { emit, interrupted } from './audit';
import { jsonWithRelativeFiles } from './output';
import { commandFailure, HelpRequested, UsageError } from './errors';
import type { CliIo } from './main';
import { loadWorkspace, readTraffic } from './simulate';
import { isAbort, trafficUnread } from './traffic';

export const TRANSLATE_USAGE = `Usage: mesh-policy translate --to istio|linkerd|consul <policy files or folders...> [options]

translate writes the authorization policies of the other meshes found in the paths as policies of
the mesh --to names (Istio AuthorizationPolicy; Linkerd Server, HTTPRoute, AuthorizationPolicy,
MeshTLSAuthentication, NetworkAuthentication; Consul ServiceIntentions), through one mesh-neutral
model (docs/translate.md). What the target mesh cannot express is left out, never widened
silently: a comment at the top lists each such place and its effect. Then a check decides the
same calls with both meshes' simulators, the original policies and the translation: probe calls
made from the policies, and the observed calls of --traffic when given.

Options:
  --to istio|linkerd|consul    The mesh to translate to.
  --policies <paths>           Policy files or folders (the same as paths given without an option).
  --workspace <paths>          The rest of the workspace: files or folders whose resources the
                               translated policies refer to (a Linkerd AuthorizationPolicy's
                               Server, HTTPRoute or MeshTLSAuthentication in another file; a
                               Consul wildcard entry covering their destinations). They are read
                               and checked with them, not translated.
  --inventory <paths>          Kubernetes manifests or kubectl dumps: workloads, their labels,
                               ports and service accounts (default: the policy and workspace paths).
  --traffic <paths>            Access logs of the source mesh: their calls are checked too.
  --config <file>              .meshpolicy.yaml (default: the nearest one above the current folder).
  --format yaml|json           The translated YAML (default), or everything as JSON: the model,
                               the notes, the check and the YAML.
  --output <file>              Write there (atomically) instead of standard output.

Exit codes: 0 the check found no call decided differently; 1 it found some (stderr lists them),
or could compare none, or there was nothing to translate; 2 usage error or unreadable input; 130 interrupted.`;

interface TranslateArgs {
  to?: Mesh;
  policies: string[];
  inventory: string[];
  workspace: string[];
  traffic: string[];
  config?: string;
  format: 'yaml' | 'json';
  output?: string;
}

function parse(args: string[]): TranslateArgs {
  const parsed: TranslateArgs = { policies: [], inventory: [], workspace: [], traffic: [], format: 'yaml' };
  for (const cli = new ArgCursor(args); cli.next();) {
    switch (cli.flag) {
      case '--help': case '-h': throw new HelpRequested();
      case '--to': {
        const v = cli.value();
        if (!(MESHES as readonly string[]).includes(v)) throw new UsageError(`--to must be istio, linkerd or consul (got "${v}")`);
        parsed.to = v as Mesh;
        break;
      }
      case '--policies': parsed.policies.push(...cli.list()); break;
      case '--inventory': parsed.inventory.push(...cli.list()); break;
      case '--workspace': parsed.workspace.push(...cli.list()); break;
      case '--traffic': parsed.traffic.push(...cli.list()); break;
      case '--config': parsed.config = cli.value(); break;
      case '--output': parsed.output = cli.value(); break;
      case '--format': {
        const v = cli.value();
        if (v !== 'yaml' && v !== 'json') throw new UsageError(`--format must be yaml or json (got "${v}")`);
        parsed.format = v;
        break;
      }
      default:
        if (cli.isOption) throw cli.unexpected();
        parsed.policies.push(...cli.arg.split(',').filter((p) => p.length > 0));
    }
  }
  if (!parsed.to) throw new UsageError('translate needs --to istio|linkerd|consul');
  if (parsed.policies.length === 0) throw new UsageError('translate needs the policy files or folders to translate');
  return parsed;
}

export async function runTranslateCli(args: string[], io: CliIo, workerEntry?: { file: string; argv: string[] }, run: { signal?: AbortSignal } = {}): Promise<number> {
  try {
    const parsed = parse(args);
    const to = parsed.to!;
    const loaded = loadWorkspace({ policies: [...parsed.policies, ...parsed.workspace], inventory: parsed.inventory, ...(parsed.config ? { config: parsed.config } : {}) }, io);
    if (typeof loaded === 'number') return loaded;
    const { workspace } = loaded;
    // with --workspace, only the files of the policy paths are translated; the rest is read for what they refer to
    const translated = parsed.workspace.length ? new Set(collectPolicyFiles(parsed.policies.map((p) => resolve(io.cwd, p))).files) : undefined;
    const sources = workspace.resources.filter((r) => r.resource.mesh !== to && (!translated || translated.has(r.file.path)));
    if (sources.length === 0) {
      io.stderr(`mesh-policy: nothing to translate: the policies found are ${to}'s already, or there are none`);
      return 1;
    }
    let observed;
    let unreadableTraffic = false;
    if (parsed.traffic.length) {
      const traffic = await readTraffic(parsed.traffic, workspace, io, { ...(workerEntry ? { workerEntry } : {}), ...(run.signal ? { signal: run.signal } : {}) });
      if (typeof traffic === 'number') return traffic;
      observed = traffic.shapes;
      unreadableTraffic = trafficUnread(traffic);
    }
    const displayPath = (file: string) => relative(io.cwd, file) || file;
    const translations = await translatePolicies(sources, to, { inventory: workspace.inventory, config: workspace.config }, {
      path: resolve(io.cwd, parsed.output ?? `translated-${to}.yaml`), displayPath,
      ...(translated ? { workspace: workspace.resources } : {}),
      ...(observed ? { observed } : {}), ...(run.signal ? { signal: run.signal } : {}),
    });
    if (run.signal?.aborted) return interrupted(io);
    const text = parsed.format === 'json' ? `${jsonWithRelativeFiles(translations.map(jsonOf), displayPath)}\n` : translations.map((t) => t.yaml).join('---\n');
    const written = emit(text, parsed.output, io);
    if (written !== 0) return written;
    for (const t of translations) for (const line of translationLines(t, displayPath)) io.stderr(`mesh-policy: ${line}`);
    if (!translated && translations.some((t) => t.notes.some((n) => n.text.includes(MISSING_TARGET)))) {
      io.stderr('mesh-policy: some policies target resources of files not given: name the files or folders that define them with --workspace (read, not translated)');
    }
    // a check that compared nothing (every probe left undecided by a simulator) is no evidence
    if (unreadableTraffic) return 2;
    const differing = translations.some((t) => t.check.probes.differing > 0 || (t.check.observed?.differing ?? 0) > 0 || (t.check.probes.decided === 0 && t.check.probes.undecided > 0));
    return differing || translations.every((t) => t.written.resources === 0) ? 1 : 0;
  } catch (error) {
    return isAbort(error, run.signal) ? interrupted(io) : commandFailure(error, io, TRANSLATE_USAGE);
  }
}

function jsonOf(t: Translation): unknown {
  return { from: t.from, to: t.to, read: t.read, referenced: t.referenced, resources: t.written.resources, notes: t.notes, check: t.check, model: t.model, yaml: t.yaml };
}
