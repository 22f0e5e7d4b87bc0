// The writers' failure protocol that lets the pipeline keep two batches in flight: after a failed
// write, batches already handed over are refused (STALE_BATCH) until resume(), so none can commit
// on top of state that was rolled back — on the same thread and on the real writer thread.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { Fingerprinter } from '../../src/pipeline/fingerprint.js';
import { TemplateMiner } from '../../src/pipeline/miner.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { WriteBatch } from '../../src/store/types.js';
import { encodeBatch } from '../../src/store/batch-codec.js';
import { InlineWriter } from '../../src/store/writers.js';

const tmp = () => join(mkdtempSync(join(tmpdir(), 'brainstem-writers-')), 'b.db');
const source = { connector: 'c1', type: 'test' };
const lines = (word: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ messageRaw: `Dec  3 10:00:00 h1 app[1]: ${word} request ${i} done in ${i} ms` }));

/** A batch of one event whose signature the store has never seen: the write fails. */
const badBatch = (): WriteBatch => ({
  events: [{
    tenantId: 't', connector: 'c1', sourceType: 'test', ts: 1, receivedAt: 1, messageRaw: 'x',
    message: 'x', messageNormalized: 'x', signatureKey: 'no-such-signature', ingestMetadata: {},
  }],
  signatures: [], checkpoints: [{ connector: 'c1', checkpoint: { last: 99 } }], counts: [],
});

describe('batch writers after a failed write', () => {
  it('the pipeline with two batches in flight: the batch behind a failed one is refused, then both retry cleanly', async () => {
    const store = new SqliteStore(tmp());
    const writer = new InlineWriter(store);
    let failNext = false;
    const real = store.writeEncoded.bind(store);
    store.writeEncoded = (b) => {
      if (failNext) {
        failNext = false;
        throw new Error('disk full');
      }
      return real(b);
    };
    const fp = new Fingerprinter(new TemplateMiner());
    const pipeline = new Pipeline(writer, fp, silentLogger(), { tenantId: 't', batchSize: 10, flushMs: 50 },
      () => fp.reset(store.loadClusters(), new TemplateMiner()));
    await pipeline.submit(source, lines('warmup', 3), { last: 3 });

    failNext = true;
    // the first emit waits for the timer; the second fills more than a batch, so the pipeline
    // prepares and hands over the second batch before it learns the first one failed
    const first = pipeline.submit(source, lines('alpha', 4), { last: 7 });
    const second = pipeline.submit(source, lines('beta', 20), { last: 27 });
    const [r1, r2] = await Promise.allSettled([first, second]);
    expect(r1).toMatchObject({ status: 'rejected', reason: { message: 'disk full' } });
    expect(r2).toMatchObject({ status: 'rejected', reason: { code: 'STALE_BATCH' } });
    expect(store.totals().events).toBe(3);
    expect(store.loadCheckpoint('c1')).toEqual({ last: 3 });

    // the connector retries both: each line lands once, with the last checkpoint
    await pipeline.submit(source, lines('alpha', 4), { last: 7 });
    await pipeline.submit(source, lines('beta', 20), { last: 27 });
    expect(store.totals().events).toBe(27);
    expect(store.loadCheckpoint('c1')).toEqual({ last: 27 });
    await pipeline.close();
    store.close();
  });

  it('the writer thread refuses batches behind a failed one until resume()', async () => {
    // the worker runs compiled JavaScript: use the build (npm test builds first)
    const { WorkerWriter } = await import('../../dist/src/store/writers.js' as string) as typeof import('../../src/store/writers.js');
    const path = tmp();
    new SqliteStore(path).close();
    const writer = new WorkerWriter(path);
    const ok = (): WriteBatch => ({ events: [], signatures: [], checkpoints: [{ connector: 'c1', checkpoint: { ok: true } }], counts: [] });
    const [bad, behind] = await Promise.allSettled([writer.write(encodeBatch(badBatch())), writer.write(encodeBatch(ok()))]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: expect.stringContaining('unknown signature') } });
    expect(behind).toMatchObject({ status: 'rejected', reason: { code: 'STALE_BATCH' } });
    writer.resume();
    await writer.write(encodeBatch(ok()));
    await writer.close();
    const store = new SqliteStore(path, { readonly: true });
    expect(store.loadCheckpoint('c1')).toEqual({ ok: true });
    store.close();
  });
});

const event = (raw: string, key: string): WriteBatch['events'][number] => ({
  tenantId: 't', connector: 'c1', sourceType: 'test', ts: 1, receivedAt: 1, messageRaw: raw, message: raw,
  messageNormalized: raw, signatureKey: key, ingestMetadata: {},
});
const sig = (key: string) => ({ key, service: '', template: key, firstTemplate: key, family: 'generic' });

describe('aggregate applies after a commit', () => {
  it('a batch that committed is not reported failed (and written again) when the apply after it fails', () => {
    const store = new SqliteStore(tmp());
    const real = store.flushAggregates.bind(store);
    let failApply = true;
    store.flushAggregates = () => {
      if (failApply) throw new Error('disk full');
      real();
    };
    const ids = store.writeBatch({ events: [event('one', 'k'), event('two', 'k')], signatures: [sig('k')], checkpoints: [{ connector: 'c1', checkpoint: 2 }], counts: [] });
    expect(ids).toEqual({ firstId: 1, lastId: 2 });
    expect(store.totals().events).toBe(2);
    expect(store.getSignature('k')!.occurrenceCount).toBe(0); // still pending
    expect(store.applyIfDue()).toMatchObject({ message: 'disk full' });
    // recorded where `stats` and /metrics (other connections) read it
    const reader = new SqliteStore(store.path, { readonly: true });
    expect(reader.aggregateError()).toMatchObject({ failures: 2, message: 'disk full' });
    expect(reader.aggregateError()!.since).toBeLessThanOrEqual(Date.now());
    failApply = false;
    // the next batch's apply takes both batches' aggregates, and the failure is over
    store.writeBatch({ events: [event('three', 'k')], signatures: [], checkpoints: [], counts: [] });
    expect(store.getSignature('k')!.occurrenceCount).toBe(3);
    expect(reader.aggregateError()).toBeUndefined();
    reader.close();
    store.close();
  });
});

describe('a failing aggregate apply on the writer thread', () => {
  it('is reported to the daemon and recorded for stats, while batches keep committing', async () => {
    const { WorkerWriter } = await import('../../dist/src/store/writers.js' as string) as typeof import('../../src/store/writers.js');
    const { encodeBatch: encode } = await import('../../dist/src/store/batch-codec.js' as string) as typeof import('../../src/store/batch-codec.js');
    const path = tmp();
    new SqliteStore(path).close();
    const writer = new WorkerWriter(path);
    const errors: string[] = [];
    writer.onAggregateError = (m) => errors.push(m);
    await writer.write(encode({ events: [event('one', 'k')], signatures: [sig('k')], checkpoints: [], counts: [] }));
    // another connection takes away a table the apply writes to: the apply fails, the commit does not
    // (a plain connection: a second SqliteStore writer would fold in the events again at open)
    const { default: Database } = await import('better-sqlite3');
    const ddl = new Database(path);
    const other = new SqliteStore(path, { readonly: true });
    ddl.exec('ALTER TABLE signature_buckets RENAME TO signature_buckets_away');
    await new Promise((r) => setTimeout(r, 1100)); // the apply is due again (once a second)
    await writer.write(encode({ events: [event('two', 'k')], signatures: [], checkpoints: [{ connector: 'c1', checkpoint: 2 }], counts: [] }));
    for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(errors[0]).toMatch(/signature_buckets/);
    expect(other.totals().events).toBe(2);
    expect(other.loadCheckpoint('c1')).toBe(2);
    expect(other.aggregateError()).toMatchObject({ message: expect.stringMatching(/signature_buckets/) });
    // the table is back: the next apply succeeds with what was pending, and the failure is cleared
    ddl.exec('ALTER TABLE signature_buckets_away RENAME TO signature_buckets');
    ddl.close();
    for (let i = 0; i < 60 && other.aggregateError(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(other.aggregateError()).toBeUndefined();
    await writer.close();
    expect(other.getSignature('k')!.occurrenceCount).toBe(2);
    other.close();
  }, 20_000);
});

describe('the writer and other connections', () => {
  it('waits for a write lock another connection holds instead of failing with "database is locked"', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { spawn } = await import('node:child_process');
    const dir = mkdtempSync(join(tmpdir(), 'bs-lock-'));
    try {
      const path = join(dir, 'lock.db');
      const setup = new SqliteStore(path);
      setup.writeBatch({ events: [event('first', 'k'), event('other', 'k2')], signatures: [sig('k'), sig('k2')], checkpoints: [], counts: [] });
      setup.close();
      // a store that has not met signature k yet: its next batch reads (the id) before it writes
      const store = new SqliteStore(path);
      store.writeBatch({ events: [event('warm', 'k2')], signatures: [], checkpoints: [], counts: [] });
      // another connection (its own process) takes the write lock, writes, and commits 400 ms later
      const holder = spawn(process.execPath, ['-e', `
        const db = new (require('better-sqlite3'))(${JSON.stringify(path)});
        db.exec('BEGIN IMMEDIATE');
        db.prepare("UPDATE connector_stats SET state = 'x'").run();
        db.prepare("INSERT INTO store_meta (key, value) VALUES ('lock-test', 1)").run();
        process.stdout.write('locked\\n');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
        db.exec('COMMIT');
      `], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      const ids = store.writeBatch({ events: [event('second', 'k')], signatures: [], checkpoints: [], counts: [] });
      expect(ids.lastId).toBe(4);
      await new Promise((r) => holder.once('exit', r));
      expect(store.listEvents({ signatureKey: 'k' }).map((e) => e.messageRaw)).toEqual(['second', 'first']);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
