// The pipeline: a bounded queue of connector emits, cut into batches by size and time,
// canonicalized and fingerprinted synchronously per batch, and committed by the one batch
// writer together with each connector's checkpoint. An emit's promise resolves only after
// the transaction holding its events and checkpoint has committed (design.md §2).
import type { Checkpoint, EnvelopeList, RawEnvelope } from '../plugin/contract.js';
import type { Logger } from '../log/logger.js';
import { canonicalize } from './canonicalize.js';
import type { Fingerprinter } from './fingerprint.js';
import type { WriteBatch } from '../store/types.js';
import { BatchEncoder, type EncodedBatch } from '../store/batch-codec.js';
import { StaleBatchError } from '../store/commit-latch.js';

export { StaleBatchError };

/**
 * Batches handed to a resumable writer (the writer thread) before the oldest has committed. The
 * writer applies the aggregates about once a second, for a few hundred ms at full load; 16
 * encoded batches (a few MB) let parsing go on meanwhile. Ingesting 1,000,000 lines: 2 and 4 in
 * flight left the main thread waiting through each apply (~3 s in all), 16 cut the run by ~15 %.
 */
export const WRITES_IN_FLIGHT = 16;

const NONE: RawEnvelope[] = [];

/**
 * An emit's envelopes as an array: an `EnvelopeList` is made now, when its emit is taken into a
 * batch (its envelopes then live only while this batch is prepared).
 */
function materialize(item: Pending): RawEnvelope[] {
  const list = item.envelopes;
  if (Array.isArray(list)) return list;
  const out = new Array<RawEnvelope>(item.n);
  for (let i = 0; i < item.n; i++) {
    const env = list.at(i);
    if (env === undefined) throw new Error(`envelope ${i} of ${item.n} missing`);
    out[i] = env;
  }
  return out;
}

export interface BatchWriter {
  /** Commit the batch in one transaction; resolves after commit. */
  write(batch: EncodedBatch): Promise<void>;
  /**
   * Present on writers that commit in the order written and, after a failed write, reject every
   * further write (as `StaleBatchError`) until `resume()`: the pipeline may then keep several batches
   * in flight, because none can commit on top of a failed one.
   */
  resume?(): void;
}


export interface PipelineOptions {
  /** Envelopes per transaction (an emit is never split across transactions). */
  batchSize: number;
  /**
   * How long an emit may wait for more to join its batch when the writer is idle. 0 (default):
   * commit at once; batches still grow to `batchSize` while a write is in progress.
   */
  flushMs: number;
  /** Envelopes queued before `emit` waits for room (backpressure). */
  queueCapacity: number;
  tenantId: string;
  /** Read year-less syslog timestamps in UTC. */
  utc?: boolean;
  /** Clock (tests pass their own). */
  now?: () => number;
}

export const DEFAULT_PIPELINE_OPTIONS = { batchSize: 4000, flushMs: 0, queueCapacity: 20_000 };

/** Who is emitting: the connector's name and its plugin type. */
export interface EmitSource {
  connector: string;
  type: string;
}

interface Pending {
  source: EmitSource;
  /** Released (emptied) once prepared into a batch: nothing reads them after that. */
  envelopes: RawEnvelope[] | EnvelopeList;
  /** How many envelopes the emit had (the queue's accounting). */
  n: number;
  checkpoint: Checkpoint | undefined;
  hasCheckpoint: boolean;
  resolve: () => void;
  reject: (e: Error) => void;
}

export interface PipelineCounters {
  received: number;
  stored: number;
  parseErrors: number;
  batches: number;
  /** Sum and count of commit latencies in ms (for averages; /metrics keeps a histogram). */
  commitMsTotal: number;
}

export class Pipeline {
  private queue: Pending[] = [];
  /** Envelopes in the queue (not yet taken into a batch). */
  private waiting = 0;
  /** Emits waiting for room in the queue (backpressure), in submit order. */
  private waitingForRoom: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Set while drain waits for a commit with less than a batch queued: called once a full batch is. */
  private wake: (() => void) | undefined;
  private closed = false;
  readonly counters: PipelineCounters = { received: 0, stored: 0, parseErrors: 0, batches: 0, commitMsTotal: 0 };
  /** Called after each commit with its latency (ms) and size; the daemon feeds metrics from it. */
  onCommit?: (ms: number, events: number) => void;
  private readonly opts: Required<Omit<PipelineOptions, 'utc'>> & { utc?: boolean };

  constructor(
    private readonly writer: BatchWriter,
    private readonly fingerprinter: Fingerprinter,
    private readonly logger: Logger,
    opts: Partial<PipelineOptions> & { tenantId: string },
    /** Called when a write fails, to rebuild the fingerprinter from the store. */
    private readonly onWriteFailure?: () => void,
  ) {
    this.opts = { ...DEFAULT_PIPELINE_OPTIONS, now: Date.now, ...opts } as typeof this.opts;
  }

  /**
   * Envelopes waiting to be taken into a batch: what `queueCapacity` bounds. Batches prepared and
   * handed to the writer are compact (the envelopes are released) and bounded by WRITES_IN_FLIGHT.
   */
  get depth(): number {
    return this.waiting;
  }

  /** Queue a connector's batch; resolves once it is committed with its checkpoint. */
  async submit(source: EmitSource, envelopes: RawEnvelope[] | EnvelopeList, checkpoint?: Checkpoint, hasCheckpoint = checkpoint !== undefined): Promise<void> {
    if (this.closed) throw new Error('pipeline is closed');
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { source, envelopes, n: envelopes.length, checkpoint, hasCheckpoint, resolve, reject };
      // First come, first served: an emit that would fit must not pass one waiting for room. A
      // connector's checkpoint covers everything it emitted before, so committed ahead of an
      // earlier emit it names lines not stored yet (lost if the process dies before they are).
      if (this.waitingForRoom.length > 0 || !this.hasRoom(envelopes.length)) this.waitingForRoom.push(p);
      else this.enqueue(p);
    });
  }

  private hasRoom(envelopes: number): boolean {
    return this.waiting === 0 || this.waiting + envelopes <= this.opts.queueCapacity;
  }

  /** Admit emits waiting for room, in submit order, each once it fits. */
  private admit(): void {
    while (this.waitingForRoom.length > 0 && this.hasRoom(this.waitingForRoom[0]!.n)) this.enqueue(this.waitingForRoom.shift()!);
  }

  private enqueue(p: Pending): void {
    this.queue.push(p);
    this.waiting += p.n;
    if (this.wake && this.waiting >= this.opts.batchSize) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    }
    this.schedule();
  }

  /** Commit everything queued now and wait for it. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 || this.running) {
      if (!this.running) this.running = this.drain();
      await this.running;
    }
  }

  /** Flush and refuse further submits. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    for (const p of this.waitingForRoom.splice(0)) p.reject(new Error('pipeline is closed'));
  }

  /**
   * Group commit: when no write is in progress, a batch starts at once (or after `flushMs` when
   * that is set, to gather more); while one is, emits accumulate and go in the next batch.
   */
  private schedule(): void {
    if (this.running) return;
    if (this.opts.flushMs === 0 || this.waiting >= this.opts.batchSize || this.queue.length > 0 && this.waiting === 0) {
      this.start();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.start(), this.opts.flushMs);
    }
  }

  private start(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running && this.queue.length > 0) this.running = this.drain();
  }

  /** Take whole emits up to the batch size. */
  private take(): Pending[] {
    const items: Pending[] = [];
    let n = 0;
    while (this.queue.length > 0 && (items.length === 0 || n + this.queue[0]!.n <= this.opts.batchSize)) {
      const p = this.queue.shift()!;
      items.push(p);
      n += p.n;
    }
    this.waiting -= n;
    this.admit();
    return items;
  }

  /**
   * Encode the items into one batch. An emit whose envelopes cannot be made (an `EnvelopeList`
   * that throws) is taken out of `items` and rejected alone; the others go on.
   */
  private prepare(items: Pending[]): EncodedBatch {
    const now = this.opts.now();
    let total = 0;
    for (const item of items) total += item.n;
    const batch = new BatchEncoder(total);
    const counts = new Map<string, WriteBatch['counts'][number]>();
    const checkpoints = new Map<string, unknown>();
    for (let k = 0; k < items.length; k++) {
      const item = items[k]!;
      const { connector, type } = item.source;
      let envelopes: RawEnvelope[];
      try {
        envelopes = materialize(item);
      } catch (err) {
        items.splice(k--, 1);
        this.logger.error({ err, connector, envelopes: item.n }, 'emit failed: its envelopes could not be made');
        this.settle([item], new Error(`${connector}: envelopes could not be made: ${(err as Error).message}`));
        continue;
      }
      let c = counts.get(connector);
      if (!c) counts.set(connector, (c = { connector, type, received: 0, stored: 0, parseErrors: 0 }));
      const ctx = { connector, tenantId: this.opts.tenantId, sourceType: type, now, nowDate: new Date(now), utc: this.opts.utc };
      for (const env of envelopes) {
        const ev = this.fingerprinter.assign(canonicalize(env, ctx));
        if (ev.parseError) c.parseErrors++;
        batch.add(ev);
      }
      c.received += item.n;
      c.stored += item.n;
      if (item.hasCheckpoint) checkpoints.set(connector, item.checkpoint);
      // the batch now holds what is needed; emits wait in the queue long enough for their
      // envelopes to reach the old generation, where each one left is garbage for a major GC
      item.envelopes = NONE;
    }
    return batch.finish({
      signatures: this.fingerprinter.takeChanges(),
      checkpoints: [...checkpoints].map(([connector, checkpoint]) => ({ connector, checkpoint })),
      counts: [...counts.values()],
    });
  }

  /**
   * Process the queue: prepare the next batch while earlier ones commit (the writer may be
   * another thread). Writers that refuse writes after a failure (`resume`) get up to
   * WRITES_IN_FLIGHT batches, so the writer thread finds the next one waiting when it finishes a
   * commit; others get one, and a batch
   * prepared meanwhile is only handed over once the one before it has committed. Either way
   * memory stays bounded.
   */
  private async drain(): Promise<void> {
    const maxWrites = this.writer.resume ? WRITES_IN_FLIGHT : 1;
    const inFlight: Array<Promise<boolean>> = [];
    // The caller assigns `this.running` from our promise: the body must not run (and reach the
    // `finally` that clears it) before that, or a batch that fails to prepare stalls the queue.
    await undefined;
    try {
      for (;;) {
        // Less than a full batch waiting: let the commits in flight finish first, so that what
        // arrives meanwhile joins this batch. A full batch is prepared while one commits (and
        // while more wait for it, with a resumable writer).
        while (inFlight.length >= Math.max(maxWrites, 2) || (inFlight.length > 0 && this.waiting < this.opts.batchSize)) {
          if (inFlight.length >= Math.max(maxWrites, 2)) {
            await inFlight.shift();
            continue;
          }
          // the oldest commit, or a full batch queued meanwhile, whichever comes first: waiting for
          // the commit alone left the main thread idle while the writer applied the aggregates
          // (~0.5 s at a time at full load), with the queue filling up behind it
          const full = new Promise<boolean>((resolve) => (this.wake = () => resolve(false)));
          if (await Promise.race([inFlight[0]!.then(() => true), full])) inFlight.shift();
          this.wake = undefined;
        }
        // nothing in flight (the loop above waits for it) and nothing queued: done
        if (this.queue.length === 0) break;
        const items = this.take();
        let batch: EncodedBatch;
        try {
          batch = this.prepare(items);
        } catch (err) {
          this.settle(items, err as Error);
          continue;
        }
        if (items.length === 0) continue; // every emit in it failed to make its envelopes
        if (maxWrites === 1 && inFlight.length > 0 && !(await inFlight.shift())) {
          // the previous batch failed: this one was fingerprinted against state that was rolled back
          this.settle(items, new StaleBatchError());
          continue;
        }
        inFlight.push(this.commit(items, batch));
      }
    } finally {
      this.running = undefined;
      if (this.queue.length > 0) this.schedule();
    }
  }

  /** Hand the batch to the writer; the batch itself is not kept while its commit is awaited. */
  private commit(items: Pending[], batch: EncodedBatch): Promise<boolean> {
    const { n } = batch;
    let parseErrors = 0;
    for (const c of batch.rest.counts) parseErrors += c.parseErrors;
    return this.committed(items, n, parseErrors, this.writer.write(batch));
  }

  private async committed(items: Pending[], n: number, parseErrors: number, write: Promise<void>): Promise<boolean> {
    const t0 = performance.now();
    try {
      await write;
    } catch (err) {
      if (!(err instanceof StaleBatchError)) {
        this.logger.error({ err, events: n }, 'batch commit failed');
        // rebuild from what is committed, then let the writer take batches prepared from now on
        this.onWriteFailure?.();
        this.writer.resume?.();
      }
      this.settle(items, err as Error);
      return false;
    }
    const ms = performance.now() - t0;
    this.counters.batches++;
    this.counters.received += n;
    this.counters.stored += n;
    this.counters.commitMsTotal += ms;
    this.counters.parseErrors += parseErrors;
    this.onCommit?.(ms, n);
    this.settle(items);
    return true;
  }

  private settle(items: Pending[], err?: Error): void {
    for (const it of items) {
      if (err) it.reject(err);
      else it.resolve();
    }
    if (err) {
      this.failQueued(new Set(items.map((it) => it.source.connector)));
      this.admit();
    }
  }

  /**
   * A connector's checkpoint covers everything it emitted before: once one of its emits failed,
   * the checkpointed ones it queued behind it must not commit either (they would record its lines
   * as stored). They fail as stale, and the connector resumes from its last committed checkpoint.
   */
  private failQueued(connectors: Set<string>): void {
    const stale = (p: Pending) => p.hasCheckpoint && connectors.has(p.source.connector);
    for (const p of this.queue.filter(stale)) {
      this.waiting -= p.n;
      p.reject(new StaleBatchError());
    }
    this.queue = this.queue.filter((p) => !stale(p));
    for (const p of this.waitingForRoom.filter(stale)) p.reject(new StaleBatchError());
    this.waitingForRoom = this.waitingForRoom.filter((p) => !stale(p));
  }
}
