// npm start: the main job on the demo workspace. Findings are the point of the demo, so exit
// code 1 (errors found) is a success here; 2 (a usage or read error) is not.
import { spawnSync } from 'node:child_process';

const result = spawnSync(process.execPath, ['bin/mesh-policy.js', 'lint', 'examples', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status === 1 ? 0 : result.status ?? 2);
