// Batch writers for the pipeline: inline (same thread; used from TypeScript sources under test)
// or on a worker thread (the built daemon), both committing through SqliteStore.writeEncoded.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BatchWriter } from '../pipeline/pipeline.js';
import type { SqliteStore } from './sqlite.js';
import type { WriterReply, WriterRequest } from './writer-worker.js';
import { transferables, type EncodedBatch } from './batch-codec.js';
import { CommitLatch, StaleBatchError } from './commit-latch.js';

export interface ClosableWriter extends BatchWriter {
  close(): Promise<void>;
}

export class InlineWriter implements ClosableWriter {
  private readonly latch = new CommitLatch();
  constructor(private readonly store: SqliteStore) {}
  async write(batch: EncodedBatch): Promise<void> {
    this.latch.commit(() => this.store.writeEncoded(batch));
  }
  resume(): void {
    this.latch.resume();
  }
  async close(): Promise<void> {}
}

const WORKER_FILE = new URL('./writer-worker.js', import.meta.url);

/** The worker needs compiled JavaScript; under vitest (TypeScript sources) it is not there. */
export const workerWriterAvailable = (): boolean => existsSync(fileURLToPath(WORKER_FILE));

export class WorkerWriter implements ClosableWriter {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  /** Set when the thread died: every request fails with it. */
  private dead: Error | undefined;
  /** Told each time the writer thread fails to apply the aggregates (they stay pending and are retried). */
  onAggregateError?: (message: string) => void;

  constructor(path: string) {
    this.worker = new Worker(WORKER_FILE, { workerData: { path } });
    this.worker.on('message', (r: WriterReply) => {
      if (r.aggregates) {
        this.onAggregateError?.(r.error?.message ?? 'unknown error');
        return;
      }
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.ok) p.resolve();
      else if (r.error?.code === 'STALE_BATCH') p.reject(new StaleBatchError());
      else p.reject(Object.assign(new Error(r.error?.message ?? 'write failed'), { code: r.error?.code }));
    });
    const failAll = (err: Error) => {
      this.dead = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', failAll);
    this.worker.on('exit', (code) => failAll(new Error(`store writer thread exited (code ${code})`)));
  }

  resume(): void {
    if (!this.dead) this.worker.postMessage({ op: 'resume', id: 0 } satisfies WriterRequest);
  }

  private request(req: Omit<WriterRequest, 'id'>): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id }, req.batch ? transferables(req.batch) : undefined);
    });
  }

  write(batch: EncodedBatch): Promise<void> {
    return this.request({ op: 'write', batch });
  }

  async close(): Promise<void> {
    if (this.dead) return;
    await this.request({ op: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}
