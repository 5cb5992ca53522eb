import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultConfig, parseConfig } from '../../server/src/engine/config/projectConfig';
import type { Engine } from '../../server/src/engine/engine';
import type { Mesh } from '../../server/src/engine/meshes';
import type { AccessRecord } from '../../server/src/engine/traffic/accessRecord';
import { WorkspaceModel } from '../../server/src/engine/workspace';
import { rng } from './exampleTraffic';
import { mergeCall } from './mergeCall';
import { upstreamTables } from './upstreamTables';


export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** One workspace and calls to decide in it. */
export interface Case {
  name: string;
  workspace: WorkspaceModel;
  calls: AccessRecord[];
}

/** The upstream decision tables of `mesh` (test/fixtures/upstream), each as a workspace (its files written under `temp`) with its calls. */
export function upstreamCases(engine: Engine, mesh: Mesh, temp: string): Case[] {
  return upstreamTables(mesh).map(({ file, table }) => {
    const root = join(temp, mesh, file.replace('#', '-'));
    const config = table.config ? parseConfig(table.config, defaultConfig(root)) : defaultConfig(root);
    const workspace = new WorkspaceModel(config);
    for (const [name, text] of Object.entries(table.files)) {
      const path = join(root, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      workspace.update(engine.prepare(engine.read(path, text)));
    }
    return { name: `upstream ${file}`, workspace, calls: table.cases.map((c) => mergeCall(table.base ?? {}, c.call ?? {}) as AccessRecord) };
  });
}

type Change = (r: AccessRecord, pick: <T>(list: T[]) => T, random: () => number) => void;

/** Changes to one attribute of a call: to a value another call has, to a value near a policy boundary, or removed. */
function changesFor(calls: AccessRecord[]): Change[] {
  const principals = [...new Set(calls.map((c) => c.source?.principal).filter((p): p is string => typeof p === 'string'))];
  const ips = [...new Set(calls.map((c) => c.source?.ip).filter((p): p is string => typeof p === 'string')), '127.0.0.1', '10.96.0.7', '192.168.3.4', '2001:db8::1'];
  const paths = [...new Set(calls.map((c) => c.request?.path).filter((p): p is string => typeof p === 'string')), '/', '/healthz', '/admin/x'];
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
  const ports = [...new Set(calls.map((c) => c.destination?.port).filter((p): p is number => typeof p === 'number')), 4191, 9999];
  return [
    (r, pick) => { if (r.source && principals.length) r.source.principal = pick(principals); },
    (r) => { if (r.source) delete r.source.principal; },
    (r) => { if (r.source) r.source.principal = null; },
    (r, pick) => { if (r.source) r.source.ip = pick(ips); },
    (r) => { if (r.source) delete r.source.ip; },
    (r, pick) => { if (r.request) r.request.path = pick(paths); },
    (r, _, random) => { if (r.request?.path) r.request.path = `${r.request.path}/${Math.floor(random() * 1000)}`; },
    (r, _, random) => { if (r.request?.path) r.request.path = `${r.request.path}?page=${Math.floor(random() * 3)}`; },
    (r) => { if (r.request?.path) r.request.path = `/a/..${r.request.path}`; },
    (r) => { if (r.request) delete r.request.path; },
    (r, pick) => { if (r.request) r.request.method = pick(methods); },
    (r) => { if (r.request) delete r.request.method; },
    (r, _, random) => { if (r.request) r.request.headers = { 'x-tenant': `t-${Math.floor(random() * 3)}` }; },
    (r) => { delete r.request; },
    (r, pick) => { if (r.destination) r.destination.port = pick(ports); },
    (r) => { if (r.destination) delete r.destination.port; },
    (r) => { delete r.protocol; },
    (r, pick) => { r.protocol = pick(['tcp', 'http', 'grpc']); },
  ];
}

/**
 * What a fold could wrongly treat as alike: header names and values in other cases, the host in
 * other cases, identities with and without `spiffe://` or unknown, lower-case methods, header
 * names with whitespace, rejected paths, tokens, remote and destination addresses, SNI, labels
 * (copied, changed, removed) and addresses of other families.
 */
function foldChanges(calls: AccessRecord[]): Change[] {
  const hosts = [...new Set(calls.map((c) => c.request?.host).filter((h): h is string => typeof h === 'string')), 'EXAMPLE.com', 'api.example.com:443'];
  const headerNames = [...new Set(calls.flatMap((c) => Object.keys(c.request?.headers ?? {}))), 'x-env', 'X-Tenant', 'x-user'];
  const headerValues = [...new Set(calls.flatMap((c) => Object.values(c.request?.headers ?? {}))), 'prod', 'PROD', 't-0', ''];
  const ips = [...new Set(calls.flatMap((c) => [c.source?.ip, c.source?.remoteIp, c.destination?.ip]).filter((p): p is string => typeof p === 'string')), '10.0.0.1', '10.1.2.3', 'not-an-ip', '::ffff:10.0.0.1'];
  const tokens = [...new Set(calls.map((c) => c.request?.jwt).filter((j) => j !== undefined).map((j) => JSON.stringify(j)))];
  const labelSets = [...new Set(calls.map((c) => c.destination?.labels).filter((l) => l !== undefined).map((l) => JSON.stringify(l)))];
  return [
    (r, pick) => { if (r.request) r.request.host = pick(hosts); },
    (r) => { if (r.request?.host) r.request.host = r.request.host.toUpperCase(); },
    (r) => { if (r.request) delete r.request.host; },
    (r, pick) => { if (r.request) r.request.headers = { ...r.request.headers, [pick(headerNames)]: pick(headerValues) }; },
    (r) => { if (r.request?.headers) r.request.headers = Object.fromEntries(Object.entries(r.request.headers).map(([k, v]) => [k.toUpperCase(), v])); },
    (r) => { if (r.request) r.request.headers = { ...r.request.headers, 'bad name': 'x' }; },
    (r) => { if (r.request) delete r.request.headers; },
    (r) => { if (r.source?.principal && !r.source.principal.startsWith('spiffe://')) r.source.principal = `spiffe://${r.source.principal}`; },
    (r) => { if (r.source) { delete r.source.principal; r.source.principalUnknown = true; } },
    (r) => { if (r.request?.method) r.request.method = r.request.method.toLowerCase(); },
    (r) => { if (r.request?.path) r.request.path = `${r.request.path}%00`; },
    (r) => { if (r.request?.path) r.request.path = r.request.path.replace(/\//g, '//'); },
    (r, pick) => { if (r.source) r.source.remoteIp = pick(ips); },
    (r, pick) => { if (r.destination) r.destination.ip = pick(ips); },
    (r) => { if (r.destination) delete r.destination.ip; },
    (r, pick) => { r.sni = pick(['outbound_.8080_._.orders.shop.svc.cluster.local', 'example.com', '']); },
    (r, pick) => { if (r.request && tokens.length) r.request.jwt = JSON.parse(pick(tokens)) as NonNullable<AccessRecord['request']>['jwt']; },
    (r) => { if (r.request) delete r.request.jwt; },
    (r) => { if (r.request?.jwt) r.request.jwt = { ...r.request.jwt, valid: false }; },
    (r, pick) => { if (r.destination && labelSets.length) r.destination.labels = JSON.parse(pick(labelSets)) as Record<string, string>; },
    (r) => { if (r.destination) delete r.destination.labels; },
    (r) => { if (r.destination?.labels) r.destination.labels = { ...r.destination.labels, extra: 'x' }; },
  ];
}

/** Seeded variants: each changes one or two attributes of a call (`fold`: also the attributes a fold could wrongly treat as alike). */
export function variants(calls: AccessRecord[], count: number, seed: number, fold = false): AccessRecord[] {
  const random = rng(seed);
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
  const changes = fold ? [...changesFor(calls), ...foldChanges(calls)] : changesFor(calls);
  const out: AccessRecord[] = [];
  for (let i = 0; i < count && calls.length; i++) {
    const r = clone(pick(calls));
    pick(changes)(r, pick, random);
    if (random() < 0.5) pick(changes)(r, pick, random);
    out.push(r);
  }
  return out;
}
