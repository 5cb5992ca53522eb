// Preloaded (`node --require`) into a process a benchmark times: at exit, writes the process's
// own CPU time and peak RSS to the file named by MESH_POLICY_USAGE_FILE.
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  const file = process.env.MESH_POLICY_USAGE_FILE;
  if (!file) return;
  const cpu = process.cpuUsage();
  writeFileSync(file, JSON.stringify({ cpuMs: Math.round((cpu.user + cpu.system) / 1000), maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
});
