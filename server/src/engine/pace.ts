/**
 * Long engine work done in slices, for a caller that must keep answering (the language server):
 * `await pace.turn()` at natural boundaries (per batch of shapes, between phases) gives the event
 * loop a turn once a slice's time is spent, and rejects with the signal's reason once `signal`
 * is aborted, so cancelled work stops at the next boundary.
 */
export class Pace {
  private sliceStart = performance.now();

  constructor(private readonly signal?: AbortSignal, private readonly sliceMs = 15) {}

  async turn(): Promise<void> {
    this.signal?.throwIfAborted();
    if (performance.now() - this.sliceStart < this.sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
    this.signal?.throwIfAborted();
  }
}
