import { fileURLToPath } from 'node:url';
import { ErrorCodes, ResponseError, type CancellationToken, type Connection, type WorkspaceEdit } from 'vscode-languageserver';
import type { EdgeAction, EdgeRef, TrafficFixKind } from '../engine/trafficFixes';
import type { TrafficInsight } from '../engine/insight/trafficInsight';
import type { TrafficStatus } from './traffic';
import type { Mesh } from '../engine/meshes';
import type { ExpectFrom } from '../engine/policyTests/fromTraffic';
import { parseWrittenCall, writtenCallFromValue, type WrittenCall } from '../engine/traffic/writtenCall';
import { answer } from './cancellation';

const MESHES: readonly string[] = ['istio', 'linkerd', 'consul'];

/** Custom requests behind the client's traffic commands; the client only shows what comes back. */
export const TrafficRequests = {
  /** `{file, offset}` or `{uri, position}` → markdown listing the calls the policy or rule there decides. */
  callsFor: 'meshPolicy/callsFor',
  /** → `{key, label, detail}[]`, busiest first, for the "Explain call..." picker. */
  calls: 'meshPolicy/calls',
  /** `{key}` (an observed call) or `{call}` (a call written by hand: the short form or an access
   * record, as text or as a JSON object; `engine/traffic/writtenCall.ts`) → markdown walkthrough
   * of that call. A `call` that is not one is answered with an InvalidParams error saying why. */
  explain: 'meshPolicy/explain',
  /** `{text}` → null when `text` is a call `explain` takes, else what is wrong with it (the input box's validation). */
  checkCall: 'meshPolicy/checkCall',
  /** → TrafficStatus once the logs are read again. */
  reload: 'meshPolicy/reloadTraffic',
  /** → TrafficStatus. */
  status: 'meshPolicy/trafficStatus',
  /** `{mesh, namespace?, workload?}` → `{yaml, resources}`: least-privilege policies from the observed allowed calls (of one workload when given). */
  generate: 'meshPolicy/generate',
  /** `{expect?: 'observed' | 'policies'}` → `{yaml, tests, failing}`: policy tests from the observed calls (docs/policy-tests.md); null without traffic. */
  generateTests: 'meshPolicy/generateTests',
  /** `{to, uri?}` → `{yaml, resources, notes, differing}`: the policies of that file (else of the
   * workspace) translated into mesh `to`, checked on probe calls and the observed ones; null when
   * there is nothing to translate. */
  translate: 'meshPolicy/translate',
  /** `{view: 'report' | 'map', nonce?}` → one self-contained HTML page (docs/audit.md), or null without traffic. */
  auditHtml: 'meshPolicy/auditHtml',
  /** → `{csv, rows}`: every distinct access of the current simulation as CSV (`report --format csv`), or null without traffic. */
  accessCsv: 'meshPolicy/accessCsv',
  /** `{source, destination, action: 'allow' | 'deny'}` (an edge of the map, named as the map names it) →
   * `EdgeFixList`: the verified fixes that allow the edge's denied calls or deny its allowed ones
   * (docs/quick-fixes.md, "From the traffic map"); null without traffic. */
  edgeFixes: 'meshPolicy/edgeFixes',
} as const;

/** The fixes of an edge as the client applies them: each fix's edits as a WorkspaceEdit. */
export interface EdgeFixList {
  /** The edge's calls the action is about (denied ones for allow, allowed ones for deny). */
  calls: number;
  /** `versions`: the version of each edited file open in the editor when the edits were built (a client refuses them on another). */
  fixes: { title: string; kind: TrafficFixKind; edit: WorkspaceEdit; versions?: Record<string, number> }[];
  /** Why some call got no fix. */
  notOffered: string[];
}

/** What the client shows of a translation: the YAML (its header comment says the rest) and counts. */
export interface TranslatedPolicies {
  yaml: string;
  /** Resources written. */
  resources: number;
  /** Places not carried exactly. */
  notes: number;
  /** Calls (probes and observed) the two meshes' simulators decide differently. */
  differing: number;
}

interface Hooks {
  insight(): TrafficInsight | undefined;
  /** The walkthrough of a call written by hand, decided with the workspace's policies and inventory (traffic loaded or not); in an untrusted workspace, why not. */
  explainWritten(call: WrittenCall): string;
  status(): TrafficStatus;
  /** Reads the logs again; aborting `signal` cancels that read. */
  reload(signal: AbortSignal): Promise<TrafficStatus>;
  /**
   * Generated policies for a mesh, from the observed calls to one workload or to all: the
   * generated YAML, its resources, and the self-check's counts (observed allowed calls it would
   * deny, observed denied calls it would allow). Stops once `signal` is aborted.
   */
  generate(mesh: Mesh, destination: { namespace?: string; workload?: string }, signal: AbortSignal): Promise<{ yaml: string; resources: number; wouldDeny: number; wouldAllow: number } | null>;
  /** Policy tests from the observed calls, expecting what the logs observed or what the policies decide now. */
  generateTests(expect: ExpectFrom): { yaml: string; tests: number; failing: number } | null;
  /** The policies of the file at `uri` (else every policy of the workspace) translated into `to`; stops once `signal` is aborted. */
  translate(to: Mesh, uri: string | undefined, signal: AbortSignal): Promise<TranslatedPolicies | null>;
  /** The access inventory of the current simulation as CSV (docs/audit.md); null without traffic. */
  accessCsv(): { csv: string; rows: number } | null;
  /** The audit report or the traffic map of the current simulation, as HTML; stops once `signal` is aborted. */
  auditHtml(view: 'report' | 'map', nonce: string | undefined, signal: AbortSignal): Promise<string | null>;
  /** The fixes for the traffic map's edge action, from the current simulation; null without traffic. */
  edgeFixes(edge: EdgeRef, action: EdgeAction): EdgeFixList | null;
  /** Brings an open document's latest text into the workspace before positions in it are used. */
  prepare(uri: string): void;
  /** Every response passes through this (secrets from the logs masked) before it leaves. */
  redact<T>(response: T): T;
  /** A listing's or walkthrough's places in the workspace, relative to it (places.ts `relativePlaces`). */
  relativePlaces(markdown: string): string;
}

/** What a traffic view says when no simulation is there to answer it: why, by the traffic's status, and what to do. */
export function noTrafficMarkdown(status: TrafficStatus): string {
  switch (status.state) {
    case 'loading': return 'No observed traffic is loaded yet: the access logs are being read (the status bar shows the progress). Try again when it shows the calls.';
    case 'off': return `No observed traffic is loaded: Mesh Policy Auditor only lints here (${status.message || 'traffic is not read in this workspace'}).`;
    case 'failed': return `No observed traffic is loaded: the access logs could not be read (${status.message ?? 'see the output channel'}). Run **Mesh Policy: Show Output** for the details, then **Mesh Policy: Reload Traffic**.`;
    case 'empty': return `No observed traffic is loaded. ${status.advice || 'No access logs were found in the workspace.'}`;
    default: return status.calls
      ? 'No observed traffic is loaded: the simulation of the calls read failed. Run **Mesh Policy: Show Output** for the details.'
      : `No observed traffic is loaded: the access logs read (${status.files} files, ${status.lines} lines) gave no call; run **Mesh Policy: Show Output** to see which lines were skipped and why.`;
  }
}
const NOT_A_POLICY_FILE = 'This file holds no policy the simulation read. Open a policy file, put the cursor in a policy or rule, and run **Mesh Policy: Show Traffic for Policy** again (or click the counts above a policy).';

export function registerTrafficRequests(connection: Connection, hooks: Hooks): void {
  /** `redactWhole` false: the handler redacts what it must itself (edits to apply must reach the file as built). */
  const on = <P>(method: string, handler: (params: P, token: CancellationToken, signal: AbortSignal) => unknown, redactWhole = true): void => {
    // (a request sent without parameters reads as one with none set)
    connection.onRequest(method, (params: P | null, token: CancellationToken) => answer(token, async (signal) => {
      const response = await handler(params ?? ({} as P), token, signal);
      return redactWhole ? hooks.redact(response) : response;
    }));
  };
  on(TrafficRequests.generate, (params: { mesh?: string; namespace?: string; workload?: string }, _token, signal) => {
    if (!params.mesh || !MESHES.includes(params.mesh)) return null;
    return hooks.generate(params.mesh as Mesh, { ...(params.namespace ? { namespace: params.namespace } : {}), ...(params.workload ? { workload: params.workload } : {}) }, signal);
  });
  // (the CSV redacts what it writes itself: its cells must reach the file as built)
  on(TrafficRequests.accessCsv, () => hooks.accessCsv(), false);
  on(TrafficRequests.generateTests, (params: { expect?: string }) => hooks.generateTests(params.expect === 'policies' ? 'policies' : 'observed'));
  on(TrafficRequests.translate, (params: { to?: string; uri?: string }, _token, signal) => {
    if (!params.to || !MESHES.includes(params.to)) return null;
    if (params.uri) hooks.prepare(params.uri);
    return hooks.translate(params.to as Mesh, params.uri, signal);
  });
  on(TrafficRequests.callsFor, (params: { file?: string; offset?: number; uri?: string; position?: { line: number; character: number } }, token) => {
    if (params.uri) hooks.prepare(params.uri);
    const insight = hooks.insight();
    if (!insight) return noTrafficMarkdown(hooks.status());
    const file = params.file ?? (params.uri?.startsWith('file:') ? fileURLToPath(params.uri) : params.uri);
    let offset = params.offset;
    if (file && offset === undefined && params.position) offset = insight.offsetOf(file, params.position);
    // Not a policy file the simulation read (a log, a manifest): say so rather than show nothing.
    if (!file || offset === undefined) return NOT_A_POLICY_FILE;
    const listing = insight.callsMarkdown(file, offset, 200, () => token.isCancellationRequested);
    return listing === undefined ? 'No policy or rule at the cursor.' : hooks.relativePlaces(listing);
  });
  on(TrafficRequests.calls, () => hooks.insight()?.calls() ?? []);
  on(TrafficRequests.checkCall, (params: { text?: unknown }) => {
    if (typeof params.text !== 'string') return 'No call was given.';
    const written = parseWrittenCall(params.text);
    return 'problem' in written ? `The call ${written.problem}` : null;
  });
  on(TrafficRequests.explain, (params: { key?: unknown; call?: unknown }) => {
    if (params.call !== undefined) {
      const written = typeof params.call === 'string' ? parseWrittenCall(params.call) : writtenCallFromValue(params.call);
      if ('problem' in written) throw new ResponseError(ErrorCodes.InvalidParams, `The call ${written.problem}`);
      return hooks.relativePlaces(hooks.explainWritten(written.call));
    }
    const insight = hooks.insight();
    if (!insight) return noTrafficMarkdown(hooks.status());
    if (typeof params.key !== 'string') return 'No call was given: run **Mesh Policy: Explain Call...** to pick one.';
    const key = params.key;
    const walkthrough = insight.explain(key);
    if (walkthrough !== undefined) return hooks.relativePlaces(walkthrough);
    // A key from a list or hover made before the traffic was read again.
    return `\`${key.length > 40 ? `${key.slice(0, 40)}…` : key}\` is not a call of the traffic loaded now (the logs were read again since it was listed). Run **Mesh Policy: Explain Call...** to pick the call again.`;
  });
  on(TrafficRequests.reload, (_params, _token, signal) => hooks.reload(signal));
  on(TrafficRequests.status, () => hooks.status());
  on(TrafficRequests.auditHtml, (params: { view?: string; nonce?: string }, _token, signal) => hooks.auditHtml(params.view === 'map' ? 'map' : 'report', typeof params.nonce === 'string' ? params.nonce : undefined, signal));
  on(TrafficRequests.edgeFixes, (params: { source?: unknown; destination?: unknown; action?: unknown }) => {
    if (typeof params.source !== 'string' || typeof params.destination !== 'string' || (params.action !== 'allow' && params.action !== 'deny')) return null;
    return hooks.edgeFixes({ source: params.source, destination: params.destination }, params.action);
  }, false);
}
