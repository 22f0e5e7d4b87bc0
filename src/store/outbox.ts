// The delivery outbox and digest history (tables `outbox`, `digest_history`): a digest's rows
// and its history update commit in one transaction before anything is sent; the sender then
// moves each row pending → sent | dead, storing when the next attempt may happen.
import type { SqliteStore } from './sqlite.js';

export type OutboxStatus = 'pending' | 'sent' | 'dead';

export interface OutboxRow {
  /** Delivery id: the idempotency key sent with every attempt. */
  id: string;
  digest: string;
  digestId: string | null;
  receiver: string;
  receiverType: string | null;
  payload: string;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  lastStatus: number | null;
  partsSent: number;
  createdAt: number;
  sentAt: number | null;
}

export interface NewOutboxRow {
  id: string;
  receiver: string;
  receiverType: string;
  payload: string;
}

/** What a digest recorded about a signature it reported (for no repetition and "gone quiet"). */
export interface HistoryRow {
  signatureKey: string;
  attentionBand: string;
  count: number;
  hosts: number;
  sentAt: number;
  title?: string;
}

function toRow(r: any): OutboxRow {
  return {
    id: r.id, digest: r.digest, digestId: r.digest_id, receiver: r.receiver, receiverType: r.receiver_type,
    payload: r.payload, status: r.status, attempts: r.attempts, nextAttemptAt: r.next_attempt_at, lastError: r.last_error,
    lastStatus: r.last_status, partsSent: r.parts_sent, createdAt: r.created_at, sentAt: r.sent_at,
  };
}

/**
 * Record a composed digest: one outbox row per receiver, due now, and the history update
 * (items upserted, gone-quiet patterns removed) — all or nothing.
 */
export function recordDigest(
  store: SqliteStore,
  digest: { name: string; id: string },
  rows: NewOutboxRow[],
  history: { upsert: HistoryRow[]; remove: string[] },
  now: number,
  /** When a sender may first pick the rows up (default now). */
  dueAt = now,
): void {
  const ins = store.stmt(`INSERT INTO outbox (id, digest, digest_id, receiver, receiver_type, payload, status, attempts,
    next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`);
  const up = store.stmt(`INSERT INTO digest_history (digest, signature_key, attention_band, count, hosts, sent_at, title)
    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(digest, signature_key) DO UPDATE SET attention_band = excluded.attention_band,
    count = excluded.count, hosts = excluded.hosts, sent_at = excluded.sent_at, title = excluded.title`);
  const del = store.stmt('DELETE FROM digest_history WHERE digest = ? AND signature_key = ?');
  store.db.transaction(() => {
    for (const r of rows) ins.run(r.id, digest.name, digest.id, r.receiver, r.receiverType, r.payload, dueAt, now);
    for (const h of history.upsert) up.run(digest.name, h.signatureKey, h.attentionBand, h.count, h.hosts, h.sentAt, h.title ?? null);
    for (const k of history.remove) del.run(digest.name, k);
  }).immediate();
}

export function loadHistory(store: SqliteStore, digest: string): HistoryRow[] {
  return (store.stmt('SELECT * FROM digest_history WHERE digest = ? ORDER BY signature_key').all(digest) as any[]).map((r) => ({
    signatureKey: r.signature_key, attentionBand: r.attention_band, count: r.count, hosts: r.hosts, sentAt: r.sent_at,
    ...(r.title ? { title: r.title } : {}),
  }));
}

/**
 * The oldest pending row of each receiver (a receiver's queue is served in order, one at a time).
 * One row per receiver, so a backlog after an outage costs the same to scan as one digest.
 */
export function pendingHeads(store: SqliteStore): OutboxRow[] {
  return (store.stmt(`SELECT * FROM outbox WHERE rowid IN (
      SELECT (SELECT o2.rowid FROM outbox o2 WHERE o2.receiver = r.receiver AND o2.status = 'pending' ORDER BY o2.created_at, o2.rowid LIMIT 1)
      FROM (SELECT DISTINCT receiver FROM outbox WHERE status = 'pending') r)
    ORDER BY created_at, rowid`).all() as any[]).map(toRow);
}

/** All pending rows, oldest first. */
export function pendingRows(store: SqliteStore): OutboxRow[] {
  return (store.stmt("SELECT * FROM outbox WHERE status = 'pending' ORDER BY created_at, rowid").all() as any[]).map(toRow);
}

export function getOutboxRow(store: SqliteStore, id: string): OutboxRow | undefined {
  const r = store.stmt('SELECT * FROM outbox WHERE id = ?').get(id);
  return r ? toRow(r) : undefined;
}

export function listOutbox(store: SqliteStore, opts: { digestId?: string } = {}): OutboxRow[] {
  const rows = opts.digestId
    ? store.stmt('SELECT * FROM outbox WHERE digest_id = ? ORDER BY created_at, rowid').all(opts.digestId)
    : store.stmt('SELECT * FROM outbox ORDER BY created_at, rowid').all();
  return (rows as any[]).map(toRow);
}

/** One part of a split message went out: remember it so a retry resumes at the next part. */
export function markPartSent(store: SqliteStore, id: string, partsSent: number): void {
  store.stmt('UPDATE outbox SET parts_sent = ? WHERE id = ?').run(partsSent, id);
}

export function markSent(store: SqliteStore, id: string, attempts: number, httpStatus: number | null, now: number): void {
  store.stmt(`UPDATE outbox SET status = 'sent', attempts = ?, last_status = ?, sent_at = ?, next_attempt_at = ? WHERE id = ?`)
    .run(attempts, httpStatus, now, now, id);
}

export function markRetry(store: SqliteStore, id: string, attempts: number, nextAttemptAt: number, error: string, httpStatus: number | null): void {
  store.stmt('UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, last_status = ? WHERE id = ?')
    .run(attempts, nextAttemptAt, error, httpStatus, id);
}

export function markDead(store: SqliteStore, id: string, attempts: number, reason: string, httpStatus: number | null, now: number): void {
  store.stmt(`UPDATE outbox SET status = 'dead', attempts = ?, last_error = ?, last_status = ?, next_attempt_at = ? WHERE id = ?`)
    .run(attempts, reason, httpStatus, now, id);
}

/** Replace what is left to send (Slack's text-only fallback after `invalid_blocks`). */
export function replacePayload(store: SqliteStore, id: string, payload: string, partsSent: number): void {
  store.stmt('UPDATE outbox SET payload = ?, parts_sent = ? WHERE id = ?').run(payload, partsSent, id);
}

export interface OutboxCounts {
  receiver: string;
  pending: number;
  sent: number;
  dead: number;
  /** Attempts beyond the first, over all rows (retries). */
  retried: number;
  last_error: string | null;
}

/** Per-receiver row counts by status (for `stats` and `/metrics`). */
export function outboxCounts(store: SqliteStore): OutboxCounts[] {
  const rows = store.stmt(`SELECT receiver,
      sum(status = 'pending') AS pending, sum(status = 'sent') AS sent, sum(status = 'dead') AS dead,
      sum(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END) AS retried,
      (SELECT last_error FROM outbox o2 WHERE o2.receiver = o.receiver AND o2.last_error IS NOT NULL
        ORDER BY o2.next_attempt_at DESC LIMIT 1) AS last_error
    FROM outbox o GROUP BY receiver ORDER BY receiver`).all() as any[];
  return rows.map((r) => ({ receiver: r.receiver, pending: r.pending, sent: r.sent, dead: r.dead, retried: r.retried, last_error: r.last_error }));
}
