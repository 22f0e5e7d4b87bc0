// Reads of the signal aggregates (signature_minutes, state_transitions) that scoring needs.
// Stores opened read-only before migration 2 lack the tables: they read as empty.
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
      AND name IN ('signature_minutes', 'state_transitions')`).get() as { n: number };
    v = row.n === 2;
    hasTables.set(store, v);
  }
  return v;
}

/** Per-minute activity of every signature on every host in [fromMinute, toMinute], by host then minute. */
export function minuteActivity(store: SqliteStore, fromMinute: number, toMinute: number): MinuteRow[] {
  if (!hasSignalAggregates(store)) return [];
  return store.stmt('SELECT minute, host, signature_key, count FROM signature_minutes WHERE minute BETWEEN ? AND ? ORDER BY host, minute')
    .all(fromMinute, toMinute) as MinuteRow[];
}

/** Failure/recovery state changes in [fromMinute, toMinute], by host, subject, minute. */
export function stateTransitions(store: SqliteStore, fromMinute: number, toMinute: number): TransitionRow[] {
  if (!hasSignalAggregates(store)) return [];
  return store.stmt(`SELECT minute, host, subject, signature_key, polarity, count FROM state_transitions
    WHERE minute BETWEEN ? AND ? ORDER BY host, subject, minute, polarity`).all(fromMinute, toMinute) as TransitionRow[];
}
