#!/usr/bin/env node
'use strict';
// Starts the language server. Pass --stdio (or --node-ipc / --socket=N) as LSP clients do.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const bundle = join(__dirname, '..', 'dist', 'server.js');
if (!existsSync(bundle)) {
  process.stderr.write('mesh-policy-server: not built yet; run "npm run build" (npm install does it too)\n');
  process.exit(2);
}
require(bundle);
