// node's TAP reporter, with one addition: before the run's closing summary it lists every failed
// test again (file, suite path, first line of the error), so a log that keeps only its tail still
// says what failed. The summary lines themselves are the runner's own, unchanged and last.
import { tap } from 'node:test/reporters';

const SUBTESTS_FAILED = 'subtestsFailed';

export default async function* tapWithFailures(source) {
  yield* tap(withFailureList(source));
}

async function* withFailureList(source) {
  const openNames = [];
  const failures = [];
  let listed = false;
  for await (const event of source) {
    const data = event.data ?? {};
    if (event.type === 'test:start') openNames[data.nesting] = data.name;
    if (event.type === 'test:fail' && data.details?.error?.failureType !== SUBTESTS_FAILED) {
      const path = [...openNames.slice(0, data.nesting), data.name].join(' > ');
      failures.push(`${data.file ?? '?'}: ${path}: ${firstLine(data.details?.error)}`);
    }
    if (!listed && event.type === 'test:diagnostic' && data.nesting === 0 && /^tests \d+$/.test(data.message)) {
      listed = true;
      for (const message of failures.length > 0 ? ['failed tests:', ...failures.map((f) => `  ${f}`)] : []) {
        yield { type: 'test:diagnostic', data: { nesting: 0, message } };
      }
    }
    yield event;
  }
}

/** The error's first line; for a message of many lines (a child test run's output), also its first line that names an error. */
function firstLine(error) {
  const cause = error?.cause ?? error;
  const lines = String(cause?.message ?? cause ?? 'failed').replace(/\x1b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter(Boolean);
  const rest = lines.slice(1);
  // (a passing mocha line, `✔ ... error from ...`, names no failure)
  const failing = rest.filter((l) => !l.startsWith('✔'));
  const telling = failing.find((l) => /^\w*(Error|Exception)\b|timed out/.test(l)) ?? failing.find((l) => /failing|failed|not ok/i.test(l));
  return [lines[0] ?? 'failed', telling].filter(Boolean).join(' … ').slice(0, 400);
}
