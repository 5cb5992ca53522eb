import { basename, dirname, relative } from 'node:path';
import { Codes } from '../codes';
import type { Finding } from '../findings';
import type { SourceFile } from '../source/sourceFile';
import { locate, type Span } from '../source/tree';
import { CONFIG_FILE_NAME, defaultConfig, parseConfig, type ProjectConfig } from './projectConfig';

/** Whether the file is a project configuration (`.meshpolicy.yaml`), by name. */
export function isConfigFile(path: string): boolean {
  return basename(path) === CONFIG_FILE_NAME;
}

/**
 * The problems of a `.meshpolicy.yaml` as findings (MPA0004) at the key they are about, so that
 * the editor underlines them as the file is typed: the same problems the CLI prints when it loads
 * the file (`parseConfig`). Syntax errors are MPA0001 findings of the lint already; the file is
 * then not used at all, which is an error here.
 */
export function configFindings(file: SourceFile): Finding[] {
  const config = defaultConfig(dirname(file.path));
  config.file = file.path;
  parseConfig(file.text, config);
  const prefix = `${file.path}: `;
  const root = file.documents[0]?.root;
  const findings: Finding[] = [];
  for (const problem of config.problems) {
    if (!problem.message.startsWith(prefix)) continue; // a syntax error, `path:line:col: ...`: MPA0001
    const span = (problem.key.length > 0 ? locate(root, problem.key).keySpan : undefined) ?? firstLineSpan(file);
    findings.push({ file: file.path, range: file.lines.range(span), severity: config.unusable ? 'error' : 'warning', code: Codes.config, message: problem.message.slice(prefix.length) });
  }
  return findings;
}

/**
 * A `.meshpolicy.yaml` that the workspace being checked does not read (`inUse` is its
 * configuration): one in a subfolder, or in another folder of a multi-root workspace. Its
 * settings have no effect, which nothing else would tell the user who edits it.
 */
export function unusedConfigFindings(file: SourceFile, inUse: ProjectConfig): Finding[] {
  // (the defaults are in use and this file is where they would be read from: it is new, and read once saved)
  if (inUse.file === file.path || (inUse.file === undefined && dirname(file.path) === inUse.root)) return [];
  const used = inUse.file ? `the configuration in use is ${relative(dirname(file.path), inUse.file)}` : 'no configuration file is in use (the defaults apply)';
  return [{
    file: file.path, range: file.lines.range(firstLineSpan(file)), severity: 'warning', code: Codes.config,
    message: `this configuration is not used: ${used}. The editor reads the ${CONFIG_FILE_NAME} of the first workspace folder (or the file meshPolicy.configFile names) for every folder; the command line reads the one in or above its working directory, or --config`,
  }];
}

function firstLineSpan(file: SourceFile): Span {
  const end = file.text.search(/\r?\n|\r|$/);
  return { start: 0, end: Math.max(0, end) };
}
