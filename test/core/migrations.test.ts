// A store written by an earlier version opens with its events intact: migration 5 moves events
// to the lean row (sources as one id, no stored masked text) and builds the per-signature postings
// that replace the index on events(signature_id); migration 6 folds the signal aggregates' rows per
// host into one row per minute and signature without changing what scoring reads; migration 7
// keeps metadata shared by many events once, while older rows keep theirs in `fields`.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { maskMessage } from '../../src/pipeline/mask.js';
import { minuteActivity, stateTransitions } from '../../src/signals/history.js';
import { addCountTuples } from '../../src/store/aggregates.js';
import { encodeBatch } from '../../src/store/batch-codec.js';

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

  it('moves a version-5 store\'s signal aggregates to one row per minute and signature, counts unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-migrate-'));
    dirs.push(dir);
    const path = join(dir, 'v5.db');
    const db = new Database(path);
    for (const m of MIGRATIONS.filter((m) => m.version <= 5)) db.exec(m.sql);
    db.pragma('user_version = 5');
    const minutes: Array<[number, string, string, number]> = [
      [100, 'h1', 'aaaa', 3], [100, 'h2', 'aaaa', 1], [100, '', 'aaaa', 2], [100, 'h1', 'bbbb', 7],
      [105, 'odd\u0000"host"', 'aaaa', 4], [105, '__proto__', 'bbbb', 5],
    ];
    const insMinute = db.prepare('INSERT INTO signature_minutes (minute, host, signature_key, count) VALUES (?, ?, ?, ?)');
    for (const r of minutes) insMinute.run(...r);
    const transitions: Array<[number, string, string, string, number, number]> = [
      [101, 'h1', 'eth0', 'bbbb', 1, 2], [101, 'h1', 'eth0', 'bbbb', 2, 1], [101, 'h2', 'tun "x"', 'bbbb', 1, 1], [102, 'h1', 'eth0', 'aaaa', 3, 6],
    ];
    const insTransition = db.prepare('INSERT INTO state_transitions (minute, host, subject, signature_key, polarity, count) VALUES (?, ?, ?, ?, ?, ?)');
    for (const r of transitions) insTransition.run(...r);
    db.close();

    const store = new SqliteStore(path);
    expect(store.schemaVersion).toBe(MIGRATIONS.at(-1)!.version);
    // 6 and 4 rows became 4 and 2
    expect(store.db.prepare('SELECT count(*) FROM signature_slots').pluck().get()).toBe(4);
    expect(store.db.prepare('SELECT count(*) FROM state_minutes').pluck().get()).toBe(2);
    const byKey = <T extends unknown[]>(rows: T[]) => rows.map((r) => JSON.stringify(r)).sort();
    expect(byKey(minuteActivity(store, 0, 1000).map((r) => [r.minute, r.host, r.signature_key, r.count])))
      .toEqual(byKey(minutes.map((r) => [r[0], r[1], r[2], r[3]])));
    expect(byKey(stateTransitions(store, 0, 1000).map((r) => [r.minute, r.host, r.subject, r.signature_key, r.polarity, r.count])))
      .toEqual(byKey(transitions));
    // read back in the order scoring walks them: by host, then minute
    const hosts = minuteActivity(store, 0, 1000).map((r) => `${r.host}@${r.minute}`);
    expect(hosts).toEqual([...hosts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    store.close();
  });

  it('adds count tuples by key, keeping keys of any text', () => {
    expect(JSON.parse(addCountTuples('[["h1",2],["__proto__",1]]', '[["h1",3],["h\\u0000",1],["__proto__",4]]')))
      .toEqual([['h1', 5], ['__proto__', 5], ['h\u0000', 1]]);
    expect(JSON.parse(addCountTuples('[["h","eth0",1,2]]', '[["h","eth0",2,1],["h","eth0",1,1]]')))
      .toEqual([['h', 'eth0', 1, 3], ['h', 'eth0', 2, 1]]);
  });

  it('reads a version-6 event\'s metadata from its fields, and a new event\'s shared metadata from event_metadata', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-migrate-'));
    dirs.push(dir);
    const path = join(dir, 'v6.db');
    const db = new Database(path);
    for (const m of MIGRATIONS.filter((m) => m.version <= 6)) db.exec(m.sql);
    db.pragma('user_version = 6');
    db.prepare(`INSERT INTO signatures (id, signature_key, template, first_template, event_family) VALUES (1, 'aaaa', 'hello', 'hello', 'generic')`).run();
    db.prepare(`INSERT INTO event_sources (id, tenant_id, connector, source_type, source_path) VALUES (1, 't', 'sys', 'syslog', '')`).run();
    const old = { sender: '192.0.2.9', sender_port: 601, protocol: 'tcp', format: 'rfc3164' };
    db.prepare(`INSERT INTO events (ts, received_at, source_id, host, message_raw, message_offset, signature_id, fields, derived)
      VALUES (1, 1, 1, 'h', 'hello', 0, 1, ?, 0)`).run(JSON.stringify({ metadata: old, ingest_metadata: {} }));
    db.close();
    const store = new SqliteStore(path);
    expect(store.schemaVersion).toBe(7);
    const shared = Object.freeze({ sender: '192.0.2.9', sender_port: 602, protocol: 'tcp', format: 'rfc3164' });
    store.writeEncoded(encodeBatch({
      events: [{ tenantId: 't', connector: 'sys', sourceType: 'syslog', ts: 2, receivedAt: 2, messageRaw: 'hello', message: 'hello',
        messageNormalized: 'hello', signatureKey: 'aaaa', metadata: shared, ingestMetadata: {} }],
      signatures: [], checkpoints: [], counts: [],
    }));
    expect(store.listEvents({ ascending: true }).map((e) => e.metadata)).toEqual([old, shared]);
    store.close();
  });
});
