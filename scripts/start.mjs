// npm start: the main job on the demo workspace: lint every policy in examples/, then simulate
// each example app's policies against its access logs, and run the shop's policy tests. Findings and changed calls are the point
// of the demo, so exit code 1 (errors found / calls newly denied / a test fails) counts as success here; 2 (a
// usage or read error) does not.
import { spawnSync } from 'node:child_process';

function run(title, args) {
  console.log(`\n== ${title}\n$ mesh-policy ${args.join(' ')}`);
  const result = spawnSync(process.execPath, ['bin/mesh-policy.js', ...args], { stdio: 'inherit' });
  return result.status ?? 2;
}

const codes = [run('Lint', ['lint', 'examples'])];
for (const mesh of ['istio', 'linkerd', 'consul', 'istio-ambient', 'istio-dry-run']) {
  codes.push(run(`Simulate ${mesh}`, ['simulate', '--policies', `examples/${mesh}`, '--traffic', `examples/${mesh}/traffic`]));
}
codes.push(run('Policy tests of istio', ['test', 'examples/istio/tests', '--policies', 'examples/istio']));
process.exit(codes.some((code) => code > 1) ? 2 : 0);
