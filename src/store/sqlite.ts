// The SQLite store (better-sqlite3 12, WAL). One writer — the pipeline's batch writer — and
// any number of readers (CLI commands, digests, the HTTP API) on their own connections.
// Every batch's events, aggregate updates, stats and checkpoints commit in one transaction.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StoredEvent } from '../pipeline/event.js';
import { restoreDerived } from '../pipeline/canonicalize.js';
import { maskMessage } from '../pipeline/mask.js';
import type { ClusterRecord } from '../pipeline/miner.js';
import { MIGRATIONS } from './migrations.js';
import { decodeIds } from './postings.js';
import { ADD_COUNT_TUPLES, addCountTuples, Aggregates } from './aggregates.js';
import { encodeBatch, readTextColumn, REF, REF_W, type EncodedBatch, type EventSource } from './batch-codec.js';
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
  /** Joined event source → event_sources.id. */
  private readonly sourceIds = new Map<string, number>();
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
      // what the aggregate upserts merge an existing signal row with (aggregates.ts)
      this.db.function(ADD_COUNT_TUPLES, { deterministic: true }, (a, b) => addCountTuples(a as string, b as string));
      this.migrate();
      this.recoverAggregates();
      // an apply that failed in an earlier process: the one just done succeeded
      this.clearAggregateError();
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
        // another process may have migrated while this one waited for the lock
        if (this.schemaVersion >= m.version) return;
        this.db.exec(m.sql);
        m.after?.(this.db);
        this.db.pragma(`user_version = ${m.version}`);
      }).immediate();
    }
  }

  close(): void {
    if (this.db.open && !this.readonly) this.flushAggregates();
    if (this.db.open) this.db.close();
  }

  /** Apply pending aggregates now, in their own transaction. */
  flushAggregates(): void {
    if (this.pending.events > 0) {
      this.db.transaction(() => this.pending.write(this)).immediate();
      this.pending.clear();
    }
    this.lastApply = Date.now();
  }

  /** Aggregates are pending and were last applied at least `aggregateIntervalMs` ago. */
  dueForApply(now = Date.now()): boolean {
    return this.pending.events > 0 && now - this.lastApply >= this.aggregateIntervalMs;
  }

  /**
   * Apply the pending aggregates when they are due; returns the error of a failed apply (they stay
   * pending and the next call tries again; a crash meanwhile is repaired by recoverAggregates).
   * Not part of a batch's commit: a batch that committed must not be reported as failed (and be
   * written again) because the apply after it failed.
   */
  applyIfDue(): Error | undefined {
    if (!this.dueForApply()) return undefined;
    try {
      this.flushAggregates();
    } catch (err) {
      this.noteAggregateFailure(err as Error);
      return err as Error;
    }
    if (this.aggregateFailure) {
      this.aggregateFailure = undefined;
      this.clearAggregateError();
    }
    return undefined;
  }

  /** Since when the aggregate apply has been failing, how often, and the last error (undefined: it is not). */
  private aggregateFailure: AggregateFailure | undefined;

  private clearAggregateError(): void {
    this.stmt(`DELETE FROM store_meta WHERE key = 'aggregate_error'`).run();
  }

  /** Kept in store_meta as well, so that `stats` in another process sees it. */
  private noteAggregateFailure(err: Error): void {
    const f = this.aggregateFailure ??= { since: Date.now(), failures: 0, message: '' };
    f.failures++;
    f.message = err.message;
    try {
      this.stmt(`INSERT INTO store_meta (key, value) VALUES ('aggregate_error', ?)
        ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(JSON.stringify(f));
    } catch {
      // the store may be what fails (disk full): the writer thread still reports it to the daemon's log
    }
  }

  /** The aggregate apply's failure as recorded in the store (any connection), or undefined. */
  aggregateError(): AggregateFailure | undefined {
    const v = this.stmt(`SELECT value FROM store_meta WHERE key = 'aggregate_error'`).pluck().get() as string | undefined;
    return v === undefined ? undefined : (JSON.parse(v) as AggregateFailure);
  }

  /** Fold in events committed after the last aggregate apply (after a crash); returns how many. */
  recoverAggregates(): number {
    let cursor = this.aggregatedThrough();
    let n = 0;
    for (;;) {
      const events = this.listEvents({ ascending: true, beforeId: cursor, limit: 5000 }, false);
      if (events.length === 0) break;
      cursor = events[events.length - 1]!.id;
      this.pending.addStored(events);
      n += events.length;
    }
    this.flushAggregates();
    return n;
  }

  // ---------------------------------------------------------------- writes

  /** Commit a batch: events, signature changes, connector counts, checkpoints; then the aggregates when due. */
  writeBatch(batch: WriteBatch): { firstId: number; lastId: number } {
    return this.writeEncoded(encodeBatch(batch));
  }

  /** signatures.id of a key (cached; the signature must exist). */
  signatureId(key: string): number {
    let id = this.sigIds.get(key);
    if (id === undefined) {
      id = this.findSignatureId(key);
      if (id === undefined) throw new Error(`event references unknown signature ${key}`);
      this.sigIds.set(key, id);
    }
    return id;
  }

  /** signatures.id of a key, read from the store (undefined when there is no such signature). */
  private findSignatureId(key: string): number | undefined {
    return this.stmt('SELECT id FROM signatures WHERE signature_key = ?').pluck().get(key) as number | undefined;
  }

  /** event_sources.id of a source, created when new. */
  private sourceId(src: EventSource): number {
    const k = src.join('\u0000');
    let id = this.sourceIds.get(k);
    if (id === undefined) {
      this.stmt('INSERT OR IGNORE INTO event_sources (tenant_id, connector, source_type, source_path) VALUES (?, ?, ?, ?)').run(...src);
      id = this.stmt('SELECT id FROM event_sources WHERE tenant_id = ? AND connector = ? AND source_type = ? AND source_path = ?')
        .pluck().get(...src) as number;
      this.sourceIds.set(k, id);
    }
    return id;
  }

  /**
   * Commit a batch in the writer's form (batch-codec.ts): its events get consecutive ids, returned
   * as the first and last (0, 0 for a batch without events).
   */
  writeEncoded(b: EncodedBatch, opts: { apply?: boolean } = {}): { firstId: number; lastId: number } {
    let firstId = 0;
    const raw = readTextColumn(b.raw);
    const sourceIdsBefore = this.sourceIds.size;
    try {
      // IMMEDIATE: take the write lock first. A deferred transaction that reads before it writes
      // (a signature id not cached yet) fails at once with "database is locked" when another
      // connection commits in between, instead of waiting busy_timeout for the lock.
      this.db.transaction(() => {
        const sigUpsert = this.stmt(`INSERT INTO signatures (signature_key, template, first_template, service, event_family)
          VALUES (?, ?, ?, ?, ?) ON CONFLICT(signature_key) DO UPDATE SET template = excluded.template`);
        for (const s of b.rest.signatures) sigUpsert.run(s.key, s.template, s.firstTemplate, s.service || null, s.family);
        const { dict, refs, ts, receivedAt, offset, derived, extras } = b;
        const fieldsOf = readTextColumn(extras.fields);
        const str = (i: number): string | null => (i < 0 ? null : dict[i]!);
        // the batch's signature keys and sources resolved once each, not per event
        const sigOf = new Int32Array(dict.length);
        const srcOf = b.sources.map((src) => this.sourceId(src));
        // shared metadata: its row's id, and the last event of the batch that refers to it
        const metaOf = new Int32Array(dict.length);
        const metaLast = new Int32Array(dict.length);
        const metaUp = this.stmt(`INSERT INTO event_metadata (json, last_id) VALUES (?, 0)
          ON CONFLICT(json) DO UPDATE SET json = excluded.json RETURNING id`).pluck();
        // rows go in ROWS_PER_INSERT at a time: one statement per row spent a third of the insert
        // time crossing from JavaScript into SQLite
        const many = this.stmt(`${EVENT_INSERT} ${Array(ROWS_PER_INSERT).fill(EVENT_ROW).join(', ')}`);
        const one = this.stmt(`${EVENT_INSERT} ${EVENT_ROW}`);
        const args: unknown[] = new Array(ROWS_PER_INSERT * EVENT_COLUMNS);
        const grouped = b.n - (b.n % ROWS_PER_INSERT);
        let x = 0;
        let k = 0;
        for (let i = 0; i < b.n; i++) {
          const r = i * REF_W;
          const sk = refs[r + REF.signature]!;
          let sig = sigOf[sk]!;
          if (sig === 0) sig = sigOf[sk] = this.signatureId(dict[sk]!);
          let body: string | null = null;
          let parseError: string | null = null;
          let fields: string | null = null;
          if (x < extras.at.length && extras.at[x] === i) {
            body = extras.body[x]!;
            parseError = extras.parseError[x]!;
            fields = fieldsOf[x++]!;
          }
          const mk = refs[r + REF.metadata]!;
          let meta: number | null = null;
          if (mk >= 0) {
            meta = metaOf[mk] || (metaOf[mk] = metaUp.get(dict[mk]!) as number);
            metaLast[mk] = i;
          }
          const off = offset[i]!;
          args[k++] = ts[i]; args[k++] = receivedAt[i]; args[k++] = srcOf[refs[r + REF.source]!];
          args[k++] = str(refs[r + REF.host]!); args[k++] = str(refs[r + REF.service]!); args[k++] = str(refs[r + REF.severity]!);
          args[k++] = str(refs[r + REF.facility]!); args[k++] = str(refs[r + REF.assetId]!); args[k++] = raw[i];
          args[k++] = off < 0 ? 0 : off; args[k++] = body; args[k++] = sig; args[k++] = parseError; args[k++] = fields;
          args[k++] = derived[i]; args[k++] = meta;
          if (i < grouped && k < args.length) continue;
          // a full group, or one of the last rows that do not make one
          const last = Number((i < grouped ? many.run(args) : one.run(args.slice(0, EVENT_COLUMNS))).lastInsertRowid);
          if (firstId === 0) firstId = last - k / EVENT_COLUMNS + 1;
          k = 0;
        }
        const metaSeen = this.stmt('UPDATE event_metadata SET last_id = ? WHERE id = ?');
        for (let m = 0; m < metaOf.length; m++) if (metaOf[m]! > 0) metaSeen.run(firstId + metaLast[m]!, metaOf[m]);
        const statUp = this.stmt(`INSERT INTO connector_stats (connector, type, received, stored, parse_errors, updated_at)
          VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(connector) DO UPDATE SET type = excluded.type,
          received = received + excluded.received, stored = stored + excluded.stored,
          parse_errors = parse_errors + excluded.parse_errors, updated_at = excluded.updated_at`);
        const now = Date.now();
        for (const c of b.rest.counts) statUp.run(c.connector, c.type, c.received, c.stored, c.parseErrors, now);
        const cp = this.stmt(`INSERT INTO checkpoints (connector, checkpoint, updated_at) VALUES (?, ?, ?)
          ON CONFLICT(connector) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = excluded.updated_at`);
        for (const c of b.rest.checkpoints) cp.run(c.connector, JSON.stringify(c.checkpoint ?? null), now);
      }).immediate();
    } catch (err) {
      // ids learnt inside a rolled-back transaction are not in the store
      if (this.sourceIds.size !== sourceIdsBefore) this.sourceIds.clear();
      this.sigIds.clear();
      throw err;
    }
    // Aggregates are folded in only after the batch committed, and applied in their own
    // transaction when due (`apply: false`: the caller calls applyIfDue itself, as the writer
    // thread does after it reported the commit).
    if (b.n > 0) this.pending.addEncoded(b, firstId, raw);
    if (opts.apply !== false) this.applyIfDue();
    return b.n > 0 ? { firstId, lastId: firstId + b.n - 1 } : { firstId: 0, lastId: 0 };
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
   * The newest event always stays: SQLite gives a new row max(id) + 1, so an emptied table would
   * hand out ids again that the aggregates' `aggregated_through` mark has already passed.
   */
  pruneEvents(beforeMs: number, limit: number): number {
    const events = this.stmt(`DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?) AND received_at < ?
      AND id < (SELECT max(id) FROM events)`).run(limit, beforeMs).changes;
    if (events > 0) {
      this.prunePostings();
      return events;
    }
    // then the per-minute signal aggregates of the same age (their key starts with the minute)
    const minute = Math.floor(beforeMs / 60_000);
    let n = 0;
    for (const table of ['signature_slots', 'state_minutes']) {
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
    const n = this.stmt(`DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)
      AND id < (SELECT max(id) FROM events)`).run(limit).changes;
    if (n > 0) this.prunePostings();
    return n;
  }

  /**
   * Drop the postings of deleted events (everything below the oldest event left, one range per
   * signature) and the shared metadata only they referred to.
   */
  private prunePostings(): void {
    const oldest = this.stmt('SELECT min(id) FROM events').pluck().get() as number | null;
    if (oldest === null) return;
    // a row partly below keeps its dead ids until all of it is: readers skip ids without an event
    const del = this.stmt('DELETE FROM signature_events WHERE signature_id = ? AND first_id < ? AND last_id < ?');
    for (const sig of this.stmt('SELECT id FROM signatures').pluck().all() as number[]) del.run(sig, oldest, oldest);
    // shared metadata no event refers to any more (every event that could is below the oldest)
    this.stmt('DELETE FROM event_metadata WHERE last_id < ?').run(oldest);
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
    ).immediate();
  }

  // ---------------------------------------------------------------- reads

  loadCheckpoint(connector: string): unknown {
    const row = this.stmt('SELECT checkpoint FROM checkpoints WHERE connector = ?').get(connector) as { checkpoint: string } | undefined;
    return row ? JSON.parse(row.checkpoint) : undefined;
  }

  loadClusters(): ClusterRecord[] {
    return this.stmt('SELECT signature_key AS key, service, template, occurrence_count AS count FROM signatures').all() as ClusterRecord[];
  }

  /**
   * Stored events, newest first (or oldest first with `ascending`). `derive: false` skips what is
   * re-derived from the raw text on read (masked text, header fields): crash recovery needs neither.
   */
  listEvents(q: EventQuery = {}, derive = true): StoredEvent[] {
    const dir = q.ascending ? 'ASC' : 'DESC';
    const rows = (): any[] => {
      if (q.signatureKey !== undefined) {
        const sig = this.findSignatureId(q.signatureKey);
        if (sig === undefined) return [];
        const ids = this.signatureEventIds(sig, q);
        if (ids.length === 0) return [];
        return this.stmt(`${EVENT_SELECT} WHERE e.id IN (SELECT value FROM json_each(?)) ORDER BY e.id ${dir}`).all(JSON.stringify(ids));
      }
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.beforeId !== undefined) { where.push(`e.id ${q.ascending ? '>' : '<'} ?`); args.push(q.beforeId); }
      if (q.connector) { where.push(BY_CONNECTOR); args.push(q.connector); }
      if (q.limit) args.push(q.limit);
      return this.stmt(`${EVENT_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.id ${dir}${q.limit ? ' LIMIT ?' : ''}`)
        .all(...args);
    };
    return rows().map((r) => rowToEvent(r, derive));
  }

  /**
   * Ids of a signature's events in the order and page `q` asks for. The postings hold the events
   * the aggregates were applied through; younger ones (at most about a second's worth) are found
   * in the events table's tail.
   */
  private signatureEventIds(sig: number, q: EventQuery): number[] {
    const through = this.aggregatedThrough();
    const before = q.beforeId ?? (q.ascending ? -Infinity : Infinity);
    const inPage = (id: number) => (q.ascending ? id > before : id < before);
    // with a connector filter the page is cut after filtering, below
    const limit = q.limit && !q.connector ? q.limit : Infinity;
    const tailAll = this.stmt(`SELECT id FROM events WHERE signature_id = ? AND id > ? ORDER BY id ${q.ascending ? 'ASC' : 'DESC'}`)
      .pluck().all(sig, through) as number[];
    const tail = tailAll.filter(inPage);
    const applied: number[] = [];
    const rows = this.stmt(`SELECT ids FROM signature_events WHERE signature_id = ? ORDER BY first_id ${q.ascending ? 'ASC' : 'DESC'}`)
      .pluck().iterate(sig) as Iterable<Buffer>;
    const want = limit - (q.ascending ? 0 : tail.length);
    if (want > 0) {
      for (const blob of rows) {
        const ids = decodeIds(blob);
        if (!q.ascending) ids.reverse();
        for (const id of ids) if (inPage(id)) applied.push(id);
        if (applied.length >= want) break;
      }
    }
    let ids = q.ascending ? applied.concat(tail) : tail.concat(applied);
    if (q.connector) {
      const keep = new Set(this.stmt(`SELECT e.id FROM events e WHERE e.id IN (SELECT value FROM json_each(?)) AND ${BY_CONNECTOR}`)
        .pluck().all(JSON.stringify(ids), q.connector) as number[]);
      ids = ids.filter((id) => keep.has(id));
    }
    return q.limit ? ids.slice(0, q.limit) : ids;
  }

  private aggregatedThrough(): number {
    return Number((this.stmt(`SELECT value FROM store_meta WHERE key = 'aggregated_through'`).pluck().get() as string | number | undefined) ?? 0);
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
    const sig = this.findSignatureId(key);
    return sig === undefined ? [] : this.signatureEventIds(sig, { limit });
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

/** A failing aggregate apply: first failure (epoch ms), failed attempts, the last error. */
export interface AggregateFailure {
  since: number;
  failures: number;
  message: string;
}

const EVENT_INSERT = `INSERT INTO events (ts, received_at, source_id, host, service, severity, facility, asset_id,
  message_raw, message_offset, message, signature_id, parse_error, fields, derived, metadata_id) VALUES`;
const EVENT_COLUMNS = 16;
const EVENT_ROW = `(${Array(EVENT_COLUMNS).fill('?').join(', ')})`;
/** Rows per INSERT statement: 48 wrote a batch ~10 % faster than 16 (replaying the 1M-line benchmark's batches, 5 of 6 pairs). */
const ROWS_PER_INSERT = 48;

const EVENT_SELECT = `SELECT e.*, s.signature_key, src.tenant_id, src.connector, src.source_type, src.source_path, md.json AS metadata_json
  FROM events e JOIN signatures s ON s.id = e.signature_id JOIN event_sources src ON src.id = e.source_id
  LEFT JOIN event_metadata md ON md.id = e.metadata_id`;
const BY_CONNECTOR = 'e.source_id IN (SELECT id FROM event_sources WHERE connector = ?)';

function rowToEvent(r: any, derive: boolean): StoredEvent {
  const f = r.fields ? JSON.parse(r.fields) : {};
  const message: string = r.message ?? r.message_raw.slice(r.message_offset);
  let structuredFields = f.structured_fields;
  let ingestMetadata = f.ingest_metadata ?? {};
  if (derive && r.derived) ({ structuredFields, ingestMetadata } = restoreDerived(r.message_raw, r.derived, structuredFields, ingestMetadata));
  return {
    id: r.id, ts: r.ts, timestamp: new Date(r.ts).toISOString(), receivedAt: r.received_at, tenantId: r.tenant_id,
    connector: r.connector, sourceType: r.source_type, host: r.host ?? undefined, service: r.service ?? undefined,
    severity: r.severity ?? undefined, facility: r.facility ?? undefined, assetId: r.asset_id ?? undefined,
    sourcePath: r.source_path || undefined, messageRaw: r.message_raw, message,
    messageNormalized: derive ? maskMessage(message) : '', signatureKey: r.signature_key, parseError: r.parse_error ?? undefined,
    structuredFields, correlationKeys: f.correlation_keys, metadata: r.metadata_json ? JSON.parse(r.metadata_json) : f.metadata, ingestMetadata,
  };
}

function rowToSignature(r: any): SignatureRow {
  return {
    signatureKey: r.signature_key, template: r.template, firstTemplate: r.first_template, service: r.service ?? undefined,
    eventFamily: r.event_family, occurrenceCount: r.occurrence_count, firstSeen: r.first_seen, lastSeen: r.last_seen,
    minSeverity: r.min_severity ?? 6, metadata: r.metadata ? JSON.parse(r.metadata) : {},
  };
}
