// A faithful local fake of LogicMonitor's REST API for alert polling, written from
// shared/specs/logicmonitor-api.md (§6 checklist), not from brainstem's client: a real HTTP
// server on 127.0.0.1 that checks LMv1/Bearer auth, serves /santaba/rest/alert/alerts with
// filters, sorting and paging limits, rate-limits, and injects faults on demand.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { FilterSyntaxError, filterMentions, matchesFilter, parseFilter, type Filter } from './filter.js';

export const BASE_PATH = '/santaba/rest';
export const SKEW_WINDOW_MS = 30 * 60_000;

/** An alert as the v3 API returns it (every field optional in reality; ours always carry the core ones). */
export interface FakeAlert {
  id: string;
  internalId: string;
  type: string;
  severity: number;
  startEpoch: number;
  endEpoch: number;
  cleared: boolean;
  acked: boolean;
  sdted: boolean;
  rule: string;
  chain: string;
  monitorObjectId: number;
  monitorObjectName: string;
  monitorObjectType: string;
  resourceTemplateName: string;
  instanceName: string;
  dataPointName: string;
  alertValue: string;
  threshold: string;
  clearValue?: string;
  [extra: string]: unknown;
}

/** One scripted fault, applied to a matching request instead of the normal answer. */
export type Fault =
  | { kind: 'status'; status: number; errorCode?: number; errorMessage?: string }
  | { kind: 'html'; status: 502 | 503 | 504 }
  | { kind: 'rate-limit'; retryAfterSec?: number; windowSec?: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  | { kind: 'hang-body' }
  | { kind: 'reset' }
  | { kind: 'malformed' }
  | { kind: 'v1-status'; status: number; errmsg?: string };

export interface JournalEntry {
  n: number;
  method: string;
  path: string;
  rawQuery: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** For LMv1 requests: the signature the client sent and the one the fake computed. */
  suppliedSignature?: string;
  computedSignature?: string;
  status: number;
  atMs: number;
}

export interface FakeOptions {
  /** LMv1 access id → access key. */
  accessKeys?: Record<string, string>;
  /** Accepted Bearer tokens. */
  bearerTokens?: string[];
  /** LMv1 timestamp tolerance (default ±30 min). */
  skewMs?: number;
  /** Server clock in ms (tests move time). */
  now?: () => number;
  /** Largest page; above it `size` is clamped (default) or rejected with 400. */
  maxSize?: number;
  sizeMode?: 'clamp' | 'reject';
  /** Rows reachable by offset paging; past it `items` is empty (default) or 400. */
  offsetLimit?: number;
  offsetLimitMode?: 'empty' | 'error';
  /** `total` is the exact count or a negative number ("more exist"). */
  totalMode?: 'exact' | 'negative';
  /** Token bucket per method+path: `limit` requests per `windowSec` (default 10000 / 60 s). */
  rateLimit?: { limit: number; windowSec: number };
  /** Called for every alert-list request before results are computed: mutate alerts "during" paging. */
  onListRequest?: (n: number, query: URLSearchParams) => void;
}

const ERROR_CODES: Record<number, string> = {
  400: 'Bad Request', 401: 'Authentication failed', 403: 'Permission denied', 404: 'Not Found',
  429: 'Too Many Requests', 500: 'Internal Server Error',
};

/** The spec's LMv1 signature: Base64 of the lower-case hex HMAC-SHA256 of VERB+epoch+body+resourcePath. */
export function lmv1Signature(accessKey: string, verb: string, epoch: string, body: string, resourcePath: string): string {
  const hex = createHmac('sha256', accessKey).update(verb + epoch + body + resourcePath).digest('hex');
  return Buffer.from(hex).toString('base64');
}

export class FakeLogicMonitor {
  readonly alerts = new Map<string, FakeAlert>();
  readonly journal: JournalEntry[] = [];
  private readonly faults: Array<{ fault: Fault; remaining: number }> = [];
  private readonly faultsAt = new Map<number, Fault>();
  private readonly buckets = new Map<string, { tokens: number; updatedMs: number }>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private requestCount = 0;
  /** Bumped by upsert/clear; keys the sorted-rows cache so 100 pages do not sort 100 times. */
  private version = 0;
  private sorted: { key: string; version: number; rows: FakeAlert[] } | undefined;
  readonly opts: Required<Omit<FakeOptions, 'onListRequest'>> & Pick<FakeOptions, 'onListRequest'>;
  port = 0;

  constructor(opts: FakeOptions = {}) {
    this.opts = {
      accessKeys: {}, bearerTokens: [], skewMs: SKEW_WINDOW_MS, now: Date.now, maxSize: 1000, sizeMode: 'clamp',
      offsetLimit: 10_000, offsetLimitMode: 'empty', totalMode: 'exact', rateLimit: { limit: 10_000, windowSec: 60 },
      ...opts,
    };
  }

  /** `http://127.0.0.1:PORT/santaba/rest` — what a client's base_url is. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}${BASE_PATH}`;
  }

  async listen(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // --- data model -------------------------------------------------------------------------

  upsert(...alerts: FakeAlert[]): void {
    for (const a of alerts) this.alerts.set(a.id, { ...a });
    this.version++;
  }

  /** Clear an alert the way LogicMonitor does: cleared, endEpoch set, clearValue, never in SDT. */
  clear(id: string, endEpoch: number, clearValue = '0'): void {
    const a = this.alerts.get(id);
    if (!a) throw new Error(`no alert ${id}`);
    Object.assign(a, { cleared: true, endEpoch, clearValue, sdted: false });
    this.version++;
  }

  // --- fault injection --------------------------------------------------------------------

  /** Answer the next `times` requests with `fault`. */
  inject(fault: Fault, times = 1): void {
    this.faults.push({ fault, remaining: times });
  }

  /** Answer request number `n` (1-based, counted over all requests) with `fault`. */
  injectAt(n: number, fault: Fault): void {
    this.faultsAt.set(n, fault);
  }

  /** Requests to the alert list, in order. */
  listRequests(): JournalEntry[] {
    return this.journal.filter((j) => j.path === `${BASE_PATH}/alert/alerts`);
  }

  // --- request handling -------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void this.respond(req, res, Buffer.concat(chunks).toString('utf8')).catch((e: unknown) => {
        if (!res.headersSent) this.sendError(res, 500, true, String(e));
      });
    });
  }

  private async respond(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const n = ++this.requestCount;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const entry: JournalEntry = {
      n, method, path: url.pathname, rawQuery: url.search.slice(1), query: url.searchParams, headers: req.headers,
      status: 0, atMs: Date.now(),
    };
    this.journal.push(entry);
    // v2 and v3 share one response format; without a version the portal answers v1 (spec §1).
    const version = Number(req.headers['x-version'] ?? url.searchParams.get('v') ?? 1);
    const v3 = version >= 2;
    const send = (status: number, payload: unknown): void => {
      entry.status = status;
      this.sendJson(res, status, payload, v3);
    };

    this.setRateLimitHeaders(res, method, url.pathname);

    const fault = this.takeFault(n);
    if (fault) {
      const handled = await this.applyFault(fault, req, res, entry, v3);
      if (handled) return;
    }

    // Authentication comes before routing, as on a real portal.
    const auth = this.authenticate(req, method, url.pathname, body, entry);
    if (!auth.ok) return send(401, { errorMessage: 'Authentication failed', errorCode: 1401, errorDetail: null });

    const bucket = this.takeToken(method, url.pathname);
    if (!bucket) {
      return send(429, { errorMessage: 'Too Many Requests', errorCode: 1429, errorDetail: null });
    }

    if (method !== 'GET') return send(404, { errorMessage: 'Not Found', errorCode: 1404, errorDetail: null });
    if (url.pathname === `${BASE_PATH}/alert/alerts`) {
      this.opts.onListRequest?.(n, url.searchParams);
      const result = this.listAlerts(url.searchParams);
      if ('error' in result) return send(400, { errorMessage: result.error, errorCode: 1400, errorDetail: null });
      return send(200, result);
    }
    const single = new RegExp(`^${BASE_PATH}/alert/alerts/([^/]+)$`).exec(url.pathname);
    if (single) {
      const key = decodeURIComponent(single[1]!);
      const alert = this.alerts.get(key) ?? [...this.alerts.values()].find((a) => a.internalId === key);
      if (!alert) return send(404, { errorMessage: 'Alert not found', errorCode: 1404, errorDetail: null });
      return send(200, alert);
    }
    return send(404, { errorMessage: 'Not Found', errorCode: 1404, errorDetail: null });
  }

  private takeFault(n: number): Fault | undefined {
    const scripted = this.faultsAt.get(n);
    if (scripted) {
      this.faultsAt.delete(n);
      return scripted;
    }
    const next = this.faults[0];
    if (!next) return undefined;
    if (--next.remaining <= 0) this.faults.shift();
    return next.fault;
  }

  /** Returns true when the fault produced the whole answer; false to continue normally (delay). */
  private async applyFault(f: Fault, req: IncomingMessage, res: ServerResponse, entry: JournalEntry, v3: boolean): Promise<boolean> {
    switch (f.kind) {
      case 'delay':
        await new Promise((r) => setTimeout(r, f.ms));
        return false;
      case 'hang':
        entry.status = -1;
        return true; // never answer; the socket stays open until the client gives up
      case 'hang-body':
        entry.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"total":1,"items":[');
        return true;
      case 'reset':
        entry.status = -1;
        req.socket.destroy();
        return true;
      case 'malformed':
        entry.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"total":3,"items":[{"id":"DS1",');
        return true;
      case 'html':
        entry.status = f.status;
        res.writeHead(f.status, { 'content-type': 'text/html' });
        res.end(`<html><body><h1>${f.status} Service Temporarily Unavailable</h1></body></html>`);
        return true;
      case 'rate-limit': {
        entry.status = 429;
        if (f.retryAfterSec !== undefined) res.setHeader('Retry-After', String(f.retryAfterSec));
        if (f.windowSec !== undefined) res.setHeader('X-Rate-Limit-Window', String(f.windowSec));
        res.setHeader('X-Rate-Limit-Remaining', '0');
        this.sendJson(res, 429, { errorMessage: 'Too Many Requests', errorCode: 1429, errorDetail: null }, v3);
        return true;
      }
      case 'status': {
        entry.status = f.status;
        const errorMessage = f.errorMessage ?? ERROR_CODES[f.status] ?? 'Error';
        this.sendJson(res, f.status, { errorMessage, errorCode: f.errorCode ?? 1000 + f.status, errorDetail: null }, v3);
        return true;
      }
      case 'v1-status':
        entry.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: f.status, errmsg: f.errmsg ?? 'Query timed out', data: null }));
        return true;
    }
  }

  private authenticate(req: IncomingMessage, method: string, path: string, body: string, entry: JournalEntry): { ok: boolean } {
    const header = String(req.headers.authorization ?? '');
    const bearer = /^Bearer (.+)$/.exec(header);
    if (bearer) return { ok: this.opts.bearerTokens.includes(bearer[1]!) };
    const m = /^LMv1 ([^:]+):([^:]+):(\d+)$/.exec(header);
    if (!m) return { ok: false };
    const [, accessId, supplied, epoch] = m as unknown as [string, string, string, string];
    entry.suppliedSignature = supplied;
    const key = this.opts.accessKeys[accessId];
    if (key === undefined) return { ok: false };
    if (!path.startsWith(BASE_PATH)) return { ok: false };
    const resourcePath = path.slice(BASE_PATH.length);
    const expected = lmv1Signature(key, method, epoch, body, resourcePath);
    entry.computedSignature = expected;
    if (Math.abs(this.opts.now() - Number(epoch)) > this.opts.skewMs) return { ok: false };
    const a = Buffer.from(expected);
    const b = Buffer.from(supplied);
    return { ok: a.length === b.length && timingSafeEqual(a, b) };
  }

  /** Continuous-refill token bucket per method+path; headers go on every response. */
  private bucketFor(method: string, path: string): { tokens: number; updatedMs: number } {
    const key = `${method} ${path.startsWith(`${BASE_PATH}/alert/alerts/`) ? `${BASE_PATH}/alert/alerts/{id}` : path}`;
    const { limit, windowSec } = this.opts.rateLimit;
    const now = Date.now();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: limit, updatedMs: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(limit, b.tokens + ((now - b.updatedMs) / 1000) * (limit / windowSec));
    b.updatedMs = now;
    return b;
  }

  private setRateLimitHeaders(res: ServerResponse, method: string, path: string): void {
    const b = this.bucketFor(method, path);
    res.setHeader('X-Rate-Limit-Limit', String(this.opts.rateLimit.limit));
    res.setHeader('X-Rate-Limit-Remaining', String(Math.max(0, Math.floor(b.tokens) - 1)));
    res.setHeader('X-Rate-Limit-Window', String(this.opts.rateLimit.windowSec));
  }

  private takeToken(method: string, path: string): boolean {
    const b = this.bucketFor(method, path);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private listAlerts(q: URLSearchParams): { total: number; items: unknown[]; searchId: string | null } | { error: string } {
    let filter: Filter;
    try {
      filter = parseFilter(q.get('filter') ?? '');
    } catch (e) {
      if (e instanceof FilterSyntaxError) return { error: `Invalid filter: ${e.message}` };
      throw e;
    }
    let size = q.has('size') ? Number(q.get('size')) : 50;
    const offset = q.has('offset') ? Number(q.get('offset')) : 0;
    if (!Number.isInteger(size) || size < 0 || !Number.isInteger(offset) || offset < 0) {
      return { error: 'size and offset must be non-negative integers' };
    }
    if (size > this.opts.maxSize) {
      if (this.opts.sizeMode === 'reject') return { error: `size must be at most ${this.opts.maxSize}` };
      size = this.opts.maxSize;
    }
    const activeOnly = !filterMentions(filter, 'cleared');
    let rows = this.sortedRows(q.get('sort')).filter((a) => (!activeOnly || !a.cleared) && matchesFilter(a, filter));
    const total = rows.length;
    let page: FakeAlert[];
    if (offset >= this.opts.offsetLimit) {
      if (this.opts.offsetLimitMode === 'error') return { error: `Reached ${this.opts.offsetLimit} record query limitation` };
      page = [];
    } else {
      page = rows.slice(offset, Math.min(offset + size, this.opts.offsetLimit));
    }
    rows = [];
    const needMessage = q.get('needMessage') === 'true';
    const fields = q.get('fields')?.split(',').map((f) => f.trim()).filter(Boolean);
    const items = page.map((a) => {
      const out: Record<string, unknown> = { ...a };
      if (needMessage) {
        out.detailMessage = {
          subject: `${a.monitorObjectName} ${a.dataPointName}`,
          body: `${a.resourceTemplateName} ${a.instanceName} ${a.dataPointName} is ${a.alertValue}, threshold ${a.threshold}`,
        };
      }
      if (!fields) return out;
      return Object.fromEntries(fields.filter((f) => f in out).map((f) => [f, out[f]]));
    });
    return {
      total: this.opts.totalMode === 'negative' ? -1 : total,
      items,
      searchId: q.get('searchId'),
    };
  }

  /** All alerts in the order `sort` asks for (`±field`, ties by id); insertion order without it. */
  private sortedRows(sort: string | null): FakeAlert[] {
    const key = sort ?? '';
    if (this.sorted?.key === key && this.sorted.version === this.version) return this.sorted.rows;
    const rows = [...this.alerts.values()];
    if (sort) {
      const desc = sort.startsWith('-');
      const field = sort.replace(/^[+-]/, '');
      rows.sort((x, y) => {
        const a = x[field] as string | number | undefined;
        const b = y[field] as string | number | undefined;
        const c = a === b ? 0 : a === undefined ? -1 : b === undefined ? 1 : a < b ? -1 : 1;
        return (desc ? -c : c) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0); // stable tiebreak by id
      });
    }
    this.sorted = { key, version: this.version, rows };
    return rows;
  }

  private sendJson(res: ServerResponse, status: number, payload: unknown, v3: boolean): void {
    // v1 answers with HTTP 200 and the real status inside the body (spec §1).
    const body = v3
      ? payload
      : status === 200
        ? { status: 200, errmsg: 'OK', data: payload }
        : { status: (payload as { errorCode?: number }).errorCode ?? status, errmsg: (payload as { errorMessage?: string }).errorMessage ?? '', data: null };
    res.writeHead(v3 ? status : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private sendError(res: ServerResponse, status: number, v3: boolean, message: string): void {
    this.sendJson(res, status, { errorMessage: message, errorCode: 1000 + status, errorDetail: null }, v3);
  }
}

/** Start a fake on an ephemeral port. */
export async function startFakeLogicMonitor(opts: FakeOptions = {}): Promise<FakeLogicMonitor> {
  return new FakeLogicMonitor(opts).listen();
}

/** Deterministic PRNG (mulberry32) so generated alerts are the same on every run. */
import { seeded as seededRandom } from '../../../fixtures/demo/generate.js';
export { seededRandom };

const DATASOURCES = [
  { template: 'Linux CPU', instance: 'cpu', datapoint: 'CPUBusyPercent', threshold: '> 90', value: () => 90 },
  { template: 'Disk Usage', instance: '/var', datapoint: 'PercentUsed', threshold: '>= 85', value: () => 85 },
  { template: 'Ping', instance: 'ping', datapoint: 'PingLossPercent', threshold: '> 20', value: () => 20 },
  { template: 'HTTPS', instance: '443', datapoint: 'ResponseTimeMs', threshold: '> 2000', value: () => 2000 },
];

export interface GenerateOptions {
  count: number;
  seed?: number;
  /** startEpoch (seconds) of the first alert. */
  startSec: number;
  /** Seconds between consecutive alerts' starts (may be fractional; several share a second). */
  spacingSec?: number;
  /** Share of alerts already cleared. */
  clearedRatio?: number;
  hosts?: number;
  /** Prefix of generated ids (keeps batches generated separately distinct). */
  idPrefix?: string;
}

/** Synthetic alerts with the real field names (spec §3.4), spread over time and hosts. */
export function generateAlerts(o: GenerateOptions): FakeAlert[] {
  const rnd = seededRandom(o.seed ?? 1);
  const spacing = o.spacingSec ?? 1;
  const hosts = o.hosts ?? 20;
  const out: FakeAlert[] = [];
  for (let i = 0; i < o.count; i++) {
    const ds = DATASOURCES[Math.floor(rnd() * DATASOURCES.length)]!;
    const severity = 2 + Math.floor(rnd() * 3);
    const startEpoch = o.startSec + Math.floor(i * spacing);
    const cleared = rnd() < (o.clearedRatio ?? 0);
    const host = `host-${String(Math.floor(rnd() * hosts)).padStart(2, '0')}`;
    const value = (ds.value() + 1 + rnd() * 9).toFixed(1);
    out.push({
      id: `${o.idPrefix ?? 'DS'}${100000 + i}`,
      internalId: `LMD${500000 + i}`,
      type: 'dataSourceAlert',
      severity,
      startEpoch,
      endEpoch: cleared ? startEpoch + 60 : 0,
      cleared,
      acked: false,
      sdted: false,
      rule: ['', '', 'Warning', 'Error', 'Critical'][severity]!,
      chain: 'Ops',
      monitorObjectId: 1000 + Number(host.slice(5)),
      monitorObjectName: host,
      monitorObjectType: 'device',
      resourceTemplateName: ds.template,
      instanceName: ds.instance === 'cpu' ? `cpu${Math.floor(rnd() * 4)}` : ds.instance,
      dataPointName: ds.datapoint,
      alertValue: value,
      threshold: ds.threshold,
      ...(cleared ? { clearValue: String(ds.value() - 10) } : {}),
    });
  }
  return out;
}
