// Signal aggregates maintained on write, inside the batch's transaction: per-minute signature
// activity per host, and failure/recovery state changes per subject. Aggregated per batch in a
// Map, then one upsert per distinct key, so the per-line cost is a Map update (and a regex).
import type { CanonicalEvent } from '../pipeline/event.js';
import { detectStateChange } from '../signals/state.js';
import type { SqliteStore } from './sqlite.js';

const MINUTE_MS = 60_000;
const SEP = '\u0000';

export function updateSignalAggregates(store: SqliteStore, events: CanonicalEvent[]): void {
  const minutes = new Map<string, number>();
  const transitions = new Map<string, number>();
  for (const e of events) {
    const minute = Math.floor(e.ts / MINUTE_MS);
    const host = e.host ?? '';
    const mk = `${minute}${SEP}${host}${SEP}${e.signatureKey}`;
    minutes.set(mk, (minutes.get(mk) ?? 0) + 1);
    const change = detectStateChange(e.message, e.metadata, e.correlationKeys);
    if (change) {
      const tk = `${minute}${SEP}${host}${SEP}${change.subject}${SEP}${e.signatureKey}${SEP}${change.polarity}`;
      transitions.set(tk, (transitions.get(tk) ?? 0) + 1);
    }
  }
  const minuteUp = store.stmt(`INSERT INTO signature_minutes (minute, host, signature_key, count) VALUES (?, ?, ?, ?)
    ON CONFLICT(minute, host, signature_key) DO UPDATE SET count = count + excluded.count`);
  for (const [k, n] of minutes) {
    const [minute, host, key] = k.split(SEP) as [string, string, string];
    minuteUp.run(Number(minute), host, key, n);
  }
  if (transitions.size === 0) return;
  const transUp = store.stmt(`INSERT INTO state_transitions (minute, host, subject, signature_key, polarity, count)
    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(minute, host, subject, signature_key, polarity) DO UPDATE SET count = count + excluded.count`);
  for (const [k, n] of transitions) {
    const [minute, host, subject, key, polarity] = k.split(SEP) as [string, string, string, string, string];
    transUp.run(Number(minute), host, subject, key, Number(polarity), n);
  }
}
