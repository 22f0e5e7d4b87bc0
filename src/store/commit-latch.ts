// The writers' rule after a failed commit, shared by the inline writer and the writer thread:
// batches handed over behind a failed one were fingerprinted against state that was rolled
// back, so they are refused (StaleBatchError) until the pipeline has rebuilt its state from the
// store and calls resume(). This is what lets the pipeline keep several batches in flight.

/** A batch refused because one written before it failed (it was fingerprinted against lost state). */
export class StaleBatchError extends Error {
  readonly code = 'STALE_BATCH';
  constructor() {
    super('an earlier batch failed to commit; retry');
  }
}

export class CommitLatch {
  private failed = false;

  /** Run `commit` unless a commit failed since the last resume(); a throw closes the latch. */
  commit<T>(commit: () => T): T {
    if (this.failed) throw new StaleBatchError();
    try {
      return commit();
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  resume(): void {
    this.failed = false;
  }
}
