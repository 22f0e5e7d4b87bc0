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
  id: number;
  ok: boolean;
  error?: { message: string; code?: string };
}

const store = new SqliteStore((workerData as { path: string }).path, { writer: true });
// Apply the hot aggregates about once a second (see SqliteStore.aggregateIntervalMs), and also
// when batches stop arriving.
store.aggregateIntervalMs = 1000;
// A failed apply is retried on the next batch or tick (the aggregates stay pending); a crash
// meanwhile is repaired at the next open.
const idleFlush = setInterval(() => store.applyIfDue(), 1000);
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
  else if (req.op === 'write' && reply.ok) store.applyIfDue();
});
