// Options of the `logicmonitor` connector (README.md has the table): validated once at load,
// durations turned into milliseconds, the base URL derived from `account` when not given.
import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `10m`, `24h`, `1.5h`, `500ms`, or a bare number of seconds → milliseconds. */
const duration = z.union([
  z.number().nonnegative().transform((s) => s * 1000),
  z.string().trim().regex(DURATION, 'a duration like 500ms, 30s, 10m, 24h or 7d').transform((text) => {
    const [, n, unit] = DURATION.exec(text)!;
    return Number(n) * UNIT_MS[unit!]!;
  }),
]);

const nonEmpty = z.string().min(1);

export const authSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('lmv1'), access_id: nonEmpty, access_key: nonEmpty }).strict(),
  z.object({ type: z.literal('bearer'), token: nonEmpty }).strict(),
]);

export const logicMonitorSchema = z
  .object({
    /** Portal name (`acme` → https://acme.logicmonitor.com/santaba/rest) or a full host (`acme.lmgov.us`). */
    account: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'a portal name like "acme" or a host like "acme.lmgov.us"').optional()
      .describe('Portal name (acme → https://acme.logicmonitor.com/santaba/rest) or host (acme.lmgov.us); or give base_url'),
    /** Full REST base URL, ending in /santaba/rest (for proxies and the test fake). */
    base_url: z.url({ protocol: /^https?$/ }).optional().describe('Full REST base URL ending in /santaba/rest; or give account'),
    auth: authSchema.describe('{ type: lmv1, access_id, access_key } or { type: bearer, token }; use ${ENV} or *_file'),
    schedule: z.string().default('* * * * *').refine((s) => isValidCron(s), 'not a valid cron expression (5 or 6 fields)')
      .describe('node-cron expression for polls (default every minute); a poll also runs at start'),
    filter: z.string().refine((f) => !f.includes('||'), 'must not use || (it would OR away the time window); use | inside one clause').optional()
      .describe('Extra LogicMonitor filter clauses ANDed to the time window, e.g. severity:"4"|"3"'),
    page_size: z.number().int().min(1).max(1000).default(500).describe('Alerts per request (API maximum 1000)'),
    include_cleared: z.boolean().default(true).describe('Emit a recovery event when an alert clears'),
    initial_lookback: duration.default(86_400_000).describe('First start only: how far back to read (default 24h)'),
    overlap: duration.default(600_000).describe('Re-read this much before the cursor for late-stamped alerts (default 10m)'),
    timeout: duration.default(30_000).describe('Connect, headers and body-idle timeout per request (default 30s)'),
    max_retries: z.number().int().min(0).max(20).default(3).describe('Retries on 5xx, timeouts and 429 before the poll fails'),
    retry_initial_delay: duration.default(1000).describe('First backoff delay (default 1s), doubled per retry, with jitter'),
    retry_max_delay: duration.default(60_000).describe('Longest backoff delay (default 60s)'),
    max_rate_limit_wait: duration.default(300_000).describe('Longest wait for a rate-limit window (default 5m)'),
    offset_limit: z.number().int().min(1).default(10_000).describe('Rows one query can page through before the window is narrowed'),
  })
  .strict()
  .refine((c) => (c.account === undefined) !== (c.base_url === undefined), {
    message: 'give exactly one of account or base_url',
    path: ['account'],
  })
  .transform((c) => ({
    ...c,
    base_url: (c.base_url ?? (c.account!.includes('.') ? `https://${c.account}/santaba/rest` : `https://${c.account}.logicmonitor.com/santaba/rest`)).replace(/\/+$/, ''),
  }));

export type LogicMonitorConfig = z.output<typeof logicMonitorSchema>;
export type LogicMonitorInput = z.input<typeof logicMonitorSchema>;
