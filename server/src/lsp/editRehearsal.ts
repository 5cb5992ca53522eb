/**
 * Runs the edit path a few times after the traffic is loaded, before the user's first edit.
 *
 * With 1M log lines the first edits after a load took 2–7 times as long as later ones (100–250 ms
 * against 25–60 ms): the functions an edit runs (the split after an edit, lint and compile by
 * difference, the re-simulation, the insight's indexes) had not run yet, so V8 ran them
 * unoptimized. No cache is involved: rehearsing on another resource of the file made the user's
 * first edits as fast as the later ones. Each rehearsal changes a copy of an open policy file
 * (`rehearsalText`) and then validates the file's own text again; nothing is published unless
 * the findings of that text changed, which they do not.
 */
export class EditRehearsal {
  private timer: NodeJS.Timeout | undefined;
  /** The traffic the rehearsals under way run with, and how many ran. */
  private series: { traffic: unknown; done: number; spentMs: number } | undefined;
  /** The traffic the last rehearsals ran with; rehearsing again for it would warm nothing. */
  private rehearsedFor: unknown;

  constructor(
    private readonly host: {
      /** Whether a change waits, or traffic is being read: then the rehearsal waits. */
      busy(): boolean;
      /** The loaded traffic (any identity), undefined when there is none. */
      traffic(): unknown;
      /** One rehearsal on the first open document that allows it; false when none does. */
      rehearseOnce(): boolean;
      log(message: string): void;
    },
    private readonly rehearsals = REHEARSALS,
  ) {}

  /** Traffic was loaded, or a policy file opened: rehearse soon, once per load. */
  schedule(): void {
    const traffic = this.host.traffic();
    if (traffic === undefined) return this.finish();
    if (this.series?.traffic === traffic || traffic === this.rehearsedFor) return;
    this.series = { traffic, done: 0, spentMs: 0 };
    this.timer ??= setTimeout(this.step, START_DELAY_MS);
  }

  private finish(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.series = undefined;
  }

  private readonly step = (): void => {
    this.timer = undefined;
    const series = this.series;
    if (!series || this.host.traffic() !== series.traffic) return this.finish();
    if (this.host.busy()) {
      this.timer = setTimeout(this.step, START_DELAY_MS);
      return;
    }
    const started = performance.now();
    const rehearsed = this.host.rehearseOnce();
    series.spentMs += performance.now() - started;
    if (!rehearsed) return this.finish();
    this.rehearsedFor = series.traffic;
    if (++series.done >= this.rehearsals) {
      this.host.log(`mesh-policy: ran the edit path ${series.done} times ahead of the first edit (${Math.round(series.spentMs)} ms)`);
      return this.finish();
    }
    // One rehearsal per turn, so that requests and changes from the editor get in between.
    this.timer = setTimeout(this.step, 0);
  };
}

/** Rehearsals after a load: with 1M lines, 4 edit-and-back pairs brought the first edits to the later ones' times. */
const REHEARSALS = 4;
/**
 * After the load's results are out and its major collection (`IdleCollector.loaded`, 30 ms after
 * them) has run, and between tries while the editor sends changes. Rehearsing first and collecting
 * after it gave slower edits (p95 71–99 ms against 60–78 ms over six Linkerd runs each).
 */
const START_DELAY_MS = 200;
