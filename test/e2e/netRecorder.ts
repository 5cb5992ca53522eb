// Preloaded (`NODE_OPTIONS=--require <this file>`) into every Node process of an e2e run:
// code-server, the extension host and our language server (and its ingest workers). It appends
// one JSON line per outbound connection attempt or name lookup to $MESH_POLICY_NET_LOG, and
// refuses every destination that is not loopback, so a leak fails the test instead of reaching
// the network. Test-only: never shipped (the vsix holds dist/ only).
//
// What it sees: every TCP/TLS/IPC connect (net.Socket#connect, which net, tls, http, https, http2
// and fetch/undici all end in), every DNS call (dns and dns/promises: lookup, resolve*, reverse,
// and Resolver instances), and UDP sends and connects (dgram).
// `import x = require()`: the module objects themselves, not esModuleInterop's read-only copies, are patched.
import dgram = require('node:dgram');
import dns = require('node:dns');
import fs = require('node:fs');
import net = require('node:net');
import { isMainThread, threadId } from 'node:worker_threads';

export interface NetEvent {
  kind: 'loaded' | 'connect' | 'lookup' | 'udp';
  pid: number;
  thread: number;
  /** The process's script and first arguments, to tell code-server, the extension host and the language server apart. */
  argv: string;
  host?: string;
  port?: number;
  /** A unix socket or Windows pipe. */
  path?: string;
  /** The DNS function called. */
  via?: string;
  blocked?: boolean;
}

const logFile = process.env['MESH_POLICY_NET_LOG'];
const argv = process.argv.slice(1, 4).join(' ');

function record(event: Omit<NetEvent, 'pid' | 'thread' | 'argv'>): void {
  if (!logFile) return;
  const line: NetEvent = { ...event, pid: process.pid, thread: isMainThread ? 0 : threadId, argv };
  try {
    fs.appendFileSync(logFile, `${JSON.stringify(line)}\n`);
  } catch {
    /* the run folder is gone: the test is over */
  }
}

/** 127.0.0.1 and ::1 only: names (even `localhost`) and the rest of 127/8 count as outside. */
export function isLoopback(host: string | undefined): boolean {
  if (host === undefined) return false;
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === '127.0.0.1' || h === '::ffff:127.0.0.1' || h === '::1' || h === '0:0:0:0:0:0:0:1';
}

/** The destination an event names is this machine: 127.0.0.1, ::1 or a unix socket. */
export function isLocal(event: Pick<NetEvent, 'kind' | 'host' | 'path'>): boolean {
  if (event.kind === 'loaded') return true;
  if (event.path !== undefined) return event.kind === 'connect';
  return isLoopback(event.host);
}

function refused(what: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${what}: refused by the e2e network recorder (not loopback)`);
  error.code = 'ECONNREFUSED';
  return error;
}

if (logFile && !(globalThis as { __meshPolicyNetRecorder?: boolean }).__meshPolicyNetRecorder) {
  (globalThis as { __meshPolicyNetRecorder?: boolean }).__meshPolicyNetRecorder = true;
  record({ kind: 'loaded' });

  // --- TCP, TLS, IPC ---------------------------------------------------------------------------
  const originalConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function connect(this: net.Socket, ...args: unknown[]): net.Socket {
    // net.connect passes its normalized [options, callback] array; sockets called directly pass (options | port, host | path).
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    let target: { host?: string; port?: number; path?: string };
    if (first && typeof first === 'object') {
      const o = first as { host?: unknown; port?: unknown; path?: unknown };
      target = typeof o.path === 'string' && o.path ? { path: o.path } : { host: typeof o.host === 'string' ? o.host : 'localhost', port: Number(o.port) };
    } else if (typeof first === 'string' && !/^\d+$/.test(first)) {
      target = { path: first };
    } else {
      target = { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: Number(first) };
    }
    const local = target.path !== undefined || isLoopback(target.host);
    record({ kind: 'connect', ...target, ...(local ? {} : { blocked: true }) });
    if (local) return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
    process.nextTick(() => this.destroy(refused(`connect ${target.host}:${target.port}`)));
    return this;
  } as typeof net.Socket.prototype.connect;

  // --- DNS ---------------------------------------------------------------------------------------
  const dnsNames = (object: object): string[] =>
    Object.keys(object).filter((k) => /^(lookup|lookupService|resolve\w*|reverse)$/.test(k) && typeof (object as Record<string, unknown>)[k] === 'function');
  const patchCallbackStyle = (object: Record<string, unknown>, label: string): void => {
    for (const name of dnsNames(object)) {
      const original = object[name] as (...a: unknown[]) => unknown;
      object[name] = function patched(this: unknown, ...args: unknown[]): unknown {
        const host = String(args[0]);
        if (isLoopback(host)) {
          record({ kind: 'lookup', host, via: `${label}.${name}` });
          return original.apply(this, args);
        }
        record({ kind: 'lookup', host, via: `${label}.${name}`, blocked: true });
        const callback = args[args.length - 1];
        const error = refused(`${label}.${name} ${host}`);
        error.code = 'ENOTFOUND';
        if (typeof callback === 'function') process.nextTick(() => (callback as (e: Error) => void)(error));
        return undefined;
      };
    }
  };
  const patchPromiseStyle = (object: Record<string, unknown>, label: string): void => {
    for (const name of dnsNames(object)) {
      const original = object[name] as (...a: unknown[]) => Promise<unknown>;
      object[name] = function patched(this: unknown, ...args: unknown[]): Promise<unknown> {
        const host = String(args[0]);
        const local = isLoopback(host);
        record({ kind: 'lookup', host, via: `${label}.${name}`, ...(local ? {} : { blocked: true }) });
        if (local) return original.apply(this, args);
        const error = refused(`${label}.${name} ${host}`);
        error.code = 'ENOTFOUND';
        return Promise.reject(error);
      };
    }
  };
  patchCallbackStyle(dns as unknown as Record<string, unknown>, 'dns');
  patchCallbackStyle(dns.Resolver.prototype as unknown as Record<string, unknown>, 'dns.Resolver');
  patchPromiseStyle(dns.promises as unknown as Record<string, unknown>, 'dns.promises');
  patchPromiseStyle(dns.promises.Resolver.prototype as unknown as Record<string, unknown>, 'dns.promises.Resolver');

  // --- UDP -----------------------------------------------------------------------------------------
  const udp = dgram.Socket.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const originalSend = udp['send']!;
  const originalUdpConnect = udp['connect']!;
  udp['send'] = function send(this: dgram.Socket, ...args: unknown[]): unknown {
    // send(msg, [offset, length,] port, address, cb): the address is the first string after the message.
    const address = args.slice(1).find((a) => typeof a === 'string') as string | undefined;
    const port = args.slice(1).find((a) => typeof a === 'number' && a > 0) as number | undefined;
    if (address === undefined) return originalSend.apply(this, args); // a connected socket: its connect was recorded
    const local = isLoopback(address);
    record({ kind: 'udp', host: address, ...(port !== undefined ? { port } : {}), ...(local ? {} : { blocked: true }) });
    if (local) return originalSend.apply(this, args);
    const callback = args[args.length - 1];
    if (typeof callback === 'function') process.nextTick(() => (callback as (e: Error) => void)(refused(`udp ${address}`)));
    return undefined;
  };
  udp['connect'] = function connect(this: dgram.Socket, ...args: unknown[]): unknown {
    const host = typeof args[1] === 'string' ? args[1] : 'localhost';
    const local = isLoopback(host);
    record({ kind: 'udp', host, port: Number(args[0]), ...(local ? {} : { blocked: true }) });
    if (local) return originalUdpConnect.apply(this, args);
    const callback = args[args.length - 1];
    if (typeof callback === 'function') process.nextTick(() => (callback as (e: Error) => void)(refused(`udp connect ${host}`)));
    return undefined;
  };
}

/** The events of a recorder log, in order. */
export function readNetLog(file: string): NetEvent[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as NetEvent);
}
