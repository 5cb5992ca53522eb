// The network recorder the e2e runs preload into code-server's Node processes must see what it is
// meant to see, or the "no network" check of traffic.e2e.test.ts could never fail. A probe process
// with the recorder preloaded makes one attempt of every kind; each must be logged, and each one
// outside 127.0.0.1/::1 refused. Needs no code-server: runs in every `npm test`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { isLocal, readNetLog } from './netRecorder';
import { recorderEnv } from './codeServer';

const PROBE = `
const net = require('node:net'), http = require('node:http'), https = require('node:https'), tls = require('node:tls');
const dns = require('node:dns'), dgram = require('node:dgram');
const { Worker } = require('node:worker_threads');
const settle = (p) => Promise.race([p.then(() => 'ok', (e) => e.code || e.message), new Promise((r) => setTimeout(() => r('timeout'), 3000))]);
const socketResult = (s) => new Promise((resolve, reject) => { s.once('connect', resolve); s.once('secureConnect', resolve); s.once('error', reject); });
(async () => {
  const server = http.createServer((_q, r) => r.end('ok'));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  const results = {
    fetchLocal: await settle(fetch('http://127.0.0.1:' + port + '/').then((r) => r.text())),
    net127_0_0_2: await settle(socketResult(net.connect(port, '127.0.0.2'))),
    netLocalhostName: await settle(socketResult(net.connect({ host: 'localhost', port }))),
    tls: await settle(socketResult(tls.connect({ host: '192.0.2.10', port: 443 }))),
    https: await settle(new Promise((res, rej) => https.get('https://example.invalid/', res).on('error', rej))),
    fetchRemote: await settle(fetch('http://example.invalid/')),
    lookup: await settle(new Promise((res, rej) => dns.lookup('example.invalid', (e) => (e ? rej(e) : res())))),
    resolve4: await settle(dns.promises.resolve4('example.invalid')),
    resolver: await settle(new dns.promises.Resolver().resolveTxt('example.invalid')),
    udp: await settle(new Promise((res, rej) => { const s = dgram.createSocket('udp4'); s.send('x', 53, '192.0.2.53', (e) => { s.close(); e ? rej(e) : res(); }); })),
    worker: await settle(new Promise((res, rej) => {
      const w = new Worker("const net = require('node:net'); const s = net.connect(9, '192.0.2.9'); s.on('error', (e) => require('node:worker_threads').parentPort.postMessage(e.code));", { eval: true });
      w.once('message', (code) => (code === 'ECONNREFUSED' ? rej(Object.assign(new Error(code), { code })) : res()));
      w.once('error', rej);
    })),
  };
  server.close();
  process.stdout.write(JSON.stringify(results));
})();
`;

test('the e2e network recorder logs and refuses every kind of outbound attempt, in threads too', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-policy-net-'));
  try {
    const log = path.join(dir, 'net.jsonl');
    const r = spawnSync(process.execPath, ['-e', PROBE], { env: { ...process.env, ...recorderEnv(log) }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(r.stdout) as Record<string, string>;
    // Loopback works as before; everything else fails the way an unreachable network does.
    assert.equal(results['fetchLocal'], 'ok');
    for (const key of ['net127_0_0_2', 'netLocalhostName', 'tls', 'https', 'worker']) assert.equal(results[key], 'ECONNREFUSED', `${key}: ${results[key]}`);
    for (const key of ['lookup', 'resolve4', 'resolver']) assert.equal(results[key], 'ENOTFOUND', `${key}: ${results[key]}`);
    assert.match(results['fetchRemote']!, /fetch failed|ENOTFOUND|ECONNREFUSED/);
    assert.equal(results['udp'], 'ECONNREFUSED');

    const events = readNetLog(log);
    const outside = events.filter((e) => !isLocal(e));
    const seen = (kind: string, host: string) => outside.some((e) => e.kind === kind && e.host === host && e.blocked);
    assert.ok(events.some((e) => e.kind === 'loaded' && e.thread === 0), 'loaded in the main thread');
    assert.ok(events.some((e) => e.kind === 'loaded' && e.thread !== 0), 'loaded in the worker thread');
    assert.ok(events.some((e) => e.kind === 'connect' && e.host === '127.0.0.1' && !e.blocked), 'the local fetch is logged as local');
    assert.ok(seen('connect', '127.0.0.2'), '127.0.0.2 is outside');
    assert.ok(seen('connect', 'localhost'), 'a name is outside until resolved');
    assert.ok(seen('connect', '192.0.2.10'), 'tls.connect');
    assert.ok(outside.some((e) => e.host === 'example.invalid' && e.via === 'dns.lookup'), 'https.get and fetch resolve through dns.lookup');
    assert.ok(seen('lookup', 'example.invalid'));
    assert.ok(outside.some((e) => e.via === 'dns.promises.resolve4'));
    assert.ok(outside.some((e) => e.via === 'dns.promises.Resolver.resolveTxt'));
    assert.ok(seen('udp', '192.0.2.53'));
    assert.ok(outside.some((e) => e.host === '192.0.2.9' && e.thread !== 0), 'the worker thread connect');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
