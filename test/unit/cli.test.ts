import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { runCli } from '../../server/src/cli/main';
import { runSimulateCli } from '../../server/src/cli/simulate';
import { formatGithub, githubRoot } from '../../server/src/cli/output';
import { EXAMPLES, REPO_ROOT } from '../helpers/paths';
import { scratchDir } from '../helpers/scratch';
import { OLD_ISTIO_AP_CRD } from '../helpers/crds';

function run(args: string[], cwd = REPO_ROOT): { code: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const code = runCli(args, { stdout: (t) => { stdout += `${t}\n`; }, stderr: (t) => { stderr += `${t}\n`; }, cwd });
  return { code, stdout, stderr };
}

const dir = scratchDir('mesh-policy-cli-');
const bad = join(dir, 'bad.yaml');
writeFileSync(bad, 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\nspec:\n  action: allow\n');
const good = join(dir, 'good.yaml');
writeFileSync(good, 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\nspec:\n  action: DENY\n  rules:\n  - {}\n');

describe('mesh-policy lint', () => {
  it('prints file:line:col severity code message and exits 1 on errors', () => {
    const result = run(['lint', bad], dir);
    assert.equal(result.code, 1);
    assert.equal(result.stdout.trim(), 'bad.yaml:6:11 error MPA0104 action must be one of ALLOW, DENY, AUDIT, CUSTOM (got "allow")');
    assert.match(result.stderr, /1 error, 0 warnings in 1 policy from 1 file/);
  });

  // YAML 1.2.2 §5.2 (Character Encodings): a processor reads UTF-8, UTF-16 and UTF-32, told apart
  // by the byte-order mark, else by the NULs around the first (ASCII) character; PowerShell's `>`
  // writes UTF-16LE with a mark.
  const utf32 = (t: string, littleEndian: boolean) => {
    const points = [...t].map((c) => c.codePointAt(0) ?? 0);
    const out = Buffer.alloc(points.length * 4);
    points.forEach((p, i) => (littleEndian ? out.writeUInt32LE(p, i * 4) : out.writeUInt32BE(p, i * 4)));
    return out;
  };
  for (const [name, encode] of [
    ['UTF-16LE', (t: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t, 'utf16le')])],
    ['UTF-16BE', (t: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(t, 'utf16le').swap16()])],
    ['UTF-16LE-no-mark', (t: string) => Buffer.from(t, 'utf16le')],
    ['UTF-16BE-no-mark', (t: string) => Buffer.from(t, 'utf16le').swap16()],
    ['UTF-32LE', (t: string) => Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), utf32(t, true)])],
    ['UTF-32BE-no-mark', (t: string) => utf32(t, false)],
  ] as const) {
    it(`reads a policy file written in ${name} as its UTF-8 twin (was: 0 policies, exit 0)`, () => {
      const file = join(dir, `bad-${name}.yaml`);
      writeFileSync(file, encode(readFileSync(bad, 'utf8')));
      const result = run(['lint', file], dir);
      assert.equal(result.code, 1);
      assert.equal(result.stdout.trim(), `bad-${name}.yaml:6:11 error MPA0104 action must be one of ALLOW, DENY, AUDIT, CUSTOM (got "allow")`);
    });
  }

  it('exits 0 on clean input', () => {
    assert.equal(run(['lint', good], dir).code, 0);
  });

  it('prints JSON with 0-based LSP ranges', () => {
    const result = run(['lint', '--format', 'json', bad], dir);
    assert.deepEqual(JSON.parse(result.stdout), [{
      file: 'bad.yaml', range: { start: { line: 5, character: 10 }, end: { line: 5, character: 15 } },
      severity: 'error', code: 'MPA0104', message: 'action must be one of ALLOW, DENY, AUDIT, CUSTOM (got "allow")',
    }]);
  });

  it('prints SARIF 2.1.0', () => {
    const sarif = JSON.parse(run(['lint', '--format=sarif', bad, good], dir).stdout);
    assert.equal(sarif.version, '2.1.0');
    const runResult = sarif.runs[0];
    assert.equal(runResult.tool.driver.name, 'mesh-policy');
    assert.deepEqual(runResult.tool.driver.rules.map((r: { id: string }) => r.id), ['MPA0104']);
    assert.deepEqual(runResult.results[0], {
      ruleId: 'MPA0104', ruleIndex: 0, level: 'error', message: { text: 'action must be one of ALLOW, DENY, AUDIT, CUSTOM (got "allow")' },
      locations: [{ physicalLocation: { artifactLocation: { uri: 'bad.yaml', uriBaseId: '%SRCROOT%' }, region: { startLine: 6, startColumn: 11, endLine: 6, endColumn: 16 } } }],
    });
  });

  it('SARIF: a file outside the working folder is named by its absolute file URI, with no uriBaseId', () => {
    // SARIF 2.1.0, 3.4.4: a uri with a uriBaseId is a relative reference resolved against that base;
    // `../x` would resolve outside %SRCROOT%, so such a file gets a file URI of its own (3.10.2)
    const inner = join(dir, 'inner');
    mkdirSync(inner, { recursive: true });
    const sarif = JSON.parse(run(['lint', '--format', 'sarif', bad], inner).stdout);
    assert.deepEqual(sarif.runs[0].results[0].locations[0].physicalLocation.artifactLocation, { uri: pathToFileURL(bad).href });
  });

  it('SARIF names each rule by its title, semantic checks included (docs/rules/README.md lists the titles)', () => {
    // (the examples' deliberate mistakes are schema ones: a DENY without rules is a semantic one, MPA1003)
    writeFileSync(join(dir, 'deny.yaml'), 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: d, namespace: shop}\nspec:\n  action: DENY\n');
    const sarif = JSON.parse(run(['lint', '--format', 'sarif', 'examples', join(dir, 'deny.yaml')], REPO_ROOT).stdout);
    const rules = sarif.runs[0].tool.driver.rules as { id: string; shortDescription: { text: string } }[];
    const index = readFileSync(join(REPO_ROOT, 'docs', 'rules', 'README.md'), 'utf8');
    assert.ok(rules.some((r) => /^MPA[123]\d{3}$/.test(r.id)), 'the examples have semantic findings');
    for (const rule of rules) assert.ok(index.includes(`| [${rule.id}](${rule.id}.md) | ${rule.shortDescription.text} |`), `${rule.id}: ${rule.shortDescription.text}`);
  });

  it('--help and -h print the usage with its lint options, exit 0, wherever they stand', () => {
    for (const args of [['lint', '--help'], ['lint', '-h'], ['lint', bad, '--help']]) {
      const result = run(args, dir);
      assert.equal(result.code, 0, args.join(' '));
      assert.match(result.stdout, /^Usage: mesh-policy <command>/);
      assert.match(result.stdout, /Options for lint:/);
      assert.equal(result.stderr, '');
    }
  });

  it('exits 2 on usage errors and unreadable input', () => {
    // no command is a usage error like the others: said on stderr, nothing on stdout
    const none = run([]);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^mesh-policy: a command is needed\n\nUsage: mesh-policy <command>/);
    assert.equal(run(['lint']).code, 2);
    assert.equal(run(['lint', '--format', 'xml', bad]).code, 2);
    assert.equal(run(['frobnicate']).code, 2);
    const missing = run(['lint', join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope\.yaml.*no such file/);
  });

  it('a folder with no YAML, JSON or HCL file is named and exits 2, as ESLint does for a pattern that matches nothing', () => {
    mkdirSync(join(dir, 'no-policies', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'no-policies', 'notes.txt'), 'not a policy\n');
    const empty = run(['lint', 'no-policies'], dir);
    assert.equal(empty.code, 2);
    assert.equal(empty.stdout, '');
    assert.match(empty.stderr, /^mesh-policy: "no-policies": no YAML, JSON or HCL file in this folder$/m);
    // (each folder given is named, even beside one with policies; a folder given twice is read once and not named)
    const beside = run(['lint', bad, 'no-policies/sub'], dir);
    assert.equal(beside.code, 2);
    assert.match(beside.stderr, /"no-policies\/sub": no YAML, JSON or HCL file in this folder/);
    assert.doesNotMatch(run(['lint', '.', '.'], dir).stderr, /no YAML, JSON or HCL file/);
    assert.match(run(['lint', bad, '--inventory', 'no-policies'], dir).stderr, /inventory "no-policies": no YAML, JSON or HCL file/);
  });

  it('-- ends the options: a file whose name begins with a dash is linted', () => {
    writeFileSync(join(dir, '-dash.yaml'), readFileSync(bad));
    const result = run(['lint', '--format', 'json', '--', '-dash.yaml'], dir);
    assert.equal(result.code, 1);
    assert.equal(JSON.parse(result.stdout)[0].file, '-dash.yaml');
  });

  it('a misspelt option or command names the nearest one the usage lists', () => {
    const option = run(['lint', '--fromat', 'json', bad]);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /^mesh-policy: unknown option "--fromat"; did you mean "--format"\?\n\nUsage:/);
    assert.match(run(['lint', '--max-warning=0', bad]).stderr, /^mesh-policy: unknown option "--max-warning"; did you mean "--max-warnings"\?\n/);
    // nothing near: no guess
    assert.match(run(['lint', '--zzzzzz', bad]).stderr, /^mesh-policy: unknown option "--zzzzzz"\n\nUsage:/);
    assert.match(run(['lnt', bad]).stderr, /^mesh-policy: unknown command "lnt"; did you mean "lint"\?\n/);
    assert.match(run(['simulat']).stderr, /^mesh-policy: unknown command "simulat"; did you mean "simulate"\?\n/);
  });

  it('each command suggests from its own options', async () => {
    let stderr = '';
    const code = await runSimulateCli(['--polices', 'p', '--traffic', 't'], { stdout: () => undefined, stderr: (t) => { stderr += `${t}\n`; }, cwd: dir });
    assert.equal(code, 2);
    assert.match(stderr, /^mesh-policy: unknown option "--polices"; did you mean "--policies"\?\n\nUsage: mesh-policy simulate/);
  });

  it('finds every deliberate mistake in examples/ and nothing else', () => {
    const result = run(['lint', '--format', 'json', EXAMPLES]);
    const findings = JSON.parse(result.stdout) as { file: string; code: string; message: string }[];
    assert.equal(result.code, 1);
    // examples/README.md's table says exactly what the text output prints: place, severity, code and message.
    const table = readFileSync(join(EXAMPLES, 'README.md'), 'utf8').split('\n')
      .map((line) => /^\| \d+ \| `([^`]+)` \|.*\| `(\w+ MPA\d{4} [^`]*)`/.exec(line))
      .filter((m) => m !== null).map((m) => `${m[1]} ${m[2]}`).sort();
    const printed = run(['lint', '.'], EXAMPLES).stdout.trim().split('\n').sort();
    assert.deepEqual(table, printed);
    const codes = findings.map((f) => f.code).sort();
    assert.deepEqual(codes, ['MPA0005', 'MPA0101', 'MPA0101', 'MPA0102', 'MPA0103', 'MPA0104', 'MPA0104', 'MPA0104', 'MPA0105', 'MPA0107', 'MPA0107']);
    assert.ok(!findings.some((f) => /values\.yaml|app\//.test(f.file)), 'a non-policy file was flagged');
  });

  it('runs as the package bin without a stack trace', () => {
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'mesh-policy.js'), 'lint', '--format', 'json', bad], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.equal(JSON.parse(result.stdout)[0].code, 'MPA0104');
    const usage = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'mesh-policy.js'), 'lint', '--max-file-size', 'abc', bad], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.doesNotMatch(usage.stderr, /\n\s+at /);
  });
});

describe('mesh-policy lint in CI: --format github, --max-warnings, --rule', () => {
  // One warning (MPA1018, default severity warning) and no error, in a file whose name holds the
  // characters a workflow command's property must escape (",", ":" and "%").
  const folder = scratchDir('mesh-policy-ci-');
  const warned = 'methods,v1:50%.yaml';
  writeFileSync(join(folder, warned), 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: w, namespace: shop}\nspec:\n  action: ALLOW\n  rules:\n  - to:\n    - operation:\n        methods: ["FETCH"]\n');

  it('--format github prints one workflow command per finding, its file property escaped', () => {
    const warning = run(['lint', '--format', 'github', warned], folder);
    assert.equal(warning.code, 0);
    assert.equal(warning.stdout,
      '::warning file=methods%2Cv1%3A50%25.yaml,line=9,col=19,endLine=9,endColumn=26,title=MPA1018 Not an HTTP method::"FETCH" is not a registered HTTP method, so only a client sending this extension method matches it; did you mean PATCH?\n');
    const error = run(['lint', '--format=github', bad], dir);
    assert.equal(error.code, 1);
    // (a comma in the message is data, not a property: it stays as it is)
    assert.equal(error.stdout, '::error file=bad.yaml,line=6,col=11,endLine=6,endColumn=16,title=MPA0104 Value not allowed::action must be one of ALLOW, DENY, AUDIT, CUSTOM (got "allow")\n');
  });

  it('--format github: info and hints are notices; %, CR and LF escaped in the message, : and , too in properties', () => {
    const range = { start: { line: 0, character: 0 }, end: { line: 1, character: 2 } };
    const lines = formatGithub([
      { file: join(dir, 'sub', 'a:b,c.yaml'), range, severity: 'info', code: 'MPA1027', message: '100% sure\r\nsecond line' },
      { file: join(dir, 'h.yaml'), range, severity: 'hint', code: 'MPA1027', message: 'a: b, c' },
    ], dir).split('\n');
    // (columns only within one line: actions/toolkit packages/core AnnotationProperties, "Cannot be
    // sent when startLine and endLine are different values")
    assert.deepEqual(lines, [
      '::notice file=sub/a%3Ab%2Cc.yaml,line=1,endLine=2,title=MPA1027 ALLOW policy with empty rules::100%25 sure%0D%0Asecond line',
      '::notice file=h.yaml,line=1,endLine=2,title=MPA1027 ALLOW policy with empty rules::a: b, c',
    ]);
  });

  it('--format github: files relative to GITHUB_WORKSPACE (the checkout), where GitHub places annotations', () => {
    const range = { start: { line: 2, character: 4 }, end: { line: 2, character: 9 } };
    const finding = { file: join(dir, 'sub', 'p.yaml'), range, severity: 'error' as const, code: 'MPA0104', message: 'm' };
    const root = (cwd: string, env: NodeJS.ProcessEnv) => formatGithub([finding], githubRoot(cwd, env));
    // run from a subfolder of the checkout, the file in a sibling folder: not "../sub/p.yaml"
    assert.match(root(join(dir, 'other'), { GITHUB_WORKSPACE: dir }), /^::error file=sub\/p\.yaml,line=3,col=5,endLine=3,endColumn=10,/);
    assert.match(root(join(dir, 'other'), { GITHUB_WORKSPACE: '..' }), /^::error file=sub\/p\.yaml,/, 'relative to the working folder');
    assert.match(root(dir, {}), /^::error file=sub\/p\.yaml,/, 'outside Actions: the working folder');
  });

  it('--max-warnings N exits 1 when more than N warnings are found, as ESLint does', () => {
    for (const [args, code] of [
      [[], 0], [['--max-warnings', '1'], 0], [['--max-warnings', '0'], 1], [['--max-warnings=0', '--quiet'], 1],
    ] as const) {
      const result = run(['lint', ...args, warned], folder);
      assert.equal(result.code, code, args.join(' '));
      if (code === 1) assert.match(result.stderr, /1 warning, more than --max-warnings 0 allows/);
    }
    // errors still fail however many warnings are allowed
    assert.equal(run(['lint', '--max-warnings', '5', bad], dir).code, 1);
  });

  it('--rule CODE=SEVERITY overrides the severity for the run, over .meshpolicy.yaml', () => {
    const off = run(['lint', '--rule', 'MPA1018=off', '--max-warnings', '0', warned], folder);
    assert.equal(off.code, 0);
    assert.equal(off.stdout, '');
    const raised = run(['lint', '--rule=MPA1018=error', warned], folder);
    assert.equal(raised.code, 1);
    assert.match(raised.stdout, /:9:19 error MPA1018 /);
    assert.equal(run(['lint', '--rule', 'MPA0104=warning', bad], dir).code, 0);
    // the project's configuration says error; the command line wins for this run
    const configured = scratchDir('mesh-policy-ci-config-');
    writeFileSync(join(configured, '.meshpolicy.yaml'), 'rules:\n  MPA1018: error\n');
    writeFileSync(join(configured, 'p.yaml'), readFileSync(join(folder, warned)));
    assert.equal(run(['lint', 'p.yaml'], configured).code, 1);
    const info = run(['lint', '--rule', 'MPA1018=info', 'p.yaml'], configured);
    assert.equal(info.code, 0);
    assert.match(info.stdout, /p\.yaml:9:19 info MPA1018 /);
  });

  it('a bad --rule or --max-warnings is a usage error (exit 2) that names the problem', () => {
    for (const [args, message] of [
      [['--rule', 'MPA9999=off'], /--rule MPA9999=off: MPA9999 is not a rule code/],
      [['--rule', 'MPA1018=loud'], /--rule MPA1018=loud: MPA1018 must be one of error, warning, info, hint, off/],
      [['--rule', 'MPA1018'], /--rule needs CODE=SEVERITY/],
      [['--rule'], /--rule needs a value/],
      [['--max-warnings', 'many'], /--max-warnings must be a whole number, 0 or more \(got "many"\)/],
      [['--max-warnings', '-1'], /--max-warnings must be a whole number/],
      [['--max-warnings', '1.5'], /--max-warnings must be a whole number/],
    ] as const) {
      const result = run(['lint', warned, ...args], folder);
      assert.equal(result.code, 2, args.join(' '));
      assert.equal(result.stdout, '', args.join(' '));
      assert.match(result.stderr, message);
    }
  });

  it('SARIF carries each rule\'s page as its help (markdown and text)', () => {
    const sarif = JSON.parse(run(['lint', '--format', 'sarif', bad], dir).stdout);
    const page = readFileSync(join(REPO_ROOT, 'docs', 'rules', 'MPA0104.md'), 'utf8');
    assert.deepEqual(sarif.runs[0].tool.driver.rules[0].help, { text: page, markdown: page });
  });
});

describe('every option the commands take is documented', () => {
  // The options each parser accepts (its `case '--…'` labels), against the command's --help and
  // the README's synopsis of the command: an option missing from either is undocumented.
  const parsers: [string, string[]][] = [['main.ts', ['lint']], ['traffic.ts', ['traffic']], ['simulate.ts', ['simulate', 'explain']], ['audit.ts', ['report', 'generate']], ['translate.ts', ['translate']], ['authz.ts', ['authz']]];
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const synopsis = /## The command line\n\n```sh\n([\s\S]*?)```/.exec(readme)![1]!;
  for (const [file, commands] of parsers) {
    const source = readFileSync(join(REPO_ROOT, 'server', 'src', 'cli', file), 'utf8');
    const options = [...new Set([...source.matchAll(/case '(--[a-z-]+)'/g)].map((m) => m[1]!))].filter((o) => o !== '--help');
    it(`${commands.join(' and ')}: ${options.length} options`, () => {
      assert.ok(options.length > 0);
      const help = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'mesh-policy.js'), commands[0]!, '--help'], { encoding: 'utf8' }).stdout;
      // the synopsis lines of these commands (a command's line and its continuation lines)
      const lines = synopsis.split(/\n(?=npx )/).filter((l) => commands.some((c) => l.startsWith(`npx mesh-policy ${c} `))).join('\n');
      for (const option of options) {
        assert.match(help, new RegExp(`^\\s+${option}\\b`, 'm'), `${option} is not in ${commands[0]} --help`);
        assert.ok(lines.includes(`${option} `) || lines.includes(`${option}]`) || lines.includes(`${option}=`), `${option} is not in the README's synopsis of ${commands.join('/')}`);
      }
    });
  }
});

describe('mesh-policy lint --fix', () => {
  // Each finding's preferred fix (docs/rules: "Quick fix"), as the editor's "fix all" applies it.
  const policy = (action: string, extra = '') => `# owned by the shop team\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p   # keep me\n  namespace: shop\nspec:\n  action: ${action}\n${extra}`;

  it('writes the fixes, keeps comments, says what it fixed and reports what is left', () => {
    const folder = scratchDir('mesh-policy-fix-');
    const file = join(folder, 'p.yaml');
    // a lower-case action (MPA0104, fixed) and a principal under a misspelt key (MPA0101, fixed)
    writeFileSync(file, policy('allow', '  rules:\n  - from:\n    - source:\n        principal: ["cluster.local/ns/shop/sa/web"]\n'));
    const result = run(['lint', '--fix', 'p.yaml'], folder);
    assert.equal(readFileSync(file, 'utf8'), policy('ALLOW', '  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/shop/sa/web"]\n'));
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stderr, /^mesh-policy: fixed 2 problems in p\.yaml \(MPA0104, MPA0101\)$/m);
    assert.match(result.stderr, /0 errors, 0 warnings in 1 policy from 1 file \(2 problems fixed\)/);
    assert.equal(run(['lint', 'p.yaml'], folder).code, 0, 'nothing left');
  });

  it('--fix-dry-run says what it would fix and writes nothing', () => {
    const folder = scratchDir('mesh-policy-fix-');
    const file = join(folder, 'p.yaml');
    writeFileSync(file, policy('allow'));
    const result = run(['lint', '--fix-dry-run', 'p.yaml'], folder);
    assert.equal(readFileSync(file, 'utf8'), policy('allow'));
    assert.match(result.stderr, /^mesh-policy: would fix 1 problem in p\.yaml \(MPA0104\)$/m);
    assert.match(result.stderr, /\(1 problem would be fixed\)/);
  });

  it('keeps CRLF line ends, UTF-16 with its byte-order mark, and the file mode', () => {
    const folder = scratchDir('mesh-policy-fix-');
    const crlf = join(folder, 'crlf.yaml');
    // a scalar where a list is needed: the fix rewrites in place; and a new line is CRLF too
    writeFileSync(crlf, policy('allow').replace(/\n/g, '\r\n'));
    const utf16 = join(folder, 'utf16.yaml');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(policy('allow'), 'utf16le')]));
    chmodSync(utf16, 0o600);
    run(['lint', '--fix', '.'], folder);
    assert.equal(readFileSync(crlf, 'utf8'), policy('ALLOW').replace(/\n/g, '\r\n'));
    const bytes = readFileSync(utf16);
    assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xfe]);
    assert.equal(bytes.subarray(2).toString('utf16le'), policy('ALLOW'));
    assert.equal(statSync(utf16).mode & 0o777, 0o600);
  });

  it('fixes the file a symbolic link names, and the link stays a link', () => {
    const folder = scratchDir('mesh-policy-fix-');
    mkdirSync(join(folder, 'real'));
    writeFileSync(join(folder, 'real', 'p.yaml'), policy('allow'));
    mkdirSync(join(folder, 'linted'));
    symlinkSync(join(folder, 'real', 'p.yaml'), join(folder, 'linted', 'p.yaml'));
    run(['lint', '--fix', 'linted'], folder);
    assert.ok(lstatSync(join(folder, 'linted', 'p.yaml')).isSymbolicLink());
    assert.equal(readFileSync(join(folder, 'real', 'p.yaml'), 'utf8'), policy('ALLOW'));
  });

  it('leaves a file that is not UTF-8 or UTF-16 as it is, and says so', () => {
    const folder = scratchDir('mesh-policy-fix-');
    const file = join(folder, 'latin1.yaml');
    const bytes = Buffer.from(policy('allow').replace('# owned by the shop team', '# owned by the caf\u00e9 team'), 'latin1');
    writeFileSync(file, bytes);
    const result = run(['lint', '--fix', 'latin1.yaml'], folder);
    assert.deepEqual(readFileSync(file), bytes);
    assert.match(result.stderr, /cannot write the fixes of "latin1\.yaml": it is not UTF-8 or UTF-16 text, so it is left as it is/);
    assert.equal(result.code, 2);
  });

  it('leaves guesses alone: a missing field with a placeholder value is not filled in', () => {
    const folder = scratchDir('mesh-policy-fix-');
    const file = join(folder, 'authz.yaml');
    const text = 'apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: ns}\nspec:\n  targetRef: {group: policy.linkerd.io, kind: Server, name: s}\n';
    writeFileSync(file, text);
    const result = run(['lint', '--fix', 'authz.yaml'], folder);
    assert.equal(readFileSync(file, 'utf8'), text);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /MPA0102 missing required field "requiredAuthenticationRefs"/);
    assert.match(result.stderr, /\(0 problems fixed\)/);
  });
});

describe('mesh-policy lint --inventory: the cluster the checks read, not linted itself', () => {
  const folder = scratchDir('mesh-policy-lint-inventory-');
  mkdirSync(join(folder, 'policies'));
  mkdirSync(join(folder, 'cluster'));
  writeFileSync(join(folder, 'policies', 'p.yaml'), 'apiVersion: security.istio.io/v1beta1\nkind: AuthorizationPolicy\nmetadata: {name: cart-readers, namespace: shop}\nspec:\n  targetRefs:\n  - {kind: Service, group: "", name: cart}\n');
  writeFileSync(join(folder, 'cluster', 'crds.yaml'), OLD_ISTIO_AP_CRD);
  // a policy under --inventory only: its objects are read, it is neither linted nor reported
  writeFileSync(join(folder, 'cluster', 'stray.yaml'), 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: s, namespace: shop}\nspec:\n  action: allow\n');

  it('without it, the CRD is not known: no finding', () => {
    const result = run(['lint', 'policies'], folder);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stdout, '');
  });

  it('with it, the policy is checked against the cluster\'s CRD, and the inventory\'s own policy is left alone', () => {
    const result = run(['lint', 'policies', '--inventory', 'cluster'], folder);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, 'policies/p.yaml:5:3 error MPA1039 unknown field "spec.targetRefs": the CustomResourceDefinition authorizationpolicies.security.istio.io (crds.yaml) does not declare it in v1beta1; kubectl apply refuses the resource (strict field validation), and a client that does not ask for it (Helm, Argo CD, Flux) has the API server drop the field, so the mesh never sees it\n');
  });

  it('a missing --inventory path is unreadable input (exit 2)', () => {
    const result = run(['lint', 'policies', '--inventory', 'nothere'], folder);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /cannot read "nothere": no such file or folder/);
  });
});
