// The HTTP edge of the LogicMonitor connector: one pooled undici client per connector, every
// request signed fresh with `X-Version: 3`, and the fault rules of the issue — 429 waits for
// the rate-limit window, 5xx/timeouts retry with exponential backoff and jitter, 401/403 and
// malformed bodies fail at once with a typed error the connector turns into its error state.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { authorizationHeader, type LogicMonitorAuth } from './auth.js';

export type LogicMonitorErrorCode =
  | 'auth' | 'forbidden' | 'rate_limited' | 'server' | 'timeout' | 'network' | 'malformed' | 'bad_request' | 'http';

/** A failed API call. `message` never contains credentials; it carries the portal's errorMessage. */
export class LogicMonitorError extends Error {
  constructor(
    readonly code: LogicMonitorErrorCode,
    message: string,
    readonly status?: number,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'LogicMonitorError';
  }
}

export interface ClientOptions {
  baseUrl: string;
  auth: LogicMonitorAuth;
  timeoutMs: number;
  maxRetries: number;
  retryInitialMs: number;
  retryMaxMs: number;
  maxRateLimitWaitMs: number;
  /** Called with each response's X-Rate-Limit-Remaining (for the gauge). */
  onRateLimit?: (remaining: number, limit: number) => void;
  /** Told about each retry, for logs (no secrets in the arguments). */
  onRetry?: (info: { attempt: number; waitMs: number; reason: string }) => void;
  now?: () => number;
  random?: () => number;
}

/** What a list call returns once the v1 wrapper (if any) is removed. */
export interface AlertPage {
  items: Array<Record<string, unknown>>;
  total?: number;
  searchId?: unknown;
}

const RETRYABLE_NETWORK = new Set([
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET',
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
]);
// v1 in-body statuses that mean "try again": internal error, query timed out (spec §1).
const RETRYABLE_V1_STATUS = new Set([1001, 1101, 1500]);

/** A numeric header, or undefined when absent or not a number. */
function headerNumber(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Milliseconds to wait after a 429 or an exhausted window: Retry-After, else the window, else 60 s. */
export function rateLimitWaitMs(headers: Record<string, string | string[] | undefined>, nowMs: number): number {
  const retryAfter = Array.isArray(headers['retry-after']) ? headers['retry-after'][0] : headers['retry-after'];
  if (retryAfter !== undefined) {
    const secs = Number(retryAfter);
    if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - nowMs);
  }
  const windowSec = headerNumber(headers['x-rate-limit-window']);
  return (windowSec ?? 60) * 1000;
}

export class LogicMonitorClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Set when a response said X-Rate-Limit-Remaining: 0; the next request waits until then. */
  private pausedUntilMs = 0;

  constructor(private readonly opts: ClientOptions) {
    const url = new URL(opts.baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.pool = new Pool(url.origin, {
      connections: 2,
      connectTimeout: opts.timeoutMs,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
  }

  /** GET /alert/alerts with the given query parameters, retried per the fault rules. */
  listAlerts(query: Record<string, string>, signal?: AbortSignal, maxRetries = this.opts.maxRetries): Promise<AlertPage> {
    return this.getJson('/alert/alerts', query, signal, maxRetries).then((body) => {
      const page = body as AlertPage;
      if (!page || typeof page !== 'object' || !Array.isArray(page.items)) {
        throw new LogicMonitorError('malformed', 'alert list response has no items array');
      }
      return page;
    });
  }

  async close(): Promise<void> {
    // destroy, not close: a hanging request must not hold up shutdown.
    await this.pool.destroy();
  }

  private async getJson(resourcePath: string, query: Record<string, string>, signal: AbortSignal | undefined, maxRetries: number): Promise<unknown> {
    const path = `${this.basePath}${resourcePath}?${new URLSearchParams(query).toString()}`;
    let failures = 0;
    for (;;) {
      const pause = this.pausedUntilMs - this.now();
      if (pause > 0) await sleep(Math.min(pause, this.opts.maxRateLimitWaitMs), undefined, { signal });
      let error: LogicMonitorError;
      let waitMs: number | undefined;
      try {
        return await this.getOnce(path, resourcePath, signal);
      } catch (e) {
        if (signal?.aborted) throw signal.reason ?? e;
        error = e instanceof LogicMonitorError ? e : this.networkError(e);
        if (error.code === 'rate_limited') waitMs = (error as RateLimitedError).waitMs;
      }
      if (!error.retryable || failures >= maxRetries) throw error;
      failures++;
      if (waitMs === undefined) {
        // Exponential backoff with "equal jitter": half fixed, half random, so retries spread out.
        const base = Math.min(this.opts.retryMaxMs, this.opts.retryInitialMs * 2 ** (failures - 1));
        waitMs = base / 2 + (base / 2) * this.random();
      }
      waitMs = Math.min(waitMs, error.code === 'rate_limited' ? this.opts.maxRateLimitWaitMs : this.opts.retryMaxMs);
      this.opts.onRetry?.({ attempt: failures, waitMs, reason: error.message });
      await sleep(waitMs, undefined, { signal });
    }
  }

  private networkError(e: unknown): LogicMonitorError {
    const code = (e as { code?: string }).code ?? '';
    const timeout = code.includes('TIMEOUT');
    const message = `${timeout ? 'timeout' : 'network error'} talking to LogicMonitor (${code || (e as Error).message})`;
    return new LogicMonitorError(timeout ? 'timeout' : 'network', message, undefined, timeout || RETRYABLE_NETWORK.has(code) || code === '');
  }

  private async getOnce(path: string, resourcePath: string, signal: AbortSignal | undefined): Promise<unknown> {
    const res = await this.pool.request({
      method: 'GET',
      path,
      signal,
      headers: {
        authorization: authorizationHeader(this.opts.auth, 'GET', resourcePath, '', this.now()),
        'x-version': '3',
        accept: 'application/json',
      },
    });
    const text = await res.body.text();
    const remaining = headerNumber(res.headers['x-rate-limit-remaining']);
    const limit = headerNumber(res.headers['x-rate-limit-limit']);
    if (remaining !== undefined) {
      this.opts.onRateLimit?.(remaining, limit ?? 0);
      // Pause ourselves rather than spend a request on a certain 429 (spec §4).
      if (remaining <= 0 && res.statusCode !== 429) this.pausedUntilMs = this.now() + rateLimitWaitMs(res.headers, this.now());
    }
    const status = res.statusCode;
    if (status === 429) {
      throw new RateLimitedError(rateLimitWaitMs(res.headers, this.now()));
    }
    if (status >= 200 && status < 300) return this.parseBody(text, status);
    const reason = errorReason(text) ?? `HTTP ${status}`;
    if (status === 401) throw new LogicMonitorError('auth', `authentication failed (HTTP 401: ${reason}); check the access id/key or token and the host clock (LMv1 allows 30 min of skew)`, status);
    if (status === 403) throw new LogicMonitorError('forbidden', `permission denied (HTTP 403: ${reason}); the API token's role needs view access to alerts`, status);
    if (status === 400) throw new LogicMonitorError('bad_request', `bad request (HTTP 400: ${reason})`, status);
    if (status >= 500) throw new LogicMonitorError('server', `server error (HTTP ${status}: ${reason})`, status, true);
    throw new LogicMonitorError('http', `unexpected HTTP ${status}: ${reason}`, status);
  }

  /** JSON body; a v1 wrapper `{status, errmsg, data}` is unwrapped and its status honoured (spec §1). */
  private parseBody(text: string, httpStatus: number): unknown {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new LogicMonitorError('malformed', `malformed JSON in HTTP ${httpStatus} response (${text.length} bytes: ${JSON.stringify(text.slice(0, 80))})`, httpStatus);
    }
    if (body && typeof body === 'object' && 'status' in body && 'data' in body && typeof (body as { status: unknown }).status === 'number') {
      const { status, errmsg, data } = body as { status: number; errmsg?: string; data: unknown };
      if (status === 200) return data;
      const msg = `LogicMonitor status ${status}: ${errmsg ?? ''}`.trim();
      if (status === 1401 || status === 401) throw new LogicMonitorError('auth', `authentication failed (${msg})`, 401);
      if (status === 1403 || status === 403) throw new LogicMonitorError('forbidden', `permission denied (${msg})`, 403);
      if (status === 1429 || status === 429) throw new RateLimitedError(60_000);
      throw new LogicMonitorError('server', msg, status, RETRYABLE_V1_STATUS.has(status));
    }
    return body;
  }
}

class RateLimitedError extends LogicMonitorError {
  constructor(readonly waitMs: number) {
    super('rate_limited', `rate limited (HTTP 429); waiting ${Math.round(waitMs / 1000)} s`, 429, true);
  }
}

/** The portal's `errorMessage` (v2/v3 error body), or undefined for HTML/empty bodies. */
function errorReason(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { errorMessage?: unknown; errorCode?: unknown };
    if (typeof body.errorMessage === 'string') return body.errorCode === undefined ? body.errorMessage : `${body.errorMessage}, errorCode ${String(body.errorCode)}`;
  } catch {
    /* gateways answer 502/503 with HTML */
  }
  return undefined;
}
