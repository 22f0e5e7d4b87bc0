import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { Fingerprinter } from '../../src/pipeline/fingerprint.js';
import { TemplateMiner } from '../../src/pipeline/miner.js';
import { Pipeline, StaleBatchError, type BatchWriter } from '../../src/pipeline/pipeline.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { EncodedBatch } from '../../src/store/batch-codec.js';

const tmp = () => join(mkdtempSync(join(tmpdir(), 'brainstem-pipe-')), 'b.db');
const source = { connector: 'c1', type: 'test' };

function setup(opts: { batchSize?: number; queueCapacity?: number; flushMs?: number } = {}, wrap?: (w: BatchWriter) => BatchWriter) {
  const store = new SqliteStore(tmp());
  const inner: BatchWriter = { write: async (b: EncodedBatch) => { store.writeEncoded(b); } };
  const writer = wrap ? wrap(inner) : inner;
  const fp = new Fingerprinter(new TemplateMiner());
  const pipeline = new Pipeline(writer, fp, silentLogger(), { tenantId: 't', flushMs: 20, ...opts },
    () => fp.reset(store.loadClusters(), new TemplateMiner()));
  return { store, pipeline };
}

const lines = (from: number, n: number, host = 'h1') =>
  Array.from({ length: n }, (_, i) => ({ messageRaw: `Dec  3 10:00:00 ${host} app[1]: request ${from + i} done in ${i} ms` }));

describe('pipeline and store', () => {
  it('commits events with their checkpoint before emit resolves', async () => {
    const { store, pipeline } = setup();
    await pipeline.submit(source, lines(1, 10), { offset: 10 });
    expect(store.totals().events).toBe(10);
    expect(store.loadCheckpoint('c1')).toEqual({ offset: 10 });
    const stats = store.connectorStats()[0]!;
    expect(stats).toMatchObject({ connector: 'c1', received: 10, stored: 10, parseErrors: 0 });
  });

  it('groups variable lines under one signature and keeps aggregates on write', async () => {
    const { store, pipeline } = setup();
    await pipeline.submit(source, [...lines(1, 5, 'h1'), ...lines(6, 3, 'h2')], { n: 1 });
    const sigs = store.listSignatures();
    expect(sigs).toHaveLength(1);
    expect(sigs[0]!.occurrenceCount).toBe(8);
    const win = store.signatureWindow(0);
    expect(win[0]!.windowCount).toBe(8);
    expect(win[0]!.hosts.map((h) => h.host).sort()).toEqual(['h1', 'h2']);
    expect(store.listEvents({ signatureKey: sigs[0]!.signatureKey, limit: 0 })).toHaveLength(8);
  });

  it('never splits an emit across transactions and commits checkpoints in order', async () => {
    const batches: number[] = [];
    const { store, pipeline } = setup({ batchSize: 10 }, (w) => ({ write: async (b) => { batches.push(b.n); await w.write(b); } }));
    await Promise.all([
      pipeline.submit(source, lines(1, 7), { last: 7 }),
      pipeline.submit(source, lines(8, 25), { last: 32 }),
      pipeline.submit(source, lines(33, 2), { last: 34 }),
    ]);
    expect(batches).toContain(25);
    expect(store.loadCheckpoint('c1')).toEqual({ last: 34 });
    expect(store.totals().events).toBe(34);
  });

  it('a failed commit rejects the emit and leaves the last checkpoint in place', async () => {
    let fail = false;
    const { store, pipeline } = setup({}, (w) => ({ write: async (b) => { if (fail) throw new Error('disk full'); await w.write(b); } }));
    await pipeline.submit(source, lines(1, 3), { last: 3 });
    fail = true;
    await expect(pipeline.submit(source, [{ messageRaw: 'a brand new pattern here' }], { last: 4 })).rejects.toThrow('disk full');
    expect(store.loadCheckpoint('c1')).toEqual({ last: 3 });
    fail = false;
    // the miner was rebuilt from the store: the new pattern gets created (and persisted) again
    await pipeline.submit(source, [{ messageRaw: 'a brand new pattern here' }], { last: 4 });
    expect(store.totals()).toMatchObject({ events: 4, signatures: 2 });
  });

  it('keeps committing after a batch that could not be prepared (the queue does not stall)', async () => {
    const { store, pipeline } = setup({ flushMs: 0 });
    // an envelope the pipeline cannot canonicalize: its batch fails before it reaches the writer
    const bad = { messageRaw: 'x', get service(): string { throw new Error('unreadable envelope'); } };
    await expect(pipeline.submit(source, [bad as never], { last: 1 })).rejects.toThrow('unreadable envelope');
    const next = pipeline.submit({ connector: 'c2', type: 'test' }, lines(1, 2), { last: 2 });
    const settled = await Promise.race([next.then(() => 'committed'), new Promise((r) => setTimeout(() => r('stalled'), 2000))]);
    expect(settled).toBe('committed');
    expect(store.totals().events).toBe(2);
  });

  it('makes the envelopes of an EnvelopeList only when its emit is taken into a batch; one that throws fails alone', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { store, pipeline } = setup({ batchSize: 10, flushMs: 0 }, (w) => ({ write: async (b) => { await gate; await w.write(b); } }));
    const made: number[] = [];
    const lazy = (from: number, n: number) => ({
      length: n,
      at: (i: number) => {
        made.push(from + i);
        return lines(from + i, 1)[0];
      },
    });
    // the first batch commits (held), the second is prepared and waits for it; the list queued
    // behind them is not read while it waits
    const first = pipeline.submit(source, lines(1, 10));
    const second = pipeline.submit(source, lines(11, 10));
    const third = pipeline.submit(source, lazy(21, 10));
    await new Promise((r) => setTimeout(r, 50));
    expect(pipeline.depth).toBe(10);
    expect(made).toEqual([]);
    release();
    await Promise.all([first, second, third]);
    expect(made).toEqual(Array.from({ length: 10 }, (_, i) => 21 + i));
    // in one batch: a list that throws is rejected, the other connector's emit beside it commits
    const broken = { length: 3, at: (i: number) => { if (i === 1) throw new Error('cannot parse'); return lines(90, 1)[0]; } };
    const results = await Promise.allSettled([
      pipeline.submit({ connector: 'c2', type: 'test' }, broken),
      pipeline.submit({ connector: 'c3', type: 'test' }, lazy(31, 4)),
      pipeline.submit({ connector: 'c4', type: 'test' }, { length: 2, at: () => undefined }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/c2: envelopes could not be made: cannot parse/);
    expect((results[2] as PromiseRejectedResult).reason.message).toMatch(/envelope 0 of 2 missing/);
    expect(store.totals().events).toBe(34);
    expect(store.connectorStats().map((c) => c.connector).sort()).toEqual(['c1', 'c3']);
  });

  it('makes emit wait while the queue is full (backpressure)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { store, pipeline } = setup({ queueCapacity: 10, batchSize: 10 }, (w) => ({ write: async (b) => { await gate; await w.write(b); } }));
    // the first batch is committing (held), the second is prepared and waits for it, the third
    // fills the queue: the fourth must wait for room (or the queue would hold 20)
    let resolved = 0;
    const emits = [1, 11, 21, 31].map((from) => pipeline.submit(source, lines(from, 10), { last: from + 9 }).then(() => resolved++));
    await new Promise((r) => setTimeout(r, 100));
    expect(pipeline.depth).toBe(10);
    expect(resolved).toBe(0);
    release();
    await Promise.all(emits);
    expect(pipeline.depth).toBe(0);
    expect(store.totals().events).toBe(40);
    expect(store.loadCheckpoint('c1')).toEqual({ last: 40 });
  });

  it('prepares the next batch as soon as a full one is queued, while earlier commits are still in flight', async () => {
    // a writer that commits in order and holds each commit until released (the writer thread
    // applying its aggregates): the pipeline must not sit idle behind it with a batch queued
    const held: Array<() => void> = [];
    const { store, pipeline } = setup({ batchSize: 10, flushMs: 0 }, (w) => ({
      write: (b) => new Promise<void>((resolve, reject) => held.push(() => w.write(b).then(resolve, reject))),
      resume: () => undefined,
    }));
    const first = pipeline.submit(source, lines(1, 3), { last: 3 });
    await new Promise((r) => setTimeout(r, 10));
    expect(held).toHaveLength(1);
    // less than a batch: it waits to be joined by more (the first commit is still held) …
    const second = pipeline.submit(source, lines(4, 4), { last: 7 });
    await new Promise((r) => setTimeout(r, 10));
    expect(held).toHaveLength(1);
    // … until a full batch is queued: prepared and handed over with the first still held
    const third = pipeline.submit(source, lines(8, 6), { last: 13 });
    await new Promise((r) => setTimeout(r, 10));
    expect(held).toHaveLength(2);
    for (const release of held.splice(0)) release();
    await Promise.all([first, second, third]);
    expect(store.totals().events).toBe(13);
    expect(store.loadCheckpoint('c1')).toEqual({ last: 13 });
  });

  it('admits emits in submit order while the queue is full (a later, smaller emit does not pass one waiting for room)', async () => {
    // each checkpoint covers every line emitted before it: committed ahead of an earlier emit, it
    // would name lines not yet stored, and a crash before that emit commits loses them
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const covered: Array<{ last: number; stored: number }> = [];
    const { store, pipeline } = setup({ queueCapacity: 10, batchSize: 10, flushMs: 0 }, (w) => ({
      write: async (b) => {
        await gate;
        await w.write(b);
        covered.push({ last: (store.loadCheckpoint('c1') as { last: number }).last, stored: store.totals().events });
      },
    }));
    const a = pipeline.submit(source, lines(1, 6), { last: 6 }); // taken at once; its commit waits
    const b = pipeline.submit(source, lines(7, 6), { last: 12 }); // 6 + 6 > 10: waits for room
    const c = pipeline.submit(source, lines(13, 2), { last: 14 }); // 6 + 2 fits, but b came first
    const d = pipeline.submit(source, [], { last: 14 }); // a checkpoint-only emit always fits
    await new Promise((r) => setTimeout(r, 50));
    release();
    await Promise.all([a, b, c, d]);
    expect(store.totals().events).toBe(14);
    for (const x of covered) expect(x.last).toBeLessThanOrEqual(x.stored);
    expect(covered.map((x) => x.last)).toEqual([...covered.map((x) => x.last)].sort((p, q) => p - q));
    expect(store.loadCheckpoint('c1')).toEqual({ last: 14 });
  });

  it('a failed commit also fails the emits of that connector queued behind it (their checkpoints cover its lines)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let fail = true;
    const { store, pipeline } = setup({ batchSize: 10, flushMs: 0 }, (w) => ({
      write: async (b) => {
        await gate;
        if (fail) {
          fail = false;
          throw new Error('database is locked');
        }
        await w.write(b);
      },
    }));
    const a = pipeline.submit(source, lines(1, 6), { last: 6 }); // its commit fails
    a.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 5)); // a's batch is being written
    const b = pipeline.submit(source, lines(7, 2), { last: 8 }); // queued meanwhile: covers a's lines
    const other = pipeline.submit({ connector: 'c2', type: 'test' }, lines(100, 2), { last: 2 }); // another connector: unaffected
    await new Promise((r) => setTimeout(r, 20));
    release();
    await expect(a).rejects.toThrow('database is locked');
    await expect(b).rejects.toBeInstanceOf(StaleBatchError);
    await other;
    expect(store.loadCheckpoint('c1')).toBeUndefined();
    expect(store.loadCheckpoint('c2')).toEqual({ last: 2 });
  });

  it('stores a connector parse error with the raw text and counts it', async () => {
    const { store, pipeline } = setup();
    await pipeline.submit(source, [{ messageRaw: '\u0000garbage', parseError: 'bad frame' }]);
    const [e] = store.listEvents({ limit: 1 });
    expect(e).toMatchObject({ messageRaw: '\u0000garbage', parseError: 'bad frame' });
    expect(store.connectorStats()[0]!.parseErrors).toBe(1);
  });

  it('creates the database owner-only and persists the miner across reopen', async () => {
    const path = tmp();
    const s1 = new SqliteStore(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const fp1 = new Fingerprinter(new TemplateMiner());
    const p1 = new Pipeline({ write: async (b) => { s1.writeEncoded(b); } }, fp1, silentLogger(), { tenantId: 't' });
    await p1.submit(source, lines(1, 3));
    const key = s1.listSignatures()[0]!.signatureKey;
    s1.close();
    const s2 = new SqliteStore(path);
    const miner = new TemplateMiner();
    miner.load(s2.loadClusters());
    const p2 = new Pipeline({ write: async (b) => { s2.writeEncoded(b); } }, new Fingerprinter(miner), silentLogger(), { tenantId: 't' });
    await p2.submit(source, lines(100, 2));
    expect(s2.listSignatures().map((s) => s.signatureKey)).toEqual([key]);
    expect(s2.schemaVersion).toBeGreaterThanOrEqual(1);
  });

  it('deletes events past retention in small batches, oldest first', async () => {
    const { store, pipeline } = setup();
    await pipeline.submit(source, lines(1, 50));
    const cutoff = Date.now() + 1;
    expect(store.pruneEvents(cutoff, 20)).toBe(20);
    expect(store.pruneEvents(cutoff, 20)).toBe(20);
    // the newest stays, so that ids are never handed out again
    expect(store.pruneEvents(cutoff, 20)).toBe(9);
    expect(store.totals().events).toBe(1);
    const [last] = store.listEvents({ limit: 1 });
    await pipeline.submit(source, lines(51, 1));
    expect(store.listEvents({ limit: 1 })[0]!.id).toBe(last!.id + 1);
    // the postings of deleted events go too: a signature lists what is left
    expect(store.listEvents({ signatureKey: last!.signatureKey, limit: 0 }).length).toBeLessThanOrEqual(2);
    // then the per-minute aggregates of the same age; long-term ones stay
    while (store.pruneEvents(cutoff, 20) > 0);
    expect(store.db.prepare('SELECT count(*) FROM signature_slots').pluck().get()).toBe(0);
    expect(store.listSignatures()[0]!.occurrenceCount).toBe(51);
    expect(store.signatureWindow(0)[0]!.windowCount).toBe(51);
    expect(store.db.prepare('SELECT count(*) FROM signature_events').pluck().get()).toBeLessThanOrEqual(2);
  });

  it('keeps aggregates exact when the process dies between commit and aggregate apply', async () => {
    const path = tmp();
    const s1 = new SqliteStore(path);
    s1.aggregateIntervalMs = 3_600_000; // apply lazily, as the writer thread does
    const p1 = new Pipeline({ write: async (b) => { s1.writeEncoded(b); } }, new Fingerprinter(new TemplateMiner()), silentLogger(), { tenantId: 't' });
    await p1.submit(source, lines(1, 5));
    await p1.submit(source, lines(6, 7), { last: 12 });
    expect(s1.totals().events).toBe(12);
    expect(s1.listSignatures()[0]!.occurrenceCount).toBe(0); // committed, not yet aggregated
    s1.db.close(); // "kill -9": no flush
    const s2 = new SqliteStore(path);
    expect(s2.listSignatures()[0]!.occurrenceCount).toBe(12);
    expect(s2.signatureWindow(0)[0]!.windowCount).toBe(12);
    expect(s2.loadCheckpoint('c1')).toEqual({ last: 12 });
    s2.close();
    const s3 = new SqliteStore(path); // nothing folded in twice
    expect(s3.listSignatures()[0]!.occurrenceCount).toBe(12);
  });

  it('aggregates hosts and subjects containing any character, NUL included', async () => {
    const { store, pipeline } = setup();
    await pipeline.submit(source, [
      { messageRaw: 'link eth0 down', host: 'odd\u0000host' },
      { messageRaw: 'link eth0 up', host: 'odd\u0000host' },
    ]);
    expect(store.totals().events).toBe(2);
    const hosts = store.signatureWindow(0).flatMap((s) => s.hosts.map((h) => h.host));
    expect(hosts).toContain('odd\u0000host');
    expect(store.db.prepare('SELECT count(*) FROM state_minutes, json_each(changes)').pluck().get()).toBe(2);
  });
});
