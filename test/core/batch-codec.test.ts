// The columnar form a batch crosses to the writer thread in, and the lean row it is stored as,
// must give back every field of every event exactly: nulls, empty strings, non-ASCII text,
// bodies that are not a suffix, and what the row leaves out to be re-derived from the raw text.
import { describe, expect, it } from 'vitest';
import { canonicalize, DERIVED } from '../../src/pipeline/canonicalize.js';
import type { CanonicalEvent } from '../../src/pipeline/event.js';
import { encodeBatch, readTextColumn, TextColumnBuilder } from '../../src/store/batch-codec.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { WriteBatch } from '../../src/store/types.js';

const NOW = Date.UTC(2026, 11, 3, 12);
const ctx = { connector: 'files', tenantId: 't', sourceType: 'file', now: NOW, utc: true };
const prepared = (env: Parameters<typeof canonicalize>[0], key: string): CanonicalEvent =>
  ({ ...canonicalize(env, ctx).event, signatureKey: key }) as CanonicalEvent;

const FIELDS = ['tenantId', 'connector', 'sourceType', 'host', 'service', 'severity', 'facility', 'assetId', 'sourcePath',
  'messageRaw', 'message', 'messageNormalized', 'signatureKey', 'parseError', 'ts', 'receivedAt',
  'structuredFields', 'correlationKeys', 'metadata', 'ingestMetadata'] as const;

describe('batch codec and the stored row', () => {
  it('gives back every field of every event after crossing to the writer and the store', () => {
    const events = [
      // a syslog header: host, service, pid, original timestamp and an inferred severity are derived
      prepared({ messageRaw: 'Dec  3 10:00:00 h1 sshd[7]: ERROR Accepted publickey for root from 10.0.0.1', sourcePath: '/var/log/auth.log', messageFormat: 'syslog' }, 'k1'),
      // the connector's own structured fields beside a header pid
      prepared({ messageRaw: 'Dec  3 10:00:01 h1 app[9]: queue 5 full', structuredFields: { queue: 'q1' }, messageFormat: 'syslog' }, 'k1'),
      // a body that is not a suffix of the raw text, empty host, non-ASCII and astral characters, a parse error
      prepared({ messageRaw: '{"msg":"ü 🚀"}', message: 'ü 🚀', host: '', parseError: 'bad ts',
        metadata: { alert_state: 'active' }, correlationKeys: { device: 'r1' }, timestamp: '2026-12-03T11:00:00+01:00' }, 'k2'),
      prepared({ messageRaw: 'tunnel vpn-3 is down', facility: 'daemon', assetId: 'a-1', severity: 'warning', tenantId: 't2', sourceType: 'syslog' }, 'k2'),
    ];
    expect(events[0]!.derived).toBe(DERIVED.pid | DERIVED.originalTimestamp | DERIVED.severityInferred);
    expect(events[0]!.fieldsJson).toBeNull(); // nothing left to store as JSON
    const batch: WriteBatch = {
      events,
      signatures: ['k1', 'k2'].map((key) => ({ key, service: '', template: key, firstTemplate: key, family: 'generic' })),
      checkpoints: [{ connector: 'files', checkpoint: { offset: 5 } }], counts: [],
    };
    const store = new SqliteStore(':memory:');
    const { firstId, lastId } = store.writeEncoded(structuredClone(encodeBatch(batch)));
    expect(lastId - firstId).toBe(3);
    const back = store.listEvents({ ascending: true });
    expect(back).toHaveLength(4);
    back.forEach((got, i) => {
      const want = events[i]!;
      for (const k of FIELDS) expect(got[k], `${k} of event ${i}`).toEqual(want[k]);
      expect(got.id).toBe(firstId + i);
      expect(got.timestamp).toBe(new Date(want.ts).toISOString());
    });
    expect(store.loadCheckpoint('files')).toEqual({ offset: 5 });
    // events by signature, through the postings and the not-yet-applied tail alike
    expect(store.listEvents({ signatureKey: 'k2' }).map((e) => e.id)).toEqual([firstId + 3, firstId + 2]);
    expect(store.listEvents({ signatureKey: 'k1', connector: 'files', limit: 1 }).map((e) => e.id)).toEqual([firstId + 1]);
    store.close();
  });

  it('decides alert and connector-set state changes on the encoding side; the writer reads the text of the rest', () => {
    const alert = prepared({
      messageRaw: 'CPU busy on db-1', metadata: { alert_state: 'active' }, correlationKeys: { device: 'db-1', datapoint: 'cpu', alert_id: 'LMA1' },
    }, 'k');
    const quiet = { ...prepared({ messageRaw: 'link eth0 down (set by the connector: no change)' }, 'k'), stateChange: null };
    const events = [prepared({ messageRaw: 'tunnel vpn-3 is down' }, 'k'), alert, quiet, prepared({ messageRaw: 'hello' }, 'k')];
    const enc = encodeBatch({ events, signatures: [{ key: 'k', service: '', template: 'k', firstTemplate: 'k', family: 'generic' }], checkpoints: [], counts: [] });
    expect(enc.states).toEqual([[1, 'lm:datapoint=cpu,device=db-1', 1], [2, '', 0]]);
    expect(enc.dict.filter((s) => s === 'k')).toHaveLength(1); // a repeated string crosses once
    // the writer folds in the alert's change and the one the first event's text states, nothing for the others
    const store = new SqliteStore(':memory:');
    store.writeEncoded(structuredClone(enc));
    store.flushAggregates();
    const changes = store.db.prepare(`SELECT c.value ->> 1 AS subject, c.value ->> 2 AS polarity FROM state_minutes, json_each(changes) c
      ORDER BY subject`).all();
    expect(changes).toEqual([{ subject: 'lm:datapoint=cpu,device=db-1', polarity: 1 }, { subject: 'tunnelvpn', polarity: 1 }]);
    store.close();
  });

  it('a text column gives back each string exactly: nulls, empty, non-ASCII, astral, NUL, and past its first buffer', () => {
    const strings: Array<string | null> = ['', null, 'plain', 'ü ß 日本', '🚀 x', 'a\u0000b', null, ''];
    for (let i = 0; i < 300; i++) strings.push(i % 7 === 0 ? null : `line ${i} ${'é'.repeat(i % 50)} ${'z'.repeat(i)}`);
    const b = new TextColumnBuilder(4, { bytesPerSlot: 8 });
    for (const s of strings) b.push(s);
    const col = b.finish();
    expect(col.ends).toHaveLength(strings.length);
    expect(readTextColumn(structuredClone(col))).toEqual(strings);
    // the bytes are exactly the UTF-8 of the strings, nothing else
    expect(col.bytes.byteLength).toBe(strings.reduce((n, s) => n + (s === null ? 0 : Buffer.byteLength(s)), 0));
  });

  it('metadata shared by many events is stored once, read back with each, and deleted with the last of them', () => {
    const connA = Object.freeze({ sender: '192.0.2.1', sender_port: 40001, protocol: 'tcp' });
    const connB = Object.freeze({ sender: '192.0.2.2', sender_port: 40002, protocol: 'tcp' });
    const own = { sender: '192.0.2.3', sender_port: 5, protocol: 'udp' };
    const ev = (i: number, metadata: Record<string, unknown>) => prepared({ messageRaw: `line ${i}`, metadata }, 'k');
    const store = new SqliteStore(':memory:');
    const write = (events: CanonicalEvent[]) => store.writeEncoded(structuredClone(encodeBatch({
      events, signatures: [{ key: 'k', service: '', template: 'k', firstTemplate: 'k', family: 'generic' }], checkpoints: [], counts: [],
    })));
    write([ev(1, connA), ev(2, connB), ev(3, own), ev(4, connA)]);
    write([ev(5, connA), ev(6, connA)]);
    const rows = store.db.prepare('SELECT json FROM event_metadata ORDER BY id').pluck().all();
    expect(rows).toEqual([JSON.stringify(connA), JSON.stringify(connB)]);
    // an event's own metadata stays in its fields; a shared one is not repeated there
    expect(store.db.prepare('SELECT count(*) FROM events WHERE fields LIKE \'%sender%\'').pluck().get()).toBe(1);
    const back = store.listEvents({ ascending: true });
    expect(back.map((e) => e.metadata)).toEqual([connA, connB, own, connA, connA, connA]);
    // retention: connB's only event goes, then everything but the newest (connA's)
    expect(store.deleteOldestEvents(2)).toBe(2);
    expect(store.db.prepare('SELECT json FROM event_metadata').pluck().all()).toEqual([JSON.stringify(connA)]);
    expect(store.deleteOldestEvents(10)).toBe(3);
    expect(store.listEvents({}).map((e) => e.metadata)).toEqual([connA]);
    expect(store.db.prepare('SELECT count(*) FROM event_metadata').pluck().get()).toBe(1);
    store.close();
  });
});
