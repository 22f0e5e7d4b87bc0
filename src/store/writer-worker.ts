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
const idleFlush = setInterval(() => {
  try {
    // only when batches stopped coming: while they come, writeEncoded applies on its own schedule
    // (a flush from here right after one of those applied a single batch at full cost)
    if (store.dueForApply()) store.flushAggregates();
  } catch {
    // retried on the next tick or batch; a crash is repaired at the next open
  }
}, 1000);
const latch = new CommitLatch();
parentPort!.on('message', (req: WriterRequest) => {
  if (req.op === 'resume') {
    latch.resume();
    return;
  }
  let reply: WriterReply;
  try {
    if (req.op === 'write') latch.commit(() => store.writeEncoded(req.batch!));
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
});
