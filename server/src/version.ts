// Kept in step with package.json by test/unit/manifest.test.ts.
export const VERSION = '0.1.0';
