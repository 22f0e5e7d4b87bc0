// The outbox sender: delivers pending rows with undici, one serialized queue per receiver (never
// two requests in parallel to one URL, token bucket 1/s burst 3), timeouts, exponential backoff
// with full jitter, Retry-After on 429, an attempt cap (then dead, with the reason). Every state
// change is written to the store before the next step, so a restart resumes where it stopped.
import { Agent, request } from 'undici';
import type { ReceiverConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { SqliteStore } from '../store/sqlite.js';
import {
  markDead, markPartSent, markRetry, markSent, pendingHeads, replacePayload, type OutboxRow,
} from '../store/outbox.js';
import { SLACK_LIMITS, truncate, type SlackMessage } from './slack.js';
import { webhookHeaders } from './webhook.js';

export const USER_AGENT = 'brainstem/0.1';

/** What the outbox stores per row (`payload` column, JSON). */
export type OutboxPayload =
  | { type: 'slack'; messages: SlackMessage[]; fallback: SlackMessage[]; textOnly?: boolean }
  | { type: 'webhook'; body: string }
  | { type: 'stdout'; text: string };

export interface DeliveryPolicy {
  timeout: number;
  max_attempts: number;
  backoff: number;
  max_backoff: number;
}

export const DEFAULT_POLICY: DeliveryPolicy = { timeout: 10_000, max_attempts: 5, backoff: 1000, max_backoff: 60_000 };

/** The verdict on one HTTP response or transport failure. */
export type Verdict =
  | { kind: 'ok' }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'dead'; reason: string; disable?: boolean }
  | { kind: 'invalid_blocks'; reason: string };

/** Slack error tokens after which the destination stays disabled until its config changes (spec §6). */
const SLACK_DISABLING = new Set(['no_service', 'no_team', 'channel_not_found', 'channel_is_archived', 'action_prohibited', 'invalid_token', 'team_disabled']);

/** `Retry-After` as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v.trim()) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** Classify a response: 2xx ok; 429, 408 and 5xx retried; 3xx and other 4xx permanent (spec §3, §6, §7). */
export function classify(receiverType: 'slack' | 'webhook', status: number, body: string, retryAfterMs: number | undefined): Verdict {
  const token = truncate(body.trim().replace(/\s+/g, ' '), 200);
  const what = `HTTP ${status}${token ? ` ${token}` : ''}`;
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 429 || status === 408 || status >= 500) return { kind: 'retry', reason: what, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  if (status >= 300 && status < 400) return { kind: 'dead', reason: `${what} (redirects are not followed; fix the URL)` };
  if (receiverType === 'slack') {
    if (status === 400 && /^invalid_blocks/.test(token)) return { kind: 'invalid_blocks', reason: what };
    if (SLACK_DISABLING.has(token)) return { kind: 'dead', reason: `${what}: destination disabled until its config changes`, disable: true };
  } else if (status === 410) {
    return { kind: 'dead', reason: `${what}: endpoint gone, destination disabled until its config changes`, disable: true };
  }
  return { kind: 'dead', reason: what };
}

/** Full-jitter exponential backoff: uniform in [0, min(max, base·2^(attempt−1))]. */
export function backoffMs(attempt: number, policy: DeliveryPolicy, random: () => number): number {
  const cap = Math.min(policy.max_backoff, policy.backoff * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * cap);
}

/** Where the secret part of a URL is, it is never logged: keep scheme, host and the first path segment. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const first = u.pathname.split('/').filter(Boolean)[0];
    return `${u.protocol}//${u.host}/${first ? `${first}/…` : ''}`;
  } catch {
    return '[unparseable url]';
  }
}

/** Per-receiver counters since the process started. */
export interface ReceiverCounters {
  sent: number;
  retried: number;
  dead: number;
  disabled: string | null;
}

export interface SenderOptions {
  /** Where stdout receivers write (default: process.stdout). */
  writeStdout?: (text: string) => void;
  now?: () => number;
  random?: () => number;
  /** Longest sleep between scans of the outbox when nothing is due. */
  pollMs?: number;
  /** Token bucket per receiver: refill per second and burst (spec §5). */
  ratePerSecond?: number;
  burst?: number;
}

class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(private readonly rate: number, private readonly burst: number, now: number) {
    this.tokens = burst;
    this.last = now;
  }
  /** ms to wait before a token is available (0: take it now). */
  take(now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  if (signal.aborted || ms <= 0) return resolve();
  const t = setTimeout(done, ms);
  function done() {
    clearTimeout(t);
    signal.removeEventListener('abort', done);
    resolve();
  }
  signal.addEventListener('abort', done, { once: true });
});

export class OutboxSender {
  private readonly receivers: Map<string, ReceiverConfig>;
  private readonly counters = new Map<string, ReceiverCounters>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly busy = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  /** Our own connection pool, closed on stop so a one-shot CLI run exits at once. */
  private readonly dispatcher = new Agent({ keepAliveTimeout: 30_000 });
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly writeStdout: (text: string) => void;

  constructor(
    private readonly store: SqliteStore,
    receivers: ReceiverConfig[],
    private readonly logger: Logger,
    private readonly opts: SenderOptions = {},
  ) {
    this.receivers = new Map(receivers.map((r) => [r.name, r]));
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.writeStdout = opts.writeStdout ?? ((t) => { process.stdout.write(t); });
    for (const r of receivers) this.counter(r.name);
  }

  private counter(receiver: string): ReceiverCounters {
    let c = this.counters.get(receiver);
    if (!c) this.counters.set(receiver, (c = { sent: 0, retried: 0, dead: 0, disabled: null }));
    return c;
  }

  /** sent / retried / dead per receiver since start, and why a receiver is disabled. */
  stats(): Record<string, ReceiverCounters> {
    return Object.fromEntries([...this.counters].map(([k, v]) => [k, { ...v }]));
  }

  /** Run the loop: serve due rows now and whenever one becomes due. */
  start(): void {
    this.running = true;
    this.kick();
  }

  /** Look at the outbox now (after a digest was recorded). */
  kick(): void {
    if (!this.running || this.abort.signal.aborted) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.scan(), 0);
  }

  /** Stop: abort requests in flight (their rows stay pending, due now) and wait for them. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await Promise.allSettled([...this.busy.values()]);
    await this.dispatcher.destroy();
  }

  private scan(): void {
    this.timer = undefined;
    if (!this.running) return;
    const now = this.now();
    let wake = now + (this.opts.pollMs ?? 5000);
    try {
      for (const row of pendingHeads(this.store)) {
        if (this.busy.has(row.receiver)) continue;
        if (row.nextAttemptAt > now) {
          wake = Math.min(wake, row.nextAttemptAt);
          continue;
        }
        const p = this.attempt(row).then(() => undefined, (err) => this.logger.error({ err, receiver: row.receiver }, 'delivery failed unexpectedly'))
          .finally(() => {
            this.busy.delete(row.receiver);
            this.kick();
          });
        this.busy.set(row.receiver, p);
      }
    } catch (err) {
      this.logger.error({ err }, 'outbox scan failed');
    }
    if (this.running) this.timer = setTimeout(() => this.scan(), Math.max(10, wake - now));
  }

  /**
   * One-shot delivery (the CLI): one attempt for each of these rows, in order; rows that fail
   * stay pending for the daemon (or are dead when permanent).
   */
  async deliverOnce(rows: OutboxRow[]): Promise<void> {
    for (const row of rows) await this.attempt(row);
  }

  /** One attempt at a row (all its remaining parts); records the outcome in the store. */
  async attempt(row: OutboxRow): Promise<'sent' | 'pending' | 'dead'> {
    const rc = this.receivers.get(row.receiver);
    const counter = this.counter(row.receiver);
    const attempts = row.attempts + 1;
    if (!rc) {
      markDead(this.store, row.id, attempts, `receiver "${row.receiver}" is no longer configured`, null, this.now());
      counter.dead++;
      return 'dead';
    }
    if (counter.disabled) {
      markDead(this.store, row.id, row.attempts, `destination disabled: ${counter.disabled}`, null, this.now());
      counter.dead++;
      return 'dead';
    }
    const policy: DeliveryPolicy = rc.type === 'stdout' ? DEFAULT_POLICY : rc.delivery;
    const payload = JSON.parse(row.payload) as OutboxPayload;
    let verdict: Verdict;
    let status: number | null = null;
    try {
      ({ verdict, status } = await this.send(row, rc, payload, policy));
    } catch (err) {
      verdict = { kind: 'retry', reason: transportError(err) };
    }
    const now = this.now();
    const log = { receiver: row.receiver, delivery: row.id, attempt: attempts, status };
    if (verdict.kind === 'ok') {
      markSent(this.store, row.id, attempts, status, now);
      counter.sent++;
      if (attempts > 1) this.logger.info(log, 'digest delivered after retries');
      else this.logger.debug(log, 'digest delivered');
      return 'sent';
    }
    if (verdict.kind === 'retry' && this.abort.signal.aborted) {
      // interrupted by shutdown: the request may or may not have landed; resend after restart
      markRetry(this.store, row.id, attempts, now, `interrupted by shutdown (${verdict.reason})`, status);
      return 'pending';
    }
    if (verdict.kind === 'retry' && attempts < policy.max_attempts) {
      // Retry-After is a floor: plus up to 1 s of jitter so queues do not wake in step
      const delay = verdict.retryAfterMs !== undefined
        ? verdict.retryAfterMs + Math.round(this.random() * 1000)
        : backoffMs(attempts, policy, this.random);
      markRetry(this.store, row.id, attempts, now + delay, verdict.reason, status);
      counter.retried++;
      this.logger.warn({ ...log, retry_in_ms: delay, reason: verdict.reason }, 'digest delivery failed; will retry');
      return 'pending';
    }
    const reason = verdict.kind === 'retry' ? `gave up after ${attempts} attempts: ${verdict.reason}` : verdict.reason;
    markDead(this.store, row.id, attempts, reason, status, now);
    counter.dead++;
    if (verdict.kind === 'dead' && verdict.disable) counter.disabled = verdict.reason;
    this.logger.error({ ...log, reason }, 'digest delivery dead');
    return 'dead';
  }

  private async send(row: OutboxRow, rc: ReceiverConfig, payload: OutboxPayload, policy: DeliveryPolicy): Promise<{ verdict: Verdict; status: number | null }> {
    if (rc.type === 'stdout' || payload.type === 'stdout') {
      this.writeStdout(payload.type === 'stdout' ? payload.text : `${row.payload}\n`);
      return { verdict: { kind: 'ok' }, status: null };
    }
    if (rc.type === 'webhook' && payload.type === 'webhook') {
      const headers = {
        ...rc.headers,
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        ...webhookHeaders(row.id, payload.body, rc.secret, Math.floor(this.now() / 1000), rc.signature),
      };
      await this.waitForToken(row.receiver);
      return this.post(rc, headers, payload.body, policy);
    }
    if (rc.type === 'slack' && payload.type === 'slack') return this.sendSlack(row, rc, payload, policy);
    return { verdict: { kind: 'dead', reason: `payload of type ${payload.type} cannot go to a ${rc.type} receiver` }, status: null };
  }

  /** The remaining parts of a Slack digest in order; each 2xx part is recorded before the next. */
  private async sendSlack(row: OutboxRow, rc: Extract<ReceiverConfig, { type: 'slack' }>, payload: Extract<OutboxPayload, { type: 'slack' }>, policy: DeliveryPolicy): Promise<{ verdict: Verdict; status: number | null }> {
    let messages = payload.messages;
    let sent = row.partsSent;
    let last: { verdict: Verdict; status: number | null } = { verdict: { kind: 'ok' }, status: null };
    while (sent < messages.length) {
      await this.waitForToken(row.receiver);
      if (this.abort.signal.aborted) return { verdict: { kind: 'retry', reason: 'shutdown' }, status: null };
      const body = JSON.stringify(messages[sent]);
      last = await this.post(rc, {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': USER_AGENT,
        'x-brainstem-delivery-id': row.id,
        'idempotency-key': `${row.id}.${sent + 1}`,
        'x-brainstem-part': `${sent + 1}/${messages.length}`,
      }, body, policy);
      if (last.verdict.kind === 'invalid_blocks' && !payload.textOnly) {
        // Slack rejected the layout: resend once as text only (spec §3); a part already
        // delivered with blocks is not repeated, later parts become their text fallback
        this.logger.warn({ receiver: row.receiver, delivery: row.id, reason: last.verdict.reason }, 'slack rejected blocks; sending text only');
        const rest = sent === 0 ? payload.fallback : messages.slice(sent).map(textOnly);
        messages = rest;
        payload = { ...payload, messages: rest, textOnly: true };
        replacePayload(this.store, row.id, JSON.stringify(payload), 0);
        sent = 0;
        continue;
      }
      if (last.verdict.kind === 'invalid_blocks') return { verdict: { kind: 'dead', reason: last.verdict.reason }, status: last.status };
      if (last.verdict.kind !== 'ok') return last;
      sent++;
      markPartSent(this.store, row.id, sent);
    }
    return last;
  }

  private async waitForToken(receiver: string): Promise<void> {
    let bucket = this.buckets.get(receiver);
    if (!bucket) this.buckets.set(receiver, (bucket = new TokenBucket(this.opts.ratePerSecond ?? 1, this.opts.burst ?? 3, this.now())));
    for (;;) {
      const wait = bucket.take(this.now());
      if (wait === 0 || this.abort.signal.aborted) return;
      await sleep(wait, this.abort.signal);
    }
  }

  private async post(rc: { url: string; type: 'slack' | 'webhook' }, headers: Record<string, string>, body: string, policy: DeliveryPolicy): Promise<{ verdict: Verdict; status: number | null }> {
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(policy.timeout)]);
    const res = await request(rc.url, {
      method: 'POST', headers, body, signal, headersTimeout: policy.timeout, bodyTimeout: policy.timeout, dispatcher: this.dispatcher,
    });
    const text = await res.body.text();
    const retryAfter = parseRetryAfter(res.headers['retry-after'], this.now());
    return { verdict: classify(rc.type, res.statusCode, text, retryAfter), status: res.statusCode };
  }
}

function textOnly(m: SlackMessage): SlackMessage {
  const texts = (m.blocks ?? []).flatMap((b: any) => (b.text?.text ? [b.text.text] : (b.elements ?? []).map((e: any) => e.text ?? '')));
  return { text: truncate(texts.join('\n') || m.text, SLACK_LIMITS.text), unfurl_links: false, unfurl_media: false };
}

/** A transport failure in words, without the URL (it is the credential for Slack). */
function transportError(err: unknown): string {
  const e = err as Error & { code?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') return 'timeout (no answer in time; the post may have landed)';
  if (e.name === 'AbortError' || e.code === 'UND_ERR_ABORTED') return 'aborted (timeout or shutdown)';
  const code = e.code ?? e.cause?.code;
  return code ? `network error ${code}` : `network error: ${e.message}`;
}
