import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { folderAbove } from './installedFiles';

/**
 * The folder of the rule pages (`docs/rules/<code>.md`) next to the running code: the repository
 * when run from `out/`, the extension folder when run from the bundle in `dist/` (the .vsix
 * carries `docs/rules/*.md`); undefined when neither has them.
 */
export function findRuleDocsDir(start: string = __dirname): string | undefined {
  const root = folderAbove(start, join('docs', 'rules', 'README.md'));
  return root === undefined ? undefined : join(root, 'docs', 'rules');
}

let docsDir: string | undefined | null = null;
const pages = new Map<string, string | undefined>();

/** The absolute path of rule `code`'s page, when it is there to open. */
export function rulePagePath(code: string): string | undefined {
  if (pages.has(code)) return pages.get(code);
  if (docsDir === null) docsDir = findRuleDocsDir();
  // (a code is a rule code, never a path: nothing else is looked up)
  const page = docsDir && /^[A-Z]+\d+$/.test(code) ? join(docsDir, `${code}.md`) : undefined;
  const found = page && existsSync(page) ? page : undefined;
  pages.set(code, found);
  return found;
}

/** Rule `code`'s page as markdown, when it is there. */
export function rulePageMarkdown(code: string): string | undefined {
  const page = rulePagePath(code);
  if (!page) return undefined;
  try {
    return readFileSync(page, 'utf8');
  } catch {
    return undefined;
  }
}
