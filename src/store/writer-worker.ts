// The batch writer's thread: owns one read-write connection and commits batches posted by the
// pipeline, so SQLite's work runs on the second core while the main thread parses the next batch.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from './sqlite.js';
import type { EncodedBatch } from './batch-codec.js';
import { CommitLatch } from './commit-latch.js';

export interface WriterRequest {
  id: number;
  /** write a batch; resume taking batches after a failed one; close the store. */
  op: 'write' | 'resume' | 'close';
  batch?: EncodedBatch;
}

export interface WriterReply {
  /** The request answered; 0 for a report of the thread's own (`aggregates`). */
  id: number;
  ok: boolean;
  error?: { message: string; code?: string };
  /** Set on a report that applying the aggregates failed (they stay pending and are tried again). */
  aggregates?: true;
}

const store = new SqliteStore((workerData as { path: string }).path, { writer: true });
// Apply the hot aggregates about once a second (see SqliteStore.aggregateIntervalMs), and also
// when batches stop arriving.
store.aggregateIntervalMs = 1000;
// A failed apply is retried on the next batch or tick (the aggregates stay pending; a crash
// meanwhile is repaired at the next open) and reported to the daemon, which logs it.
function apply(): void {
  const err = store.applyIfDue();
  if (err) parentPort!.postMessage({ id: 0, ok: false, error: { message: err.message }, aggregates: true } satisfies WriterReply);
}
const idleFlush = setInterval(apply, 1000);
const latch = new CommitLatch();
parentPort!.on('message', (req: WriterRequest) => {
  if (req.op === 'resume') {
    latch.resume();
    return;
  }
  let reply: WriterReply;
  try {
    if (req.op === 'write') latch.commit(() => store.writeEncoded(req.batch!, { apply: false }));
    else {
      clearInterval(idleFlush);
      store.close();
    }
    reply = { id: req.id, ok: true };
  } catch (err) {
    const e = err as Error & { code?: string };
    reply = { id: req.id, ok: false, error: { message: e.message, code: e.code } };
  }
  parentPort!.postMessage(reply);
  if (req.op === 'close') parentPort!.close();
  // after the reply: the batch's emits resolve without waiting for the apply (a few hundred ms
  // at full load), and the main thread goes on preparing batches meanwhile
  else if (req.op === 'write' && reply.ok) apply();
});
