/**
 * When the server validates after edits: at once when it is idle, and only the latest text when
 * changes arrive faster than it validates.
 *
 * A change is taken up once the event loop has turned `QUIET_TURNS` times without another change
 * (microseconds when idle). Messages that arrived while the server was busy are read and handled
 * one per turn, so a burst of changes is linted once, at its last version. Then the lint
 * findings are published, and the simulation follows on a later turn, unless a newer change came
 * in meanwhile: its own run will simulate after its lint, so a simulation never works on a text
 * that is already out of date. No timer: nothing waits when there is nothing to wait for.
 */
export class EditQueue {
  private readonly pending = new Set<string>();
  private quietTurns = 0;
  private turning = false;
  private simulationPending = false;

  constructor(
    /** Lints and publishes the documents (URIs) that changed. */
    private readonly validate: (uris: string[]) => void,
    /** Re-simulates and publishes what changed. */
    private readonly simulate: () => void,
    /** Called after each simulation, when the edit has been answered. */
    private readonly answered: () => void = () => {},
  ) {}

  /** The document changed (or needs validating again). */
  changed(uri: string): void {
    this.pending.add(uri);
    this.quietTurns = 0;
    if (this.turning) return;
    this.turning = true;
    setImmediate(this.turn);
  }

  /** The document was closed: nothing pending for it is published. */
  forget(uri: string): void {
    this.pending.delete(uri);
  }

  /** Whether a change waits to be validated. */
  get busy(): boolean {
    return this.turning || this.pending.size > 0;
  }

  private readonly turn = (): void => {
    if (++this.quietTurns < QUIET_TURNS) {
      setImmediate(this.turn);
      return;
    }
    this.turning = false;
    const uris = [...this.pending];
    this.pending.clear();
    if (!uris.length) return;
    this.validate(uris);
    if (this.simulationPending) return;
    this.simulationPending = true;
    // On a later turn, so that the lint result is written first.
    setImmediate(() => {
      this.simulationPending = false;
      // A newer change is on its way: its run simulates after its lint.
      if (this.busy) return;
      this.simulate();
      this.answered();
    });
  };
}

/**
 * Turns of the event loop without a change before validating. A message that arrived while the
 * server was busy is decoded on one turn and handled on the next (vscode-jsonrpc schedules each
 * step with setImmediate): a few turns without a change mean that none is on its way through.
 */
const QUIET_TURNS = 3;
