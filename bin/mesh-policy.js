#!/usr/bin/env node
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const bundle = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(bundle)) {
  process.stderr.write('mesh-policy: not built yet; run "npm run build" (npm install does it too)\n');
  process.exit(2);
}
require(bundle);
