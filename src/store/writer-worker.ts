// The batch writer's thread: owns one read-write connection and commits batches posted by the
// pipeline, so SQLite's work runs on the second core while the main thread parses the next batch.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from './sqlite.js';
import { decodeBatch, type EncodedBatch } from './batch-codec.js';

export interface WriterRequest {
  id: number;
  op: 'write' | 'close';
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
    store.flushAggregates();
  } catch {
    // retried on the next tick or batch; a crash is repaired at the next open
  }
}, 1000);
parentPort!.on('message', (req: WriterRequest) => {
  let reply: WriterReply;
  try {
    if (req.op === 'write') store.writeBatch(decodeBatch(req.batch!));
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
