// A store written by an earlier version opens with its events intact: migration 5 moves events
// to the lean row (sources as one id, no stored masked text) and builds the per-signature postings
// that replace the index on events(signature_id).
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { maskMessage } from '../../src/pipeline/mask.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A database as version 4 left it, with `n` events over two signatures and two connectors. */
function version4Store(path: string, n: number, aggregatedThrough: number): void {
  const db = new Database(path);
  for (const m of MIGRATIONS.filter((m) => m.version <= 4)) db.exec(m.sql);
  db.pragma('user_version = 4');
  db.prepare(`INSERT INTO signatures (id, signature_key, template, first_template, event_family) VALUES
    (1, 'aaaa', 'request <NUM> done', 'request <NUM> done', 'generic'), (2, 'bbbb', 'link <*> down', 'link <*> down', 'network')`).run();
  const ins = db.prepare(`INSERT INTO events (ts, received_at, tenant_id, connector, source_type, host, service, severity, facility,
    asset_id, source_path, message_raw, message_offset, message, message_normalized, signature_id, parse_error, fields)
    VALUES (?, ?, 't', ?, 'file', 'h1', 'app', NULL, NULL, NULL, ?, ?, ?, NULL, ?, ?, NULL, ?)`);
  for (let i = 1; i <= n; i++) {
    const body = i % 3 === 0 ? `link eth${i} down` : `request ${i} done`;
    const raw = `Dec  3 10:00:00 h1 app[${i}]: ${body}`;
    ins.run(1_700_000_000_000 + i, 1_700_000_100_000, i % 2 ? 'files' : 'other', i % 2 ? '/var/log/app.log' : null, raw,
      raw.length - body.length, maskMessage(body), i % 3 === 0 ? 2 : 1,
      JSON.stringify({ structured_fields: { pid: String(i) }, ingest_metadata: { original_timestamp: 'Dec  3 10:00:00' } }));
  }
  db.prepare(`UPDATE store_meta SET value = ? WHERE key = 'aggregated_through'`).run(aggregatedThrough);
  db.close();
}

describe('migrations', () => {
  it('moves a version-4 store to the lean events row without losing or changing an event', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-migrate-'));
    dirs.push(dir);
    const path = join(dir, 'old.db');
    version4Store(path, 30, 24); // events 25–30 committed but not yet aggregated
    const store = new SqliteStore(path);
    expect(store.schemaVersion).toBe(MIGRATIONS.at(-1)!.version);
    const events = store.listEvents({ ascending: true });
    expect(events).toHaveLength(30);
    events.forEach((e, i) => {
      const n = i + 1;
      expect(e).toMatchObject({
        id: n, tenantId: 't', connector: n % 2 ? 'files' : 'other', sourceType: 'file', host: 'h1', service: 'app',
        sourcePath: n % 2 ? '/var/log/app.log' : undefined, structuredFields: { pid: String(n) },
        ingestMetadata: { original_timestamp: 'Dec  3 10:00:00' },
      });
      expect(e.messageNormalized).toBe(maskMessage(e.message));
    });
    // by signature (postings for 1–24, the tail for 25–30), newest first, paged, by connector
    const links = store.listEvents({ signatureKey: 'bbbb' }).map((e) => e.id);
    expect(links).toEqual([30, 27, 24, 21, 18, 15, 12, 9, 6, 3]);
    expect(store.listEvents({ signatureKey: 'bbbb', beforeId: 24, limit: 3 }).map((e) => e.id)).toEqual([21, 18, 15]);
    expect(store.listEvents({ signatureKey: 'bbbb', connector: 'files' }).map((e) => e.id)).toEqual([27, 21, 15, 9, 3]);
    expect(store.listEvents({ connector: 'other', limit: 2 }).map((e) => e.id)).toEqual([30, 28]);
    // the events after aggregated_through were folded in at open: postings now cover all of them
    expect(store.db.prepare('SELECT count(*) FROM signature_events').pluck().get()).toBeGreaterThan(0);
    expect(store.recentEventIds('aaaa', 3)).toEqual([29, 28, 26]);
    store.close();
  });
});
