// The config schema (zod 4). Each key's `.describe()` is its documentation: it feeds the
// JSON Schema for editors (`brainstem config-schema`). Connector options are validated by each
// plugin's own schema; this file only knows `name`, `type` and `plugin` of a connector.
import { validate as validCron } from 'node-cron';
import { z } from 'zod';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parse `500ms`, `30s`, `5m`, `24h`, `7d`, `2w` (or a number of ms) to milliseconds. */
export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/.exec(v.trim());
  return m ? Number(m[1]) * DURATION_UNITS[m[2]!]! : undefined;
}

/** A duration given as `30s`, `24h`, `7d`… or milliseconds; parsed to ms. */
export const duration = (what: string) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like 30s, 5m, 24h or 7d, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return ms;
  }).describe(`${what} (a duration: 500ms, 30s, 5m, 24h, 7d)`);

export const ATTENTION_BANDS = ['ignore_fast', 'background', 'watch', 'investigate', 'promote'] as const;

const name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1–64 characters)');

export const connectorBase = z.object({
  name: name.describe('Unique name of this connector (used in stats, checkpoints and metrics)'),
  type: z.string().min(1).describe('Plugin type: file, syslog, logicmonitor, http, or the type a third-party plugin declares'),
  plugin: z.string().optional().describe('Path (relative to the config file) or npm package of a third-party plugin'),
  enabled: z.boolean().default(true).describe('Set false to keep a block in the file without running it'),
});

/** How a receiver's deliveries are retried (specs/slack-webhooks.md §6). */
const deliverySchema = (timeoutMs: number) => z.object({
  timeout: duration('Per-request timeout').default(timeoutMs),
  max_attempts: z.number().int().min(1).max(100).default(5).describe('Attempts before a delivery is marked dead'),
  backoff: duration('Delay before the first retry; doubles each attempt, with full jitter').default(1000),
  max_backoff: duration('Longest delay between attempts').default(60_000),
}).strict().default({ timeout: timeoutMs, max_attempts: 5, backoff: 1000, max_backoff: 60_000 })
  .describe('Retry policy: timeout, attempts, exponential backoff (429 waits for Retry-After)');

export const receiverSchema = z.discriminatedUnion('type', [
  z.object({
    name, type: z.literal('slack'),
    url: z.string().url().describe('Slack incoming-webhook URL (secret: use ${ENV} or url_file)'),
    delivery: deliverySchema(10_000),
  }).strict(),
  z.object({
    name, type: z.literal('webhook'),
    url: z.string().url().describe('Receiver URL'),
    secret: z.string().optional().describe('Standard Webhooks signing secret (whsec_… base64); unsigned when absent'),
    signature: z.enum(['standard-webhooks', 'slack-v0']).default('standard-webhooks')
      .describe('How the body is signed: webhook-signature (Standard Webhooks) or X-Slack-Signature (v0, for receivers written against Slack)'),
    headers: z.record(z.string(), z.string()).default({}).describe('Extra HTTP headers'),
    delivery: deliverySchema(15_000),
  }).strict(),
  z.object({ name, type: z.literal('stdout') }).strict(),
]).describe('Where digests are delivered');

export const digestSchema = z.object({
  name,
  schedule: z.string().refine((s) => validCron(s), 'not a valid cron expression (5 fields, or 6 with seconds first)')
    .describe('node-cron expression, e.g. "0 9 * * 1-5" (5 fields, or 6 with seconds)'),
  timezone: z.string().refine((tz) => { try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch { return false; } },
    'not an IANA time zone (e.g. Europe/Berlin, UTC)').optional().describe('IANA time zone of the schedule; default the host zone'),
  receivers: z.array(name).min(1).describe('Names of receivers[] to deliver to'),
  min_attention: z.enum(ATTENTION_BANDS).default('watch').describe('Lowest attention band included'),
  max_items: z.number().int().min(1).max(100).default(10).describe('Most items in one digest'),
  lookback: duration('Window the digest reports on').default(86_400_000),
  send_empty: z.boolean().default(false).describe('Deliver a digest even when it has no items'),
  escalation_factor: z.number().min(1).default(2)
    .describe('An item an earlier digest reported is repeated only when its band rose or its count or hosts grew by this factor'),
}).strict();

export const weightsSchema = z.object({
  recurrence: z.number().min(0).default(1),
  recovery: z.number().min(0).default(1),
  spread: z.number().min(0).default(1),
  novelty: z.number().min(0).default(1),
  impact: z.number().min(0).default(1),
  precursor: z.number().min(0).default(1),
  memory_weight: z.number().min(0).default(1),
}).strict().describe('Relative weight of each score dimension (default equal)');

export const configSchema = z.object({
  tenant_id: z.string().min(1).default('default').describe('Tenant id stamped on every event'),
  storage: z.object({
    path: z.string().default('.brainstem/brainstem.db').describe('SQLite database file (relative to the working directory)'),
    retention_days: z.number().positive().default(14).describe('Events are deleted this many days after they arrived; signatures, candidates and incidents are kept'),
    max_bytes: z.number().int().positive().optional().describe('Optional cap on the database size; oldest events are deleted first'),
  }).strict().default({ path: '.brainstem/brainstem.db', retention_days: 14 }),
  pipeline: z.object({
    batch_size: z.number().int().min(1).max(100_000).default(4000).describe('Most envelopes per transaction (emits are never split); under load batches grow to this size, which amortizes index page writes'),
    flush_interval: duration('How long an emit may wait for more to join its batch when the writer is idle (0: commit at once; batches still grow to batch_size while a write is in progress)').default(0),
    queue_capacity: z.number().int().min(1).default(20_000).describe('Envelopes waiting to be taken into a batch before connectors are slowed down (parsed batches waiting for the writer are bounded separately)'),
    utc: z.boolean().default(false).describe('Read year-less syslog timestamps as UTC instead of the host zone'),
  }).strict().default({ batch_size: 4000, flush_interval: 0, queue_capacity: 20_000, utc: false }),
  miner: z.object({
    similarity: z.number().min(0).max(1).optional().describe('Share of equal tokens for a line to join a template'),
    depth: z.number().int().min(1).max(10).optional().describe('Leading tokens used to route lines'),
    max_children: z.number().int().min(2).optional().describe('Accepted for compatibility; routing no longer caps children'),
    settled: z.number().int().min(1).optional().describe("Lines after which a template's unchanged tokens count as fixed text"),
  }).strict().default({}),
  scoring: z.object({
    lookback: duration('Window scores are computed over').default(86_400_000),
    interval: duration('How often the daemon recomputes candidates').default(60_000),
    min_occurrences: z.number().int().min(1).default(2).describe('Signatures seen fewer times in the window are not candidates'),
    weights: weightsSchema.default({ recurrence: 1, recovery: 1, spread: 1, novelty: 1, impact: 1, precursor: 1, memory_weight: 1 }),
  }).strict().default({ lookback: 86_400_000, interval: 60_000, min_occurrences: 2, weights: { recurrence: 1, recovery: 1, spread: 1, novelty: 1, impact: 1, precursor: 1, memory_weight: 1 } }),
  connectors: z.array(connectorBase.passthrough()).default([]).describe('Inputs; each type adds its own options'),
  receivers: z.array(receiverSchema).default([]),
  digests: z.array(digestSchema).default([]),
  api: z.object({
    enabled: z.boolean().default(true).describe('Serve the HTTP API'),
    listen: z.string().default('127.0.0.1:8787').describe('host:port of the HTTP API (loopback by default)'),
    token: z.string().optional().describe('Bearer token; required when listening on a non-loopback address'),
    max_body_bytes: z.number().int().min(1024).default(10 * 1024 * 1024).describe('Largest POST /v1/events body (bytes); larger requests get 413'),
  }).strict().default({ enabled: true, listen: '127.0.0.1:8787', max_body_bytes: 10 * 1024 * 1024 }),
  log: z.object({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  }).strict().default({ level: 'info' }),
  shutdown_timeout: duration('Longest graceful stop before the process exits').default(10_000),
}).strict();

export type Config = z.output<typeof configSchema>;
export type ConnectorConfig = z.output<typeof connectorBase> & Record<string, unknown>;
export type ReceiverConfig = z.output<typeof receiverSchema>;
export type DigestConfig = z.output<typeof digestSchema>;
