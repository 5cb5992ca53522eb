// `npm run fuzz -- --cases N --seed S` runs N cases of seed S and prints each failure minimized,
// with the command that replays it (`--case I` runs case I alone).
import { describeFailure, runFuzz, timeByKind, type CaseKind } from './harness';

function main(argv: string[]): Promise<number> | number {
  const options: { seed: number; cases: number; first: number; cliEvery: number; lspEvery: number; minimize: boolean; kind?: CaseKind } = { seed: 1, cases: 2000, first: 0, cliEvery: 50, lspEvery: 20, minimize: true };
  const KINDS: CaseKind[] = ['lint', 'reader', 'ingest', 'decide', 'cli', 'lsp'];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer`);
      return n;
    };
    switch (flag) {
      case '--seed': options.seed = value(); break;
      case '--cases': options.cases = value(); break;
      case '--case': options.first = value(); options.cases = 1; break;
      case '--first': options.first = value(); break;
      case '--cli-every': options.cliEvery = value(); break;
      case '--lsp-every': options.lspEvery = value(); break;
      case '--no-minimize': options.minimize = false; break;
      case '--kind': {
        const kind = argv[++i] as CaseKind;
        if (!KINDS.includes(kind)) throw new Error(`--kind must be one of ${KINDS.join(', ')}`);
        options.kind = kind;
        break;
      }
      default:
        process.stderr.write(`fuzz: unknown option ${flag}\nUsage: npm run fuzz -- [--cases N] [--seed S] [--case I] [--first I] [--kind K] [--cli-every N] [--lsp-every N] [--no-minimize]\n`);
        return 2;
    }
  }
  const started = Date.now();
  const tty = process.stderr.isTTY;
  return runFuzz({
    ...options,
    onProgress: (done, failures) => {
      if (tty && (done % 50 === 0 || done === options.cases)) process.stderr.write(`\r${done}/${options.cases} cases, ${failures} failing`);
    },
  }).then((failures) => {
    if (tty) process.stderr.write('\n');
    for (const failure of failures) process.stdout.write(`${describeFailure(failure)}\n\n`);
    process.stdout.write(`seed ${options.seed}: ${options.cases} cases from ${options.first} in ${((Date.now() - started) / 1000).toFixed(1)} s, ${failures.length} failing\n`);
    process.stderr.write(`time per kind (s): ${Object.entries(timeByKind).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)}`).join(', ')}\n`);
    return failures.length ? 1 : 0;
  });
}

void Promise.resolve(main(process.argv.slice(2))).then((code) => { process.exitCode = code; }, (error: unknown) => {
  process.stderr.write(`fuzz: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 2;
});
