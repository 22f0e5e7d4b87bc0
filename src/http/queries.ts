// The read-only query endpoints' data: keyset paging over the store with opaque cursors, in the
// wire format. A cursor encodes the sort key of the last item returned, so pages stay correct
// while new rows are written (no OFFSET that shifts under inserts).
import { eventToWire } from '../pipeline/event.js';
import { candidateToWire } from '../signals/score.js';
import { incidentToWire, rowToIncident } from '../signals/memory.js';
import { signatureToWire } from '../pipeline/fingerprint.js';
import type { SqliteStore } from '../store/sqlite.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;

/** A bad query parameter: the API answers 400 with this code and message. */
export class QueryError extends Error {
  readonly code = 'INVALID_PARAMETER';
}

export interface Page {
  data: Array<Record<string, unknown>>;
  next_cursor: string | null;
}

export function parseLimit(v: string | null): number {
  if (v === null || v === '') return DEFAULT_LIMIT;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw new QueryError(`limit: expected a whole number 1–${MAX_LIMIT}, got ${JSON.stringify(v)}`);
  return n;
}

const encodeCursor = (v: unknown[]): string => Buffer.from(JSON.stringify(v)).toString('base64url');

function decodeCursor(v: string | null, shape: Array<'number' | 'string'>): unknown[] | undefined {
  if (v === null || v === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(v, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== shape.length || parsed.some((p, i) => typeof p !== shape[i])) {
    throw new QueryError('cursor: not a cursor returned by this endpoint (use next_cursor from the previous page)');
  }
  return parsed;
}

/** Fetch limit+1 rows to know whether another page exists without a count query. */
function page<R>(rows: R[], limit: number, toWire: (r: R) => Record<string, unknown>, keyOf: (r: R) => unknown[]): Page {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { data: items.map(toWire), next_cursor: more ? encodeCursor(keyOf(items[items.length - 1]!)) : null };
}

/** Signatures, most frequent first (ties by key). */
export function signaturesPage(store: SqliteStore, limit: number, cursor: string | null): Page {
  const after = decodeCursor(cursor, ['number', 'string']);
  const rows = (after
    ? store.stmt(`SELECT signature_key FROM signatures WHERE occurrence_count < ? OR (occurrence_count = ? AND signature_key > ?)
        ORDER BY occurrence_count DESC, signature_key LIMIT ?`).all(after[0], after[0], after[1], limit + 1)
    : store.stmt('SELECT signature_key FROM signatures ORDER BY occurrence_count DESC, signature_key LIMIT ?').all(limit + 1)) as Array<{ signature_key: string }>;
  const sigs = rows.map((r) => store.getSignature(r.signature_key)!).filter(Boolean);
  return page(sigs, limit, signatureToWire, (s) => [s.occurrenceCount, s.signatureKey]);
}

/** Events, newest first, optionally of one signature. */
export function eventsPage(store: SqliteStore, limit: number, cursor: string | null, signatureKey?: string): Page {
  const before = decodeCursor(cursor, ['number']);
  const events = store.listEvents({ signatureKey, beforeId: before?.[0] as number | undefined, limit: limit + 1 });
  return page(events, limit, eventToWire, (e) => [e.id]);
}

/** Candidates as last computed by the daemon, best score first. */
export function candidatesPage(store: SqliteStore, limit: number, cursor: string | null, band?: string): Page {
  const after = decodeCursor(cursor, ['number', 'number']);
  const where: string[] = [];
  const args: unknown[] = [];
  if (band) { where.push('(decision_band = ? OR attention_band = ?)'); args.push(band, band); }
  if (after) { where.push('(score_total < ? OR (score_total = ? AND id > ?))'); args.push(after[0], after[0], after[1]); }
  const ids = (store.stmt(`SELECT id FROM candidates ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY score_total DESC, id LIMIT ?`).all(...args, limit + 1) as Array<{ id: number }>).map((r) => r.id);
  const byId = new Map(store.listCandidates().filter((c) => ids.includes(c.id)).map((c) => [c.id, c]));
  const cands = ids.map((id) => byId.get(id)!).filter(Boolean);
  return page(cands, limit, (c) => ({ ...candidateToWire(c), signature_key: c.signatureKey, updated_at: new Date(c.updatedAt).toISOString() }),
    (c) => [c.scoreTotal, c.id]);
}

/** Incident memory, newest first. */
export function incidentsPage(store: SqliteStore, limit: number, cursor: string | null): Page {
  const before = decodeCursor(cursor, ['number']);
  const rows = (before
    ? store.stmt('SELECT * FROM incident_memory WHERE id < ? ORDER BY id DESC LIMIT ?').all(before[0], limit + 1)
    : store.stmt('SELECT * FROM incident_memory ORDER BY id DESC LIMIT ?').all(limit + 1)) as unknown[];
  return page(rows.map(rowToIncident), limit, incidentToWire, (i) => [i.id]);
}
