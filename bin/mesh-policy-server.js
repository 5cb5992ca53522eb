#!/usr/bin/env node
'use strict';
// Starts the language server. Pass --stdio (or --node-ipc / --socket=N) as LSP clients do.
// The server runs with the V8 flags in server/node-flags.json (as the VS Code client starts it):
// when this process lacks them, the server runs in a child Node process that has them and shares
// this one's standard streams. Over --node-ipc the channel belongs to this process, so the
// server runs here, with the flags it was given; so it does under a debugger (--inspect...), which
// is attached to this process (a child would ask for the same inspector port).
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const { constants } = require('node:os');
const { join } = require('node:path');
const bundle = join(__dirname, '..', 'dist', 'server.js');
if (!existsSync(bundle)) {
  process.stderr.write('mesh-policy-server: not built yet; run "npm run build" (npm install does it too)\n');
  process.exit(2);
}
const args = process.argv.slice(2);
const USAGE = 'Usage: mesh-policy-server --stdio    (or --node-ipc, --socket=<port>, --pipe=<name>)\n\n'
  + 'The Mesh Policy Auditor language server: an editor starts it and speaks LSP with it over the\n'
  + 'transport given (README.md, "From another editor").\n';
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
// Without a transport the LSP library throws; say what is missing instead.
if (!args.some((arg) => ['--stdio', '--node-ipc', '--socket', '--pipe'].includes(arg.split('=')[0]))) {
  process.stderr.write(`mesh-policy-server: no transport given: start it with --stdio (or --node-ipc, --socket=<port>, --pipe=<name>)\n\n${USAGE}`);
  process.exit(2);
}
const flags = require('../server/node-flags.json');
const inspected = process.execArgv.some((flag) => /^--inspect(-brk|-wait)?(=|$)/.test(flag));
if (args.includes('--node-ipc') || inspected || flags.every((flag) => process.execArgv.includes(flag))) {
  require(bundle);
} else {
  const server = spawn(process.execPath, [...process.execArgv, ...flags, bundle, ...args], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => server.kill(signal));
  server.on('error', (error) => {
    process.stderr.write(`mesh-policy-server: could not start the server: ${error.message}\n`);
    process.exit(2);
  });
  server.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}
