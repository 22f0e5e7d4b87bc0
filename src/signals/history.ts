// Reads of the signal aggregates that scoring needs: per-slot activity of each signature on each
// host (signature_slots) and failure/recovery state changes (state_minutes), stored as one row per
// minute and signature with the per-host counts as JSON tuples (migration 6), read through the
// views that expand them (signature_host_slots, state_changes).
// Stores opened read-only before migration 6 lack the tables: they read as empty.
import type { SqliteStore } from '../store/sqlite.js';

export const MINUTE_MS = 60_000;

export interface MinuteRow {
  minute: number;
  host: string;
  signature_key: string;
  count: number;
}

export interface TransitionRow {
  minute: number;
  host: string;
  subject: string;
  signature_key: string;
  polarity: number;
  count: number;
}

const hasTables = new WeakMap<SqliteStore, boolean>();

export function hasSignalAggregates(store: SqliteStore): boolean {
  let v = hasTables.get(store);
  if (v === undefined) {
    const row = store.stmt(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'
      AND name IN ('signature_slots', 'state_minutes')`).get() as { n: number };
    v = row.n === 2;
    hasTables.set(store, v);
  }
  return v;
}

/** Per-minute activity of every signature on every host in [fromMinute, toMinute], by host then minute. */
export function minuteActivity(store: SqliteStore, fromMinute: number, toMinute: number): MinuteRow[] {
  if (!hasSignalAggregates(store)) return [];
  return store.stmt('SELECT minute, host, signature_key, count FROM signature_host_slots WHERE minute BETWEEN ? AND ? ORDER BY host, minute')
    .all(fromMinute, toMinute) as MinuteRow[];
}

/** Failure/recovery state changes in [fromMinute, toMinute], by host, subject, minute. */
export function stateTransitions(store: SqliteStore, fromMinute: number, toMinute: number): TransitionRow[] {
  if (!hasSignalAggregates(store)) return [];
  return store.stmt(`SELECT minute, host, subject, signature_key, polarity, count FROM state_changes
    WHERE minute BETWEEN ? AND ? ORDER BY host, subject, minute, polarity`).all(fromMinute, toMinute) as TransitionRow[];
}
