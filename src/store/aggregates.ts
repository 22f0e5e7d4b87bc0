// The hot aggregates (design.md §6): per-signature counts, hourly buckets and hosts, plus the
// signal aggregates (per-minute activity per host, failure/recovery transitions), and the
// per-signature event postings (signature_events: which events a signature has). The writer
// folds each batch into an Aggregates object in memory and applies it in one go: one upsert per
// distinct key per flush, so the cost follows the number of distinct keys, not the event rate.
import type { StoredEvent } from '../pipeline/event.js';
import { severityRank } from '../pipeline/classify.js';
import { eventStateChange, type StateChange } from '../signals/state.js';
import { REF, REF_W, type EncodedBatch } from './batch-codec.js';
import { writePostings } from './postings.js';
import type { SqliteStore } from './sqlite.js';

export const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/**
 * signature_minutes is kept in 5-minute slots (the `minute` column holds the slot's first minute):
 * its rows follow hosts × signatures × time, and at minute resolution a busy fleet would write
 * about one row per event. Precursor pairing works in horizons of tens of minutes, so 5 is enough.
 */
export const ACTIVITY_SLOT_MINUTES = 5;

interface Span { n: number; min: number; max: number }

/** Everything folded in for one signature. Nested maps keyed by the parts (no per-event string keys). */
interface SigAgg extends Span {
  sev: number;
  buckets: Map<number, number>;
  hosts: Map<string, Span>;
  /** minute → host → count */
  minutes: Map<number, Map<string, number>>;
  /** subject → host → minute → count by polarity (index 1–3) */
  transitions: Map<string, Map<string, Map<number, number[]>>>;
  /** Ids of the events folded in (the signature_events postings), ascending. */
  ids: number[];
}

export class Aggregates {
  private sigs = new Map<string, SigAgg>();
  /** Events folded in since the last apply. */
  events = 0;
  /** Highest event id folded in. */
  throughId = 0;

  /** Fold in a committed batch whose events got ids firstId, firstId + 1, … */
  addEncoded(b: EncodedBatch, firstId: number): void {
    const { refs, dict, ts } = b;
    const sevRanks = dict.map((s) => severityRank(s));
    let next = 0;
    for (let i = 0; i < b.n; i++) {
      const r = i * REF_W;
      const host = refs[r + REF.host]!;
      const sev = refs[r + REF.severity]!;
      let change: StateChange | null = null;
      if (next < b.states.length && b.states[next]![0] === i) {
        const [, subject, polarity] = b.states[next++]!;
        change = { subject, polarity };
      }
      this.fold(dict[refs[r + REF.signature]!]!, ts[i]!, sev < 0 ? severityRank(undefined) : sevRanks[sev]!, host < 0 ? '' : dict[host]!, change, firstId + i);
    }
    this.events += b.n;
    if (b.n > 0 && firstId + b.n - 1 > this.throughId) this.throughId = firstId + b.n - 1;
  }

  /** Fold in events read back from the store (crash recovery). */
  addStored(events: readonly StoredEvent[]): void {
    for (const e of events) {
      this.fold(e.signatureKey, e.ts, severityRank(e.severity), e.host ?? '', eventStateChange(e), e.id);
      if (e.id > this.throughId) this.throughId = e.id;
    }
    this.events += events.length;
  }

  private fold(key: string, ts: number, sev: number, host: string, change: StateChange | null, id: number): void {
    let s = this.sigs.get(key);
    if (!s) {
      s = { n: 0, min: ts, max: ts, sev, buckets: new Map(), hosts: new Map(), minutes: new Map(), transitions: new Map(), ids: [] };
      this.sigs.set(key, s);
    }
    s.n++;
    s.ids.push(id);
    if (ts < s.min) s.min = ts;
    if (ts > s.max) s.max = ts;
    if (sev < s.sev) s.sev = sev;
    const bucket = Math.floor(ts / HOUR_MS);
    s.buckets.set(bucket, (s.buckets.get(bucket) ?? 0) + 1);
    if (host) {
      const h = s.hosts.get(host);
      if (h) {
        h.n++;
        if (ts < h.min) h.min = ts;
        if (ts > h.max) h.max = ts;
      } else s.hosts.set(host, { n: 1, min: ts, max: ts });
    }
    const minute = Math.floor(ts / MINUTE_MS);
    const slot = minute - (minute % ACTIVITY_SLOT_MINUTES);
    let perHost = s.minutes.get(slot);
    if (!perHost) s.minutes.set(slot, (perHost = new Map()));
    perHost.set(host, (perHost.get(host) ?? 0) + 1);
    if (change) {
      // nested by part, not one joined key: hosts and subjects may contain any character
      let byHost = s.transitions.get(change.subject);
      if (!byHost) s.transitions.set(change.subject, (byHost = new Map()));
      let byMinute = byHost.get(host);
      if (!byMinute) byHost.set(host, (byMinute = new Map()));
      let counts = byMinute.get(minute);
      if (!counts) byMinute.set(minute, (counts = [0, 0, 0, 0]));
      counts[change.polarity]!++;
    }
  }

  /** Write everything folded in (inside the caller's transaction); `clear()` once it committed. */
  write(store: SqliteStore): void {
    const sigAgg = store.stmt(`UPDATE signatures SET occurrence_count = occurrence_count + ?,
      first_seen = min(coalesce(first_seen, ?), ?), last_seen = max(coalesce(last_seen, ?), ?),
      min_severity = min(coalesce(min_severity, ?), ?) WHERE signature_key = ?`);
    const bucketUp = store.stmt(`INSERT INTO signature_buckets (signature_key, bucket, count) VALUES (?, ?, ?)
      ON CONFLICT(signature_key, bucket) DO UPDATE SET count = count + excluded.count`);
    const hostUp = store.stmt(`INSERT INTO signature_hosts (signature_key, host, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(signature_key, host) DO UPDATE SET count = count + excluded.count,
      first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`);
    const minuteUp = store.stmt(`INSERT INTO signature_minutes (minute, host, signature_key, count) VALUES (?, ?, ?, ?)
      ON CONFLICT(minute, host, signature_key) DO UPDATE SET count = count + excluded.count`);
    const posting = store.stmt('INSERT OR REPLACE INTO signature_events (signature_id, first_id, last_id, ids) VALUES (?, ?, ?, ?)');
    const transUp = store.stmt(`INSERT INTO state_transitions (minute, host, subject, signature_key, polarity, count)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(minute, host, subject, signature_key, polarity) DO UPDATE SET count = count + excluded.count`);
    for (const [k, s] of this.sigs) {
      sigAgg.run(s.n, s.min, s.min, s.max, s.max, s.sev, s.sev, k);
      writePostings(posting, store.signatureId(k), s.ids);
      for (const [bucket, n] of s.buckets) bucketUp.run(k, bucket, n);
      for (const [host, h] of s.hosts) hostUp.run(k, host, h.n, h.min, h.max);
      for (const [minute, perHost] of s.minutes) for (const [host, n] of perHost) minuteUp.run(minute, host, k, n);
      for (const [subject, byHost] of s.transitions) {
        for (const [host, byMinute] of byHost) {
          for (const [minute, counts] of byMinute) {
            for (let polarity = 1; polarity < counts.length; polarity++) {
              if (counts[polarity]! > 0) transUp.run(minute, host, subject, k, polarity, counts[polarity]);
            }
          }
        }
      }
    }
    store.stmt(`INSERT INTO store_meta (key, value) VALUES ('aggregated_through', ?)
      ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), excluded.value)`).run(this.throughId);
  }

  clear(): void {
    this.sigs.clear();
    this.events = 0;
  }
}
