// Numbered schema migrations, applied in order inside one transaction each; the schema
// version is SQLite's `user_version`. Append new migrations at the end; never edit one that
// has shipped.

export interface Migration {
  version: number;
  description: string;
  sql: string;
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
];
