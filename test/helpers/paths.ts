import { join } from 'node:path';

/** The repository root, from out/test/helpers or test/helpers alike. */
export const REPO_ROOT = join(__dirname, '..', '..', ...(__dirname.includes(`${join('out', 'test')}`) ? ['..'] : []));
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
export const EXAMPLES = join(REPO_ROOT, 'examples');
