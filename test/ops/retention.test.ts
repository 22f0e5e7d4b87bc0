// Retention by size: storage.max_bytes deletes the oldest events first until the store's live
// size is under the cap, freed pages are reused (the file stops growing: no VACUUM needed), and
// on stores created with auto_vacuum=INCREMENTAL surplus pages go back to the file system.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { openIngestion } from '../../src/daemon/daemon.js';
import { enforceMaxBytes, reclaimFreePages, storeSizes } from '../../src/daemon/retention.js';
import { silentLogger } from '../../src/log/logger.js';
import type { RawEnvelope } from '../../src/plugin/contract.js';
import { CLI, countEvents, startDaemon, tempDir, waitFor, writeConfig } from '../http/helpers.js';

const line = (i: number) => `session ${i} opened for user u${i % 97} from 10.1.${(i >> 8) & 255}.${i & 255} port ${1024 + (i % 6000)} ${'pad '.repeat(20)}`;

describe('storage.max_bytes', () => {
  const tmp = tempDir('brainstem-retention-');
  afterAll(() => tmp.cleanup());

  it('deletes oldest events first down to the cap and then holds the file at a steady size', async () => {
    const path = join(tmp.dir, 'cap.db');
    const loaded = await parseConfig(`storage: { path: ${path} }\n`, join(tmp.dir, 'cfg.yaml'));
    const ing = openIngestion(loaded.config, silentLogger(), path);
    const store = ing.store;
    let next = 0;
    const ingest = async (n: number) => {
      for (let done = 0; done < n; done += 1000) {
        const batch: RawEnvelope[] = [];
        for (let i = 0; i < 1000; i++, next++) batch.push({ messageRaw: line(next), host: `h${next % 5}`, timestamp: 1_700_000_000_000 + next * 1000 });
        await ing.pipeline.submit({ connector: 'load', type: 'test' }, batch);
      }
    };
    const cap = 2 * 1024 * 1024;
    const applyCap = () => {
      let draining = false;
      while (enforceMaxBytes(store, cap, 2000, draining) > 0) draining = true;
    };
    try {
      expect(store.db.pragma('auto_vacuum', { simple: true })).toBe(2);
      await ingest(40_000);
      const big = storeSizes(store);
      expect(big.liveBytes).toBeGreaterThan(3 * cap);

      applyCap();
      const capped = storeSizes(store);
      expect(capped.liveBytes).toBeLessThanOrEqual(cap);
      const ids = (store.db.prepare('SELECT id FROM events ORDER BY id').all() as Array<{ id: number }>).map((r) => r.id);
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.length).toBeLessThan(40_000);
      // the newest survive, as one unbroken run ending at the last event
      expect(ids[ids.length - 1]! - ids[0]! + 1).toBe(ids.length);
      expect(ids[ids.length - 1]).toBe(40_000);

      // steady state: each round adds as much as the cap removes; free pages are reused
      const pages: number[] = [];
      for (let round = 0; round < 5; round++) {
        await ingest(4000);
        applyCap();
        expect(storeSizes(store).liveBytes).toBeLessThanOrEqual(cap);
        pages.push(store.db.pragma('page_count', { simple: true }) as number);
      }
      expect(Math.max(...pages.slice(2))).toBeLessThanOrEqual(pages[1]! * 1.1);

      // free pages beyond the reserve are released without VACUUM
      const before = store.db.pragma('page_count', { simple: true }) as number;
      let released = 0;
      for (let n; (n = reclaimFreePages(store, 500, 16)) > 0;) released += n;
      expect(released).toBeGreaterThan(0);
      // (pointer-map pages of auto_vacuum go too, so the file may shrink a little more than asked)
      expect(store.db.pragma('page_count', { simple: true }) as number).toBeLessThanOrEqual(before - released);
    } finally {
      await ing.pipeline.close();
      store.close();
    }
  });

  it('is applied by the daemon at start: /metrics shows the live size under the cap', async () => {
    const db = join(tmp.dir, 'daemon.db');
    const lines = Array.from({ length: 15_000 }, (_, i) => `Dec  3 10:${String(Math.floor(i / 600) % 60).padStart(2, '0')}:00 web-${i % 7} app[${i}]: ${line(i)}`);
    writeFileSync(join(tmp.dir, 'big.log'), `${lines.join('\n')}\n`);
    const cfg = writeConfig(tmp.dir, `storage: { path: ${db}, max_bytes: 1500000 }\napi: { listen: 127.0.0.1:0 }\n`, 'daemon.yaml');
    const ingest = spawnSync(process.execPath, [CLI, 'ingest', '-c', cfg, join(tmp.dir, 'big.log')], { cwd: tmp.dir, encoding: 'utf8' });
    expect(ingest.status, ingest.stderr).toBe(0);
    expect(countEvents(db)).toBe(15_000);
    const d = await startDaemon(cfg, tmp.dir);
    try {
      const live = await waitFor(async () => {
        const text = await (await fetch(`${d.base}/metrics`)).text();
        const v = Number(/^brainstem_store_live_bytes (\S+)$/m.exec(text)?.[1]);
        return v <= 1_500_000 ? v : undefined;
      }, 'the store under storage.max_bytes');
      expect(live).toBeGreaterThan(0);
      const left = countEvents(db);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThan(15_000);
    } finally {
      expect(await d.stop()).toBe(0);
    }
  });
});
