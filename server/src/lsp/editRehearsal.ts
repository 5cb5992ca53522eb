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
    if (traffic === undefined || traffic === this.rehearsedFor || this.timer) return;
    this.timer = setTimeout(() => this.run(traffic, 0, 0), START_DELAY_MS);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(traffic: unknown, done: number, spentMs: number): void {
    this.timer = undefined;
    if (this.host.traffic() !== traffic) return;
    if (this.host.busy()) {
      this.timer = setTimeout(() => this.run(traffic, done, spentMs), START_DELAY_MS);
      return;
    }
    const started = performance.now();
    const rehearsed = this.host.rehearseOnce();
    spentMs += performance.now() - started;
    if (!rehearsed) return;
    this.rehearsedFor = traffic;
    if (done + 1 >= this.rehearsals) {
      this.host.log(`mesh-policy: ran the edit path ${done + 1} times ahead of the first edit (${Math.round(spentMs)} ms)`);
      return;
    }
    // One rehearsal per turn, so that requests and changes from the editor get in between.
    this.timer = setTimeout(() => this.run(traffic, done + 1, spentMs), 0);
  }
}

/** Rehearsals after a load: with 1M lines, 4 edit-and-back pairs brought the first edits to the later ones' times. */
const REHEARSALS = 4;
/** After the load's results are out and its collection has started (`IdleCollector.loaded`). */
const START_DELAY_MS = 200;
