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
import { InlineWriter } from '../../src/store/writers.js';

const tmp = () => join(mkdtempSync(join(tmpdir(), 'brainstem-writers-')), 'b.db');
const source = { connector: 'c1', type: 'test' };
const lines = (word: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ messageRaw: `Dec  3 10:00:00 h1 app[1]: ${word} request ${i} done in ${i} ms` }));

/** A batch of one event whose signature the store has never seen: the write fails. */
const badBatch = (): WriteBatch => ({
  events: [{
    tenantId: 't', connector: 'c1', sourceType: 'test', ts: 1, timestamp: '', receivedAt: 1, messageRaw: 'x',
    message: 'x', messageNormalized: 'x', signatureKey: 'no-such-signature', ingestMetadata: {},
  }],
  signatures: [], checkpoints: [{ connector: 'c1', checkpoint: { last: 99 } }], counts: [],
});

describe('batch writers after a failed write', () => {
  it('the pipeline with two batches in flight: the batch behind a failed one is refused, then both retry cleanly', async () => {
    const store = new SqliteStore(tmp());
    const writer = new InlineWriter(store);
    let failNext = false;
    const real = store.writeBatch.bind(store);
    store.writeBatch = (b) => {
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
    const [bad, behind] = await Promise.allSettled([writer.write(badBatch()), writer.write(ok())]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: expect.stringContaining('unknown signature') } });
    expect(behind).toMatchObject({ status: 'rejected', reason: { code: 'STALE_BATCH' } });
    writer.resume();
    await writer.write(ok());
    await writer.close();
    const store = new SqliteStore(path, { readonly: true });
    expect(store.loadCheckpoint('c1')).toEqual({ ok: true });
    store.close();
  });
});
