import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options: { type: 'minor' | 'major'; execution?: 'async' }) => void;

/**
 * Empties the young generation of the heap once the server has answered an edit and nothing
 * waits. An edit allocates about 10 MB with 1M log lines loaded, most of it dead once the
 * answer is out; left alone, the next edit's allocation triggers the collection in the middle of
 * that edit, while its own working set is alive and must be copied (12–40 ms here). Collected
 * while idle, only what the answer keeps is copied, and the next edit starts with room. The
 * collection is the same one V8 would make, earlier; nothing is collected while a change waits.
 */
export class IdleCollector {
  private scheduled = false;

  constructor(
    private readonly busy: () => boolean,
    private readonly collect: Collect | undefined = exposedCollector(),
  ) {}

  /** The server has answered: once the answer is written (`written` settles) and read, collect,
   * unless a change arrived meanwhile. Collecting before would hold the answer back. */
  answered(written: Promise<unknown> = Promise.resolve()): void {
    if (!this.collect || this.scheduled) return;
    this.scheduled = true;
    void written.finally(() => setTimeout(() => {
      this.scheduled = false;
      if (!this.busy()) this.collect!({ type: 'minor' });
    }, READ_MS));
  }

  /**
   * The traffic was read and simulated: what reading it left behind (hundreds of MB with 1M
   * lines) lies in the old generation, and the collection that frees it would otherwise mark
   * during the first edits (without it: 150–180 ms of CPU per edit against 55–65 ms, and slower
   * edits). Started once the results are out and nothing waits. V8's "asynchronous" major
   * collection only runs later, in a task: the collection itself holds the event loop, 0.85 s
   * with 1M Linkerd lines and up to 1.8 s with 1M Consul lines, right after the load's own
   * final simulation, which holds it longer.
   */
  loaded(): void {
    if (!this.collect) return;
    setTimeout(() => {
      if (!this.busy()) this.collect!({ type: 'major', execution: 'async' });
    }, READ_MS);
  }
}

/**
 * How long the client gets to read the answer first: a written answer may still sit in the pipe,
 * and the collection runs on every core (with two cores, it held a 600 KiB publish back by its
 * whole pause).
 */
const READ_MS = 30;

/** V8's collector, when the process may call it: started with --expose-gc, or exposed now. */
function exposedCollector(): Collect | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as Collect;
  try {
    setFlagsFromString('--expose-gc');
    const collect: unknown = runInNewContext('gc');
    return typeof collect === 'function' ? (collect as Collect) : undefined;
  } catch {
    return undefined;
  }
}
