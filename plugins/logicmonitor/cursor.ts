// The incremental poll cursor (pure). Per stream — alerts raised (by startEpoch) and alerts
// cleared (by endEpoch) — a time watermark in Unix seconds plus the ids already emitted inside
// the overlap window. It is the connector's checkpoint, committed with each page's events, so a
// restart resumes exactly there: the overlap re-reads late-stamped alerts, the ids drop repeats.
import type { Alert } from './envelope.js';

export interface StreamCursor {
  /** Every alert whose epoch is below this (seconds) has been emitted. */
  watermark: number;
  /** Emitted alert id → its epoch (s), for ids with epoch ≥ watermark − overlap. */
  seen: Record<string, number>;
}

export type StreamKind = 'raised' | 'cleared';

export interface LogicMonitorCheckpoint {
  v: 1;
  raised: StreamCursor;
  cleared: StreamCursor;
}

/** The alert field a stream's window and order are on. */
export const EPOCH_FIELD: Record<StreamKind, 'startEpoch' | 'endEpoch'> = { raised: 'startEpoch', cleared: 'endEpoch' };

/**
 * The first run's cursor: the first window starts exactly `lookback` ago. (The watermark sits
 * one overlap later because every window starts an overlap before the watermark.)
 */
export function initialCheckpoint(nowMs: number, lookbackMs: number, overlapMs = 0): LogicMonitorCheckpoint {
  const watermark = Math.floor((nowMs - lookbackMs) / 1000) + Math.ceil(overlapMs / 1000);
  return { v: 1, raised: { watermark, seen: {} }, cleared: { watermark, seen: {} } };
}

function isStream(v: unknown): v is StreamCursor {
  if (!v || typeof v !== 'object') return false;
  const s = v as StreamCursor;
  return Number.isFinite(s.watermark) && !!s.seen && typeof s.seen === 'object'
    && Object.values(s.seen).every((e) => Number.isFinite(e));
}

/** A committed checkpoint, or undefined when there is none or it is not ours (then start afresh). */
export function restoreCheckpoint(value: unknown): LogicMonitorCheckpoint | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const c = value as LogicMonitorCheckpoint;
  if (c.v !== 1 || !isStream(c.raised) || !isStream(c.cleared)) return undefined;
  return { v: 1, raised: { watermark: c.raised.watermark, seen: { ...c.raised.seen } }, cleared: { watermark: c.cleared.watermark, seen: { ...c.cleared.seen } } };
}

/** Drop ids that fell out of the overlap window; they can no longer come back in a query. */
function prune(seen: Record<string, number>, floor: number): Record<string, number> {
  const kept: Record<string, number> = {};
  for (const id in seen) if (seen[id]! >= floor) kept[id] = seen[id]!;
  return kept;
}

/**
 * Take one page (sorted by the stream's epoch, ascending): returns the alerts not emitted yet
 * and the cursor that is true once they are stored. The watermark moves to the page's largest
 * epoch — alerts sharing that second on the next page are still re-read (from = watermark −
 * overlap ≤ watermark) and recognised by id.
 */
export function acceptPage(cursor: StreamCursor, items: Alert[], kind: StreamKind, overlapSec: number): { fresh: Alert[]; cursor: StreamCursor } {
  const field = EPOCH_FIELD[kind];
  let watermark = cursor.watermark;
  for (const alert of items) {
    const epoch = Number(alert[field]);
    if (epoch > watermark) watermark = epoch;
  }
  // One pass over the old ids (those still inside the overlap), then the page's.
  const seen = prune(cursor.seen, watermark - overlapSec);
  const fresh: Alert[] = [];
  const onThisPage = new Set<string>();
  for (const alert of items) {
    const epoch = Number(alert[field]);
    if (kind === 'cleared' && !(alert.cleared === true || epoch > 0)) continue; // still active
    const id = typeof alert.id === 'string' || typeof alert.id === 'number' ? String(alert.id) : undefined;
    if (id === undefined || !Number.isFinite(epoch)) {
      fresh.push(alert); // cannot be deduplicated; better stored twice than lost
      continue;
    }
    if (!(id in seen) && !(id in cursor.seen) && !onThisPage.has(id)) fresh.push(alert);
    onThisPage.add(id);
    if (epoch >= watermark - overlapSec) seen[id] = epoch;
  }
  return { fresh, cursor: { watermark, seen } };
}

/** After a whole window [from, toSec] was read: everything up to toSec is covered. */
export function finishWindow(cursor: StreamCursor, toSec: number, overlapSec: number): StreamCursor {
  const watermark = Math.max(cursor.watermark, toSec);
  return { watermark, seen: prune(cursor.seen, watermark - overlapSec) };
}

/** Where the next query of a stream starts (s). */
export function windowStart(cursor: StreamCursor, overlapSec: number): number {
  return Math.max(0, cursor.watermark - overlapSec);
}
