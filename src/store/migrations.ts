// Numbered schema migrations, applied in order inside one transaction each; the schema
// version is SQLite's `user_version`. Append new migrations at the end; never edit one that
// has shipped.
import type Database from 'better-sqlite3';
import { writePostings } from './postings.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
  /** A step SQL cannot express, run after `sql` in the same transaction. */
  after?: (db: Database.Database) => void;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'events, signatures, aggregates, checkpoints, connector stats, candidates, incident memory, outbox',
    sql: `
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,                 -- event time, epoch ms UTC
        received_at INTEGER NOT NULL,
        tenant_id TEXT NOT NULL,
        connector TEXT NOT NULL,
        source_type TEXT NOT NULL,
        host TEXT, service TEXT, severity TEXT, facility TEXT, asset_id TEXT, source_path TEXT,
        message_raw TEXT NOT NULL,
        message_offset INTEGER NOT NULL,     -- the body is message_raw from here (header removed) …
        message TEXT,                        -- … unless it is not a suffix of message_raw: then it is here
        message_normalized TEXT NOT NULL,
        signature_id INTEGER NOT NULL,       -- signatures.id (an integer keeps this index cheap)
        parse_error TEXT,
        fields TEXT                          -- JSON of the non-empty object fields, or NULL
      );
      CREATE INDEX events_signature ON events(signature_id, id);
      -- No index on ts: retention walks the table in rowid (arrival) order instead, which keeps
      -- inserts cheap; rowid order is received_at order because there is one writer.

      CREATE TABLE signatures (
        id INTEGER PRIMARY KEY,
        signature_key TEXT NOT NULL UNIQUE,
        template TEXT NOT NULL,              -- normalized_pattern, generalizes over time
        first_template TEXT NOT NULL,        -- the form the key was derived from
        service TEXT,
        event_family TEXT NOT NULL,
        occurrence_count INTEGER NOT NULL DEFAULT 0,
        first_seen INTEGER,
        last_seen INTEGER,
        min_severity INTEGER,                -- most severe seen, 0 (emerg) … 7 (debug)
        metadata TEXT
      );

      -- hot aggregates, maintained on write (design.md §6)
      CREATE TABLE signature_buckets (
        signature_key TEXT NOT NULL,
        bucket INTEGER NOT NULL,             -- hour: floor(ts / 3600000)
        count INTEGER NOT NULL,
        PRIMARY KEY (signature_key, bucket)
      ) WITHOUT ROWID;
      CREATE TABLE signature_hosts (
        signature_key TEXT NOT NULL,
        host TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        PRIMARY KEY (signature_key, host)
      ) WITHOUT ROWID;

      CREATE TABLE checkpoints (
        connector TEXT PRIMARY KEY,
        checkpoint TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE connector_stats (
        connector TEXT PRIMARY KEY,
        type TEXT,
        received INTEGER NOT NULL DEFAULT 0,
        stored INTEGER NOT NULL DEFAULT 0,
        parse_errors INTEGER NOT NULL DEFAULT 0,
        dropped INTEGER NOT NULL DEFAULT 0,
        state TEXT,
        last_error TEXT,
        gauges TEXT,
        updated_at INTEGER
      );

      CREATE TABLE candidates (
        id INTEGER PRIMARY KEY,
        candidate_type TEXT NOT NULL,
        signature_key TEXT NOT NULL,
        title TEXT NOT NULL,
        summary TEXT NOT NULL,
        score_total REAL NOT NULL,
        score_breakdown TEXT NOT NULL,
        decision_band TEXT NOT NULL,
        attention_band TEXT NOT NULL,
        source_signature_ids TEXT NOT NULL,
        source_event_ids TEXT NOT NULL,
        confidence REAL NOT NULL,
        metadata TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (candidate_type, signature_key)
      );

      CREATE TABLE incident_memory (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        summary TEXT NOT NULL,
        incident_type TEXT NOT NULL,
        source_candidate_ids TEXT NOT NULL,
        signature_keys TEXT NOT NULL,
        recurrence_count INTEGER NOT NULL DEFAULT 0,
        confidence REAL NOT NULL,
        metadata TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );

      CREATE TABLE outbox (
        id TEXT PRIMARY KEY,                 -- delivery id, sent as the idempotency key
        digest TEXT NOT NULL,
        receiver TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,                -- pending | sent | dead
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        sent_at INTEGER
      );
      CREATE INDEX outbox_pending ON outbox(status, next_attempt_at);

      CREATE TABLE digest_history (
        digest TEXT NOT NULL,
        signature_key TEXT NOT NULL,
        attention_band TEXT NOT NULL,
        count INTEGER NOT NULL,
        hosts INTEGER NOT NULL,
        sent_at INTEGER NOT NULL,
        PRIMARY KEY (digest, signature_key)
      ) WITHOUT ROWID;
    `,
  },
  {
    // signal aggregates, maintained on write by src/store/aggregates.ts: per-minute activity of
    // each signature on each host (precursor pairing) and failure/recovery state changes per
    // subject (recovery pairing), so that scoring never scans the events table
    version: 2,
    description: 'signal aggregates: signature_minutes, state_transitions',
    sql: `
      CREATE TABLE signature_minutes (
        minute INTEGER NOT NULL,             -- floor(ts / 60000)
        host TEXT NOT NULL,                  -- '' when the event has none
        signature_key TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (minute, host, signature_key)
      ) WITHOUT ROWID;
      CREATE TABLE state_transitions (
        minute INTEGER NOT NULL,
        host TEXT NOT NULL,
        subject TEXT NOT NULL,               -- what failed or recovered (src/signals/state.ts)
        signature_key TEXT NOT NULL,
        polarity INTEGER NOT NULL,           -- 1 fail, 2 recover, 3 restart chatter
        count INTEGER NOT NULL,
        PRIMARY KEY (minute, host, subject, signature_key, polarity)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    description: 'outbox: receiver type, digest id, parts delivered, last HTTP status; digest_history: title',
    sql: `
      ALTER TABLE outbox ADD COLUMN receiver_type TEXT;
      ALTER TABLE outbox ADD COLUMN digest_id TEXT;
      ALTER TABLE outbox ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;  -- a split Slack digest resumes at the next part
      ALTER TABLE outbox ADD COLUMN last_status INTEGER;
      CREATE INDEX outbox_receiver ON outbox(receiver, status, created_at);
      ALTER TABLE digest_history ADD COLUMN title TEXT;
    `,
  },
  {
    version: 4,
    description: 'store_meta: how far the hot aggregates have been applied (crash recovery)',
    sql: `
      CREATE TABLE store_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
      INSERT INTO store_meta (key, value) VALUES ('aggregated_through', 0);
    `,
  },
  {
    // The events table slimmed for the write path (issue 2): the masked text is re-derived from the
    // body on read (message_normalized), fields a syslog header holds (pid, original timestamp) are
    // re-parsed from message_raw (`derived`), tenant/connector/source type/path are one integer, and
    // the per-signature index becomes postings maintained with the hot aggregates (applied about
    // once a second in sorted runs instead of one random index insert per event per commit).
    version: 5,
    description: 'lean events: event_sources, derived columns, signature_events postings',
    sql: `
      CREATE TABLE event_sources (
        id INTEGER PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        connector TEXT NOT NULL,
        source_type TEXT NOT NULL,
        source_path TEXT NOT NULL DEFAULT '',  -- '' when the event has none
        UNIQUE (tenant_id, connector, source_type, source_path)
      );
      INSERT INTO event_sources (tenant_id, connector, source_type, source_path)
        SELECT DISTINCT tenant_id, connector, source_type, coalesce(source_path, '') FROM events;
      CREATE TABLE events_v5 (
        id INTEGER PRIMARY KEY,               -- retention keeps the newest event, so ids are never reused
        ts INTEGER NOT NULL,                  -- event time, epoch ms UTC
        received_at INTEGER NOT NULL,
        source_id INTEGER NOT NULL,           -- event_sources.id
        host TEXT, service TEXT, severity TEXT, facility TEXT, asset_id TEXT,
        message_raw TEXT NOT NULL,
        message_offset INTEGER NOT NULL,      -- the body is message_raw from here (header removed) …
        message TEXT,                         -- … unless it is not a suffix of message_raw: then it is here
        signature_id INTEGER NOT NULL,        -- signatures.id
        parse_error TEXT,
        fields TEXT,                          -- JSON of the object fields not re-derived from message_raw, or NULL
        derived INTEGER NOT NULL DEFAULT 0    -- what the reader re-derives from message_raw (canonicalize.ts DERIVED)
      );
      INSERT INTO events_v5 (id, ts, received_at, source_id, host, service, severity, facility, asset_id, message_raw,
          message_offset, message, signature_id, parse_error, fields, derived)
        SELECT e.id, e.ts, e.received_at, s.id, e.host, e.service, e.severity, e.facility, e.asset_id, e.message_raw,
          e.message_offset, e.message, e.signature_id, e.parse_error, e.fields, 0
        FROM events e JOIN event_sources s ON s.tenant_id = e.tenant_id AND s.connector = e.connector
          AND s.source_type = e.source_type AND s.source_path = coalesce(e.source_path, '')
        ORDER BY e.id;
      DROP TABLE events;
      ALTER TABLE events_v5 RENAME TO events;
      -- one row per signature per aggregate apply: the ids of its events in [first_id, last_id],
      -- delta-encoded (src/store/postings.ts); the rows of the events stored so far are written by
      -- this migration's \`after\` step
      CREATE TABLE signature_events (
        signature_id INTEGER NOT NULL,
        first_id INTEGER NOT NULL,
        last_id INTEGER NOT NULL,
        ids BLOB NOT NULL,
        PRIMARY KEY (signature_id, first_id)
      ) WITHOUT ROWID;
    `,
    after(db) {
      // postings for the events already stored: read in id order, chunk by chunk, and written as
      // the writer would (one row per signature per run of up to 4,096 ids)
      const through = Number(db.prepare(`SELECT value FROM store_meta WHERE key = 'aggregated_through'`).pluck().get() ?? 0);
      const read = db.prepare('SELECT signature_id, id FROM events WHERE id > ? AND id <= ? ORDER BY id LIMIT 50000').raw();
      const insert = db.prepare('INSERT INTO signature_events (signature_id, first_id, last_id, ids) VALUES (?, ?, ?, ?)');
      const runs = new Map<number, number[]>();
      for (let after = 0; ;) {
        const rows = read.all(after, through) as Array<[number, number]>;
        if (rows.length === 0) break;
        for (const [sig, id] of rows) {
          let ids = runs.get(sig);
          if (!ids) runs.set(sig, (ids = []));
          ids.push(id);
          if (ids.length >= 4096) {
            writePostings(insert, sig, ids);
            runs.delete(sig);
          }
        }
        after = rows[rows.length - 1]![1];
      }
      for (const [sig, ids] of runs) writePostings(insert, sig, ids);
    },
  },
  {
    // The signal aggregates were one row per (slot, host, signature) and per (minute, host, subject,
    // signature, polarity): about 0.9 rows per event at the benchmark's rate, and the largest part
    // of the writer thread's time (issue 2). One row per (slot or minute, signature) holding its
    // counts as JSON tuples takes 7 % of the rows; readers read views that expand the tuples.
    version: 6,
    description: 'signal aggregates as one row per minute and signature: signature_slots, state_minutes',
    sql: `
      CREATE TABLE signature_slots (
        minute INTEGER NOT NULL,             -- first minute (floor(ts / 60000)) of a 5-minute slot
        signature_key TEXT NOT NULL,
        hosts TEXT NOT NULL,                 -- JSON [[host, count], …]; host '' when the events have none
        PRIMARY KEY (minute, signature_key)
      ) WITHOUT ROWID;
      INSERT INTO signature_slots (minute, signature_key, hosts)
        SELECT minute, signature_key, json_group_array(json_array(host, count)) FROM signature_minutes GROUP BY minute, signature_key;
      DROP TABLE signature_minutes;
      CREATE TABLE state_minutes (
        minute INTEGER NOT NULL,
        signature_key TEXT NOT NULL,
        changes TEXT NOT NULL,               -- JSON [[host, subject, polarity, count], …] (src/signals/state.ts)
        PRIMARY KEY (minute, signature_key)
      ) WITHOUT ROWID;
      INSERT INTO state_minutes (minute, signature_key, changes)
        SELECT minute, signature_key, json_group_array(json_array(host, subject, polarity, count)) FROM state_transitions
        GROUP BY minute, signature_key;
      DROP TABLE state_transitions;
      -- the rows the readers want, one per host (and subject, polarity), expanded from the tuples
      CREATE VIEW signature_host_slots AS
        SELECT s.minute, h.value ->> 0 AS host, s.signature_key, h.value ->> 1 AS count
        FROM signature_slots s, json_each(s.hosts) h;
      CREATE VIEW state_changes AS
        SELECT s.minute, c.value ->> 0 AS host, c.value ->> 1 AS subject, s.signature_key, c.value ->> 2 AS polarity, c.value ->> 3 AS count
        FROM state_minutes s, json_each(s.changes) c;
    `,
  },
  {
    // A syslog TCP connection's messages share their metadata (sender, port, protocol, format): ~95
    // of the ~315 bytes of text in each row. Kept once and referenced, rows are a third smaller and
    // a batch's insert ~20 % faster. Events stored before keep their metadata in `fields`.
    version: 7,
    description: 'metadata shared by many events stored once: event_metadata, events.metadata_id',
    sql: `
      CREATE TABLE event_metadata (
        id INTEGER PRIMARY KEY,
        json TEXT NOT NULL UNIQUE,
        last_id INTEGER NOT NULL             -- no event above this id refers to the row: retention deletes it once they are gone
      );
      ALTER TABLE events ADD COLUMN metadata_id INTEGER;   -- event_metadata.id, or NULL (then any metadata is in fields)
    `,
  },
];
