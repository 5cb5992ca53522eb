// Mocha entry point loaded by the VS Code extension host (--extensionTestsPath). Runs every
// *.vscode-test.js next to this file (named so that `node --test "out/test/**/*.test.js"` skips them).
import * as fs from 'node:fs';
import * as path from 'node:path';

export async function run(): Promise<void> {
  // mocha 12 is an ES module: load it with import(), not require()
  const { default: Mocha } = await import('mocha');
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 90_000 });
  for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith('.vscode-test.js')).sort()) {
    mocha.addFile(path.join(__dirname, file));
  }
  // mocha.run() require()s the files, so `import 'vscode'` resolves through the extension host's loader
  await new Promise<void>((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} VS Code test(s) failed`)) : resolve()));
  });
}
