// One digest run: read candidates, hourly counts and history from the store, compose, and —
// unless it is a dry run or an empty digest nobody asked for — record it in the outbox (one row
// per receiver, with the history update, in one transaction) ready for the sender.
import { randomBytes } from 'node:crypto';
import type { Config, DigestConfig, ReceiverConfig } from '../config/schema.js';
import { computeCandidates, type ScoringOptions } from '../signals/score.js';
import { loadHistory, recordDigest, type NewOutboxRow } from '../store/outbox.js';
import type { SqliteStore } from '../store/sqlite.js';
import {
  composeDigest, historyUpdate, HOUR_MS, isEmptyDigest, renderText, SPARK_SLOTS, type Digest, type SignatureSeries,
} from './compose.js';
import type { OutboxPayload } from './deliver.js';
import { slackMessages, slackTextMessages } from './slack.js';
import { webhookBody } from './webhook.js';

/** `dg_<time>_<random>`: sortable, unique, safe in headers and as a Standard Webhooks id prefix. */
export function newDigestId(now: number): string {
  return `dg_${now.toString(36)}_${randomBytes(5).toString('hex')}`;
}

/** The delivery id of a digest's row for one receiver: stable for every retry of that row. */
export const deliveryId = (digestId: string, receiver: string): string => `${digestId}_${receiver}`;

/** Read what composition needs and compose (no writes). */
export function composeFromStore(store: SqliteStore, scoring: ScoringOptions, dc: DigestConfig, now: number, id = newDigestId(now)): Digest {
  const lookbackMs = dc.lookback;
  const candidates = computeCandidates(store, { ...scoring, lookbackMs }, now);
  const history = loadHistory(store, dc.name);
  // two lookbacks (the change vs the period before) and at least the sparkline's 24 hours
  const span = Math.max(2 * lookbackMs, SPARK_SLOTS * HOUR_MS);
  const fromBucket = Math.floor((now - span) / HOUR_MS);
  const toBucket = Math.floor(now / HOUR_MS);
  const series = new Map<string, SignatureSeries>();
  const keys = new Set([...candidates.map((c) => c.signatureKey), ...history.map((h) => h.signatureKey)]);
  for (const key of keys) {
    const sig = store.getSignature(key);
    series.set(key, {
      buckets: store.bucketCounts(key, fromBucket, toBucket),
      ...(sig ? { lastSeen: sig.lastSeen, title: sig.service ? `${sig.service}: ${sig.template}` : sig.template } : {}),
    });
  }
  return composeDigest({ candidates, series, history, id }, {
    name: dc.name, minAttention: dc.min_attention, maxItems: dc.max_items, lookbackMs, escalationFactor: dc.escalation_factor,
  }, now);
}

/** What goes in the outbox for one receiver. */
export function payloadFor(d: Digest, rc: ReceiverConfig): OutboxPayload {
  switch (rc.type) {
    case 'slack': return { type: 'slack', messages: slackMessages(d), fallback: slackTextMessages(d) };
    case 'webhook': return { type: 'webhook', body: webhookBody(d) };
    case 'stdout': return { type: 'stdout', text: renderText(d) };
  }
}

export interface DigestRun {
  digest: Digest;
  /** False for an empty digest without send_empty, and for dry runs. */
  recorded: boolean;
  rows: NewOutboxRow[];
}

/**
 * Compose one digest and record it for delivery. `scoring` is the daemon's `scoringOptions(config)`.
 * `holdMs` keeps a running daemon's sender off the new rows while the caller (the CLI) sends them.
 */
export function runDigest(
  store: SqliteStore, config: Config, scoring: ScoringOptions, dc: DigestConfig, now: number,
  opts: { dryRun?: boolean; holdMs?: number } = {},
): DigestRun {
  const digest = composeFromStore(store, scoring, dc, now);
  if (opts.dryRun || (isEmptyDigest(digest) && !dc.send_empty)) return { digest, recorded: false, rows: [] };
  const byName = new Map(config.receivers.map((r) => [r.name, r]));
  const rows: NewOutboxRow[] = [];
  for (const name of dc.receivers) {
    const rc = byName.get(name);
    if (!rc) continue; // the config loader rejects unknown receivers; nothing to deliver to
    rows.push({ id: deliveryId(digest.id, name), receiver: name, receiverType: rc.type, payload: JSON.stringify(payloadFor(digest, rc)) });
  }
  recordDigest(store, digest, rows, historyUpdate(digest, now), now, now + (opts.holdMs ?? 0));
  return { digest, recorded: true, rows };
}
