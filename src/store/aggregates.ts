// The hot aggregates (design.md §6): per-signature counts, hourly buckets and hosts, plus the
// signal aggregates (activity per host and 5-minute slot, failure/recovery state changes per
// minute), and the per-signature event postings (signature_events: which events a signature has).
// The writer folds each batch into an Aggregates object in memory and applies it in one go: one
// upsert per distinct key per flush, so the cost follows the number of distinct keys, not the
// event rate.
import type { StoredEvent } from '../pipeline/event.js';
import { severityRank } from '../pipeline/classify.js';
import { eventStateChange, textStateChange, type StateChange } from '../signals/state.js';
import { NO_CHANGE, REF, REF_W, type EncodedBatch } from './batch-codec.js';
import { writePostings } from './postings.js';
import type { SqliteStore } from './sqlite.js';

export const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/**
 * signature_slots is kept in 5-minute slots (the `minute` column holds the slot's first minute):
 * its counts follow hosts × signatures × time, and at minute resolution a busy fleet would count
 * about one per event. Precursor pairing works in horizons of tens of minutes, so 5 is enough.
 */
export const ACTIVITY_SLOT_MINUTES = 5;

/** SQL function the writer's connection defines: `addCountTuples(old, new)` of two JSON count-tuple lists. */
export const ADD_COUNT_TUPLES = 'brainstem_add_count_tuples';

/**
 * Two JSON lists of count tuples (`[...key, count]`) added up: a tuple of the second list adds its
 * count to the first list's tuple with the same key, or is appended. What signature_slots and
 * state_minutes do when a row they upsert is already there.
 */
export function addCountTuples(a: string, b: string): string {
  const out = JSON.parse(a) as Array<Array<string | number>>;
  const at = new Map<string, Array<string | number>>();
  for (const t of out) at.set(JSON.stringify(t.slice(0, -1)), t);
  for (const t of JSON.parse(b) as Array<Array<string | number>>) {
    const key = JSON.stringify(t.slice(0, -1));
    const mine = at.get(key);
    if (mine) (mine[mine.length - 1] as number) += t[t.length - 1] as number;
    else {
      at.set(key, t);
      out.push(t);
    }
  }
  return JSON.stringify(out);
}

interface Span { n: number; min: number; max: number }

/** Everything folded in for one signature. Nested maps keyed by the parts (no per-event string keys). */
interface SigAgg extends Span {
  sev: number;
  buckets: Map<number, number>;
  hosts: Map<string, Span>;
  /** slot → host → count ('' for events without a host) */
  slots: Map<number, Map<string, number>>;
  /** The slot of the last event folded in and its hosts (events come in time order: one lookup saved). */
  lastSlot: number;
  lastSlotHosts: Map<string, number> | undefined;
  /** minute → host → subject → count by polarity (index 1–3) */
  changes: Map<number, Map<string, Map<string, number[]>>>;
  /** Ids of the events folded in (the signature_events postings), ascending. */
  ids: number[];
}

export class Aggregates {
  private sigs = new Map<string, SigAgg>();
  /** Events folded in since the last apply. */
  events = 0;
  /** Highest event id folded in. */
  throughId = 0;

  /**
   * Fold in a committed batch whose events got ids firstId, firstId + 1, …; `raw`: its raw texts,
   * as the writer read them from the batch's column.
   */
  addEncoded(b: EncodedBatch, firstId: number, raw: ReadonlyArray<string | null>): void {
    const { refs, dict, ts, offset, extras } = b;
    // per dictionary entry, resolved when first met: severity rank, signature aggregate
    const sevRanks = new Int8Array(dict.length).fill(-1);
    const sigOf: Array<SigAgg | undefined> = new Array(dict.length);
    const noSeverity = severityRank(undefined);
    let next = 0;
    let x = 0;
    for (let i = 0; i < b.n; i++) {
      const r = i * REF_W;
      const host = refs[r + REF.host]!;
      const sev = refs[r + REF.severity]!;
      let rank = noSeverity;
      if (sev >= 0) {
        rank = sevRanks[sev]!;
        if (rank < 0) rank = sevRanks[sev] = severityRank(dict[sev]);
      }
      let change: StateChange | null;
      let body: string | undefined;
      if (x < extras.at.length && extras.at[x] === i) body = extras.body[x++] ?? undefined;
      if (next < b.states.length && b.states[next]![0] === i) {
        const [, subject, polarity] = b.states[next++]!;
        change = polarity === NO_CHANGE ? null : { subject, polarity };
      } else {
        // detected here rather than on the parsing thread, the busier one
        change = textStateChange(body ?? raw[i]!.slice(offset[i]!)) ?? null;
      }
      const sk = refs[r + REF.signature]!;
      const s = sigOf[sk] ?? (sigOf[sk] = this.sig(dict[sk]!, ts[i]!, rank));
      this.fold(s, ts[i]!, rank, host < 0 ? '' : dict[host]!, change, firstId + i);
    }
    this.events += b.n;
    if (b.n > 0 && firstId + b.n - 1 > this.throughId) this.throughId = firstId + b.n - 1;
  }

  /** Fold in events read back from the store (crash recovery). */
  addStored(events: readonly StoredEvent[]): void {
    for (const e of events) {
      const sev = severityRank(e.severity);
      this.fold(this.sig(e.signatureKey, e.ts, sev), e.ts, sev, e.host ?? '', eventStateChange(e), e.id);
      if (e.id > this.throughId) this.throughId = e.id;
    }
    this.events += events.length;
  }

  private sig(key: string, ts: number, sev: number): SigAgg {
    let s = this.sigs.get(key);
    if (!s) {
      s = {
        n: 0, min: ts, max: ts, sev, buckets: new Map(), hosts: new Map(), slots: new Map(), lastSlot: NaN,
        lastSlotHosts: undefined, changes: new Map(), ids: [],
      };
      this.sigs.set(key, s);
    }
    return s;
  }

  private fold(s: SigAgg, ts: number, sev: number, host: string, change: StateChange | null, id: number): void {
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
    let perHost = s.lastSlotHosts;
    if (slot !== s.lastSlot || !perHost) {
      perHost = s.slots.get(slot);
      if (!perHost) s.slots.set(slot, (perHost = new Map()));
      s.lastSlot = slot;
      s.lastSlotHosts = perHost;
    }
    perHost.set(host, (perHost.get(host) ?? 0) + 1);
    if (change) {
      // nested by part, not one joined key: hosts and subjects may contain any character
      let byHost = s.changes.get(minute);
      if (!byHost) s.changes.set(minute, (byHost = new Map()));
      let bySubject = byHost.get(host);
      if (!bySubject) byHost.set(host, (bySubject = new Map()));
      let counts = bySubject.get(change.subject);
      if (!counts) bySubject.set(change.subject, (counts = [0, 0, 0, 0]));
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
    const posting = store.stmt('INSERT OR REPLACE INTO signature_events (signature_id, first_id, last_id, ids) VALUES (?, ?, ?, ?)');
    const slotUp = store.stmt(`INSERT INTO signature_slots (minute, signature_key, hosts) VALUES (?, ?, ?)
      ON CONFLICT(minute, signature_key) DO UPDATE SET hosts = ${ADD_COUNT_TUPLES}(hosts, excluded.hosts)`);
    const changeUp = store.stmt(`INSERT INTO state_minutes (minute, signature_key, changes) VALUES (?, ?, ?)
      ON CONFLICT(minute, signature_key) DO UPDATE SET changes = ${ADD_COUNT_TUPLES}(changes, excluded.changes)`);
    // in key order, the order of the tables keyed by signature first
    for (const k of [...this.sigs.keys()].sort()) {
      const s = this.sigs.get(k)!;
      sigAgg.run(s.n, s.min, s.min, s.max, s.max, s.sev, s.sev, k);
      writePostings(posting, store.signatureId(k), s.ids);
      for (const [bucket, n] of s.buckets) bucketUp.run(k, bucket, n);
      for (const [host, h] of s.hosts) hostUp.run(k, host, h.n, h.min, h.max);
      // the count tuples: [host, count] and [host, subject, polarity, count]
      for (const [slot, perHost] of s.slots) slotUp.run(slot, k, JSON.stringify([...perHost]));
      for (const [minute, byHost] of s.changes) {
        const tuples: Array<[string, string, number, number]> = [];
        for (const [host, bySubject] of byHost) {
          for (const [subject, counts] of bySubject) {
            for (let polarity = 1; polarity < counts.length; polarity++) {
              if (counts[polarity]! > 0) tuples.push([host, subject, polarity, counts[polarity]!]);
            }
          }
        }
        if (tuples.length > 0) changeUp.run(minute, k, JSON.stringify(tuples));
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
