// The SQLite store (better-sqlite3 12, WAL). One writer — the pipeline's batch writer — and
// any number of readers (CLI commands, digests, the HTTP API) on their own connections.
// Every batch's events, aggregate updates, stats and checkpoints commit in one transaction.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StoredEvent } from '../pipeline/event.js';
import type { ClusterRecord } from '../pipeline/miner.js';
import { MIGRATIONS } from './migrations.js';
import { Aggregates } from './aggregates.js';
import { fieldsJson } from './batch-codec.js';
import type {
  CandidateRecord, ConnectorStatsRow, ConnectorStatusUpdate, EventQuery, SignatureRow,
  SignatureWindowRow, StoreTotals, WriteBatch,
} from './types.js';

export const HOUR_MS = 3_600_000;

type Stmt = Database.Statement;

export interface OpenOptions {
  readonly?: boolean;
  /** ms to wait for a lock held by another connection. */
  busyTimeoutMs?: number;
  /** This connection is the pipeline's batch writer (larger page cache). */
  writer?: boolean;
}

/** Create the database file owner-only (0600) before SQLite opens it. */
function ensureFile(path: string): void {
  if (path === ':memory:') return;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

const json = (v: unknown): string | null =>
  v && typeof v === 'object' && Object.keys(v as object).length > 0 ? JSON.stringify(v) : null;

export class SqliteStore {
  readonly db: Database.Database;
  private readonly stmts = new Map<string, Stmt>();
  /** signature_key → signatures.id, filled as the writer meets keys. */
  private readonly sigIds = new Map<string, number>();
  /** Aggregates of committed events not yet applied (see `aggregateIntervalMs`). */
  private readonly pending = new Aggregates();
  private lastApply = 0;
  /**
   * How often the writer applies the hot aggregates. 0 (default): in every batch's transaction.
   * The writer thread uses ~1 s: upserts then follow the number of distinct keys rather than the
   * event rate, and events committed but not yet aggregated when the process dies are folded in
   * again at the next open (`recoverAggregates`), so the aggregates stay exact.
   */
  aggregateIntervalMs = 0;

  private readonly readonly: boolean;

  constructor(readonly path: string, opts: OpenOptions = {}) {
    this.readonly = opts.readonly ?? false;
    if (!opts.readonly) ensureFile(path);
    else if (path !== ':memory:' && !existsSync(path)) {
      throw Object.assign(new Error(`no store at ${path} (run the daemon or 'brainstem ingest' first)`), { code: 'STORE_MISSING' });
    }
    this.db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    this.db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    if (!opts.readonly) {
      // Only possible before the first table exists: lets retention hand free pages back with
      // small incremental_vacuum steps instead of VACUUM (src/daemon/retention.ts).
      if (this.schemaVersion === 0) {
        // 16 KiB pages: each batch dirties fewer pages of the events table and its signature
        // index, which made the writer about 30 % faster than 4 KiB pages. (Set before
        // auto_vacuum, which fixes the page size of a new file.)
        this.db.pragma('page_size = 16384');
        this.db.pragma('auto_vacuum = INCREMENTAL');
      }
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      // The batch writer gets a larger page cache (16 MiB): it keeps the random inserts into the
      // signature index cheap. 64 MiB measured no faster with 16 KiB pages and cost 60 MB of RSS.
      // Other connections (readers, status updates) keep the default.
      if (opts.writer) this.db.pragma('cache_size = -16384');
      this.db.pragma('wal_autocheckpoint = 1000');
      this.db.pragma('foreign_keys = ON');
      this.migrate();
      this.recoverAggregates();
    }
  }

  /** A prepared statement, cached by its SQL. */
  stmt(sql: string): Stmt {
    let s = this.stmts.get(sql);
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private migrate(): void {
    const current = this.schemaVersion;
    for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
      if (m.version <= current) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.pragma(`user_version = ${m.version}`);
      })();
    }
  }

  close(): void {
    if (this.db.open && !this.readonly) this.flushAggregates();
    if (this.db.open) this.db.close();
  }

  /** Apply pending aggregates now, in their own transaction. */
  flushAggregates(): void {
    this.lastApply = Date.now();
    if (this.pending.events === 0) return;
    this.db.transaction(() => this.pending.write(this))();
    this.pending.clear();
  }

  /** Fold in events committed after the last aggregate apply (after a crash); returns how many. */
  recoverAggregates(): number {
    const through = Number((this.stmt(`SELECT value FROM store_meta WHERE key = 'aggregated_through'`).pluck().get() as string | undefined) ?? 0);
    let cursor = through;
    let n = 0;
    for (;;) {
      const events = this.listEvents({ ascending: true, beforeId: cursor, limit: 5000 });
      if (events.length === 0) break;
      cursor = events[events.length - 1]!.id;
      this.pending.add(events, cursor);
      n += events.length;
    }
    this.flushAggregates();
    return n;
  }

  // ---------------------------------------------------------------- writes

  /** Commit a batch: events, signature changes, aggregates, connector counts, checkpoints. */
  writeBatch(batch: WriteBatch): number[] {
    const ids: number[] = [];
    this.db.transaction(() => {
      const sigUpsert = this.stmt(`INSERT INTO signatures (signature_key, template, first_template, service, event_family)
        VALUES (?, ?, ?, ?, ?) ON CONFLICT(signature_key) DO UPDATE SET template = excluded.template`);
      for (const s of batch.signatures) sigUpsert.run(s.key, s.template, s.firstTemplate, s.service || null, s.family);
      const sigId = this.stmt('SELECT id FROM signatures WHERE signature_key = ?').pluck();
      const idOf = (key: string): number => {
        let id = this.sigIds.get(key);
        if (id === undefined) {
          id = sigId.get(key) as number | undefined;
          if (id === undefined) throw new Error(`event references unknown signature ${key}`);
          this.sigIds.set(key, id);
        }
        return id;
      };

      const ins = this.stmt(`INSERT INTO events (ts, received_at, tenant_id, connector, source_type, host, service,
        severity, facility, asset_id, source_path, message_raw, message_offset, message, message_normalized, signature_id, parse_error, fields)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      for (const e of batch.events) {
        const r = ins.run(e.ts, e.receivedAt, e.tenantId, e.connector, e.sourceType, e.host ?? null, e.service ?? null,
          e.severity ?? null, e.facility ?? null, e.assetId ?? null, e.sourcePath ?? null, e.messageRaw,
          ...bodyColumns(e.messageRaw, e.message), e.messageNormalized, idOf(e.signatureKey), e.parseError ?? null, fieldsJson(e));
        ids.push(Number(r.lastInsertRowid));
      }
      const statUp = this.stmt(`INSERT INTO connector_stats (connector, type, received, stored, parse_errors, updated_at)
        VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(connector) DO UPDATE SET type = excluded.type,
        received = received + excluded.received, stored = stored + excluded.stored,
        parse_errors = parse_errors + excluded.parse_errors, updated_at = excluded.updated_at`);
      const now = Date.now();
      for (const c of batch.counts) statUp.run(c.connector, c.type, c.received, c.stored, c.parseErrors, now);
      const cp = this.stmt(`INSERT INTO checkpoints (connector, checkpoint, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(connector) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = excluded.updated_at`);
      for (const c of batch.checkpoints) cp.run(c.connector, JSON.stringify(c.checkpoint ?? null), now);
    })();
    // Aggregates are folded in only after the batch committed, and applied in their own
    // transaction: a failed apply keeps them pending, a crash is repaired by recoverAggregates.
    if (ids.length > 0) this.pending.add(batch.events, ids[ids.length - 1]!);
    if (Date.now() - this.lastApply >= this.aggregateIntervalMs) this.flushAggregates();
    return ids;
  }

  /** Record a connector's state, last error, drop count and gauges (not tied to a batch). */
  updateConnectorStatus(u: ConnectorStatusUpdate): void {
    this.stmt(`INSERT INTO connector_stats (connector, type, dropped, state, last_error, gauges, updated_at)
      VALUES (@connector, @type, @dropped, @state, @last_error, @gauges, @now)
      ON CONFLICT(connector) DO UPDATE SET type = excluded.type, dropped = dropped + excluded.dropped,
      state = excluded.state, last_error = excluded.last_error, gauges = excluded.gauges, updated_at = excluded.updated_at`)
      .run({
        connector: u.connector, type: u.type, dropped: u.droppedDelta, state: u.state,
        last_error: u.lastError ?? null, gauges: json(u.gauges), now: Date.now(),
      });
  }

  /**
   * Delete up to `limit` of the oldest events that arrived before `beforeMs`; returns how many
   * were deleted. Walks the table from its start in rowid (= arrival) order, so it needs no index.
   */
  pruneEvents(beforeMs: number, limit: number): number {
    const events = this.stmt(`DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?) AND received_at < ?`)
      .run(limit, beforeMs).changes;
    if (events > 0) return events;
    // then the per-minute signal aggregates of the same age (their key starts with the minute)
    const minute = Math.floor(beforeMs / 60_000);
    let n = 0;
    for (const table of ['signature_minutes', 'state_transitions']) {
      // WITHOUT ROWID tables keyed by minute first: delete an hour at a time, oldest first
      const oldest = this.stmt(`SELECT min(minute) FROM ${table}`).pluck().get() as number | null;
      if (oldest !== null && oldest < minute) {
        n += this.stmt(`DELETE FROM ${table} WHERE minute < ?`).run(Math.min(minute, oldest + 60)).changes;
      }
    }
    return n;
  }

  /**
   * Delete up to `limit` of the events that arrived first (the size cap); returns how many.
   * Arrival (rowid) order, like pruneEvents: it needs no index, where ordering by `ts` sorted the
   * whole table at every step.
   */
  deleteOldestEvents(limit: number): number {
    return this.stmt('DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)').run(limit).changes;
  }

  /** Replace the stored candidate for each (type, signature); returns their ids. */
  saveCandidates(cands: CandidateRecord[], now: number): number[] {
    const up = this.stmt(`INSERT INTO candidates (candidate_type, signature_key, title, summary, score_total, score_breakdown,
      decision_band, attention_band, source_signature_ids, source_event_ids, confidence, metadata, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(candidate_type, signature_key) DO UPDATE SET title = excluded.title, summary = excluded.summary,
      score_total = excluded.score_total, score_breakdown = excluded.score_breakdown, decision_band = excluded.decision_band,
      attention_band = excluded.attention_band, source_signature_ids = excluded.source_signature_ids,
      source_event_ids = excluded.source_event_ids, confidence = excluded.confidence, metadata = excluded.metadata,
      updated_at = excluded.updated_at RETURNING id`);
    return this.db.transaction(() =>
      cands.map((c) => (up.get(c.candidateType, c.signatureKey, c.title, c.summary, c.scoreTotal, JSON.stringify(c.scoreBreakdown),
        c.decisionBand, c.attentionBand, JSON.stringify(c.sourceSignatureIds), JSON.stringify(c.sourceEventIds), c.confidence,
        JSON.stringify(c.metadata), now, now) as { id: number }).id),
    )();
  }

  // ---------------------------------------------------------------- reads

  loadCheckpoint(connector: string): unknown {
    const row = this.stmt('SELECT checkpoint FROM checkpoints WHERE connector = ?').get(connector) as { checkpoint: string } | undefined;
    return row ? JSON.parse(row.checkpoint) : undefined;
  }

  loadClusters(): ClusterRecord[] {
    return this.stmt('SELECT signature_key AS key, service, template, occurrence_count AS count FROM signatures').all() as ClusterRecord[];
  }

  listEvents(q: EventQuery = {}): StoredEvent[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.signatureKey) { where.push('e.signature_id = (SELECT id FROM signatures WHERE signature_key = ?)'); args.push(q.signatureKey); }
    if (q.beforeId !== undefined) { where.push(`e.id ${q.ascending ? '>' : '<'} ?`); args.push(q.beforeId); }
    if (q.connector) { where.push('e.connector = ?'); args.push(q.connector); }
    const sql = `SELECT e.*, s.signature_key FROM events e JOIN signatures s ON s.id = e.signature_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.id ${q.ascending ? 'ASC' : 'DESC'}${q.limit ? ' LIMIT ?' : ''}`;
    if (q.limit) args.push(q.limit);
    return (this.stmt(sql).all(...args) as any[]).map(rowToEvent);
  }

  listSignatures(limit = 0, afterKey?: string): SignatureRow[] {
    const sql = `SELECT * FROM signatures ${afterKey ? 'WHERE signature_key > ?' : ''} ORDER BY occurrence_count DESC, signature_key${limit ? ' LIMIT ?' : ''}`;
    const args: unknown[] = [];
    if (afterKey) args.push(afterKey);
    if (limit) args.push(limit);
    return (this.stmt(sql).all(...args) as any[]).map(rowToSignature);
  }

  getSignature(key: string): SignatureRow | undefined {
    const r = this.stmt('SELECT * FROM signatures WHERE signature_key = ?').get(key);
    return r ? rowToSignature(r) : undefined;
  }

  /** Signatures seen since `sinceMs`, with their counts and hosts inside the window. */
  signatureWindow(sinceMs: number): SignatureWindowRow[] {
    const sinceBucket = Math.floor(sinceMs / HOUR_MS);
    const rows = this.stmt(`SELECT s.*, (SELECT coalesce(sum(count), 0) FROM signature_buckets b
        WHERE b.signature_key = s.signature_key AND b.bucket >= ?) AS window_count
      FROM signatures s WHERE s.last_seen >= ?`).all(sinceBucket, sinceMs) as any[];
    const hosts = this.stmt('SELECT host, count FROM signature_hosts WHERE signature_key = ? AND last_seen >= ? ORDER BY count DESC');
    return rows.map((r) => ({
      ...rowToSignature(r),
      windowCount: r.window_count,
      hosts: (hosts.all(r.signature_key, sinceMs) as Array<{ host: string; count: number }>),
    }));
  }

  /** Hourly counts of a signature for buckets [fromBucket, toBucket]. */
  bucketCounts(key: string, fromBucket: number, toBucket: number): Map<number, number> {
    const rows = this.stmt('SELECT bucket, count FROM signature_buckets WHERE signature_key = ? AND bucket BETWEEN ? AND ?')
      .all(key, fromBucket, toBucket) as Array<{ bucket: number; count: number }>;
    return new Map(rows.map((r) => [r.bucket, r.count]));
  }

  /** Distinct hosts that sent anything since `sinceMs`. */
  hostsSeen(sinceMs: number): number {
    return (this.stmt('SELECT count(DISTINCT host) AS n FROM signature_hosts WHERE last_seen >= ?').get(sinceMs) as { n: number }).n;
  }

  /** Earliest first_seen of any signature (when the store started observing), or undefined when empty. */
  observedSince(): number | undefined {
    return (this.stmt('SELECT min(first_seen) AS t FROM signatures').get() as { t: number | null }).t ?? undefined;
  }

  /** Ids of the most recent events of a signature (evidence for a candidate). */
  recentEventIds(key: string, limit: number): number[] {
    return this.stmt(`SELECT id FROM events WHERE signature_id = (SELECT id FROM signatures WHERE signature_key = ?)
      ORDER BY id DESC LIMIT ?`).pluck().all(key, limit) as number[];
  }

  listCandidates(opts: { minScore?: number; bands?: string[]; limit?: number } = {}): Array<CandidateRecord & { id: number; createdAt: number; updatedAt: number }> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.bands?.length) { where.push(`decision_band IN (${opts.bands.map(() => '?').join(',')})`); args.push(...opts.bands); }
    if (opts.minScore !== undefined) { where.push('score_total >= ?'); args.push(opts.minScore); }
    const sql = `SELECT * FROM candidates ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY score_total DESC, id${opts.limit ? ' LIMIT ?' : ''}`;
    if (opts.limit) args.push(opts.limit);
    return (this.stmt(sql).all(...args) as any[]).map((r) => ({
      id: r.id, candidateType: r.candidate_type, signatureKey: r.signature_key, title: r.title, summary: r.summary,
      scoreTotal: r.score_total, scoreBreakdown: JSON.parse(r.score_breakdown), decisionBand: r.decision_band,
      attentionBand: r.attention_band, sourceSignatureIds: JSON.parse(r.source_signature_ids),
      sourceEventIds: JSON.parse(r.source_event_ids), confidence: r.confidence, metadata: JSON.parse(r.metadata),
      createdAt: r.created_at, updatedAt: r.updated_at,
    }));
  }

  connectorStats(): ConnectorStatsRow[] {
    return (this.stmt('SELECT * FROM connector_stats ORDER BY connector').all() as any[]).map((r) => ({
      connector: r.connector, type: r.type, received: r.received, stored: r.stored, parseErrors: r.parse_errors,
      dropped: r.dropped, state: r.state, lastError: r.last_error, gauges: r.gauges ? JSON.parse(r.gauges) : {},
      updatedAt: r.updated_at,
    }));
  }

  totals(): StoreTotals {
    const one = (sql: string) => (this.stmt(sql).get() as { n: number }).n;
    return {
      events: one('SELECT count(*) AS n FROM events'),
      signatures: one('SELECT count(*) AS n FROM signatures'),
      candidates: one('SELECT count(*) AS n FROM candidates'),
      incidents: one('SELECT count(*) AS n FROM incident_memory'),
      parseErrors: one('SELECT coalesce(sum(parse_errors), 0) AS n FROM connector_stats'),
    };
  }
}

/** Store the body as an offset into the raw text when it is its suffix (it is, after a header parse). */
function bodyColumns(raw: string, body: string): [number, string | null] {
  const offset = raw.length - body.length;
  return offset >= 0 && raw.endsWith(body) ? [offset, null] : [0, body];
}

function rowToEvent(r: any): StoredEvent {
  const f = r.fields ? JSON.parse(r.fields) : {};
  return {
    id: r.id, ts: r.ts, timestamp: new Date(r.ts).toISOString(), receivedAt: r.received_at, tenantId: r.tenant_id,
    connector: r.connector, sourceType: r.source_type, host: r.host ?? undefined, service: r.service ?? undefined,
    severity: r.severity ?? undefined, facility: r.facility ?? undefined, assetId: r.asset_id ?? undefined,
    sourcePath: r.source_path ?? undefined, messageRaw: r.message_raw, message: r.message ?? r.message_raw.slice(r.message_offset),
    messageNormalized: r.message_normalized, signatureKey: r.signature_key, parseError: r.parse_error ?? undefined,
    structuredFields: f.structured_fields, correlationKeys: f.correlation_keys, metadata: f.metadata,
    ingestMetadata: f.ingest_metadata ?? {},
  };
}

function rowToSignature(r: any): SignatureRow {
  return {
    signatureKey: r.signature_key, template: r.template, firstTemplate: r.first_template, service: r.service ?? undefined,
    eventFamily: r.event_family, occurrenceCount: r.occurrence_count, firstSeen: r.first_seen, lastSeen: r.last_seen,
    minSeverity: r.min_severity ?? 6, metadata: r.metadata ? JSON.parse(r.metadata) : {},
  };
}
