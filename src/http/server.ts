// The HTTP API (node:http): bearer auth, a request id on every response, JSON errors
// `{ error: { code, message } }`, /healthz, /metrics, the read-only /v1 queries and
// POST /v1/events, which answers 2xx only once the events are committed.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { SqliteStore } from '../store/sqlite.js';
import { EnvelopeError, parseEnvelopes, type IngestRegistry } from './ingest.js';
import type { DaemonMetrics } from './metrics.js';
import { candidatesPage, eventsPage, incidentsPage, parseLimit, QueryError, signaturesPage, type Page } from './queries.js';

export interface ApiOptions {
  host: string;
  port: number;
  token?: string;
  /** Largest accepted request body; larger bodies get 413. */
  maxBodyBytes: number;
}

export interface HealthReport {
  ok: boolean;
  connectors: Array<{ name: string; type: string; state: string; last_error: string | null }>;
  reasons: string[];
}

/** What the server needs from the daemon; kept narrow so the server is testable on its own. */
export interface ApiBackend {
  store: SqliteStore;
  ingest: IngestRegistry;
  metrics: DaemonMetrics;
  health(): HealthReport;
  /** Queue room check for 429: true when `events` more would exceed the pipeline's capacity. */
  queueFull(events: number): boolean;
  /**
   * Names of the `type: http` connectors in the current config, running or not: while one of
   * them is being (re)started a POST is answered 503 (retry), not 404.
   */
  configuredIngest?(): string[];
}

/** An error answered as JSON with an HTTP status and a stable code. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly extra: Record<string, unknown> = {}, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

type Handler = (req: IncomingMessage, url: URL, params: string[]) => Promise<Reply> | Reply;
interface Reply {
  status?: number;
  body: unknown;
  contentType?: string;
}
interface Route {
  method: string;
  pattern: RegExp;
  name: string;
  handler: Handler;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class ApiServer {
  private server: Server | undefined;
  private readonly routes: Route[];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly tokenHash: Buffer | undefined;

  constructor(private readonly opts: ApiOptions, private readonly backend: ApiBackend, private readonly logger: Logger) {
    this.tokenHash = opts.token ? sha256(opts.token) : undefined;
    const get = (pattern: RegExp, name: string, handler: Handler): Route => ({ method: 'GET', pattern, name, handler });
    this.routes = [
      get(/^\/healthz$/, '/healthz', () => this.healthz()),
      get(/^\/metrics$/, '/metrics', async () => {
        const m = await this.backend.metrics.render();
        return { body: m.body, contentType: m.contentType };
      }),
      get(/^\/v1\/signatures$/, '/v1/signatures', (_r, url) => this.pageOf(url, (l, c) => signaturesPage(this.backend.store, l, c))),
      get(/^\/v1\/signatures\/([^/]+)\/events$/, '/v1/signatures/{key}/events', (_r, url, [key]) => {
        const signatureKey = decodeURIComponent(key!);
        if (!this.backend.store.getSignature(signatureKey)) throw new ApiError(404, 'NOT_FOUND', `no signature "${signatureKey}"`);
        return this.pageOf(url, (l, c) => eventsPage(this.backend.store, l, c, signatureKey));
      }),
      get(/^\/v1\/events$/, '/v1/events', (_r, url) => this.pageOf(url, (l, c) => eventsPage(this.backend.store, l, c))),
      get(/^\/v1\/candidates$/, '/v1/candidates', (_r, url) =>
        this.pageOf(url, (l, c) => candidatesPage(this.backend.store, l, c, url.searchParams.get('band') ?? undefined))),
      get(/^\/v1\/incidents$/, '/v1/incidents', (_r, url) => this.pageOf(url, (l, c) => incidentsPage(this.backend.store, l, c))),
      { method: 'POST', pattern: /^\/v1\/events$/, name: 'POST /v1/events', handler: (req, url) => this.postEvents(req, url) },
    ];
  }

  get address(): AddressInfo | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  async start(): Promise<void> {
    const server = createServer({ requestTimeout: 60_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 }, (req, res) => {
      const p = this.handle(req, res);
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`HTTP API cannot listen on ${this.opts.host}:${this.opts.port}: ${err.code ?? err.message}`);
    });
    this.server = server;
    const a = this.address!;
    this.logger.info({ address: a.address, port: a.port, auth: this.tokenHash ? 'bearer' : 'none' }, 'HTTP API listening');
  }

  /** Stop accepting, let requests in flight finish (their commits are acknowledged), then close. */
  async stop(graceMs = 5000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); }),
    ]);
    clearTimeout(timer);
    server.closeAllConnections();
    await closed;
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.tokenHash) return true;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return !!m && timingSafeEqual(sha256(m[1]!.trim()), this.tokenHash);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    let routeName = 'unmatched';
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const matches = this.routes.map((r) => ({ r, m: r.pattern.exec(url.pathname) })).filter((x) => x.m);
      if (matches.length === 0) throw new ApiError(404, 'NOT_FOUND', `no endpoint ${url.pathname}`);
      const hit = matches.find((x) => x.r.method === req.method || (req.method === 'HEAD' && x.r.method === 'GET'));
      if (!hit) {
        const allow = [...new Set(matches.map((x) => x.r.method))].join(', ');
        throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname} (allowed: ${allow})`, {}, { Allow: allow });
      }
      routeName = hit.r.name;
      if (!this.authorized(req)) {
        throw new ApiError(401, 'UNAUTHORIZED', 'missing or invalid bearer token (Authorization: Bearer <api.token>)', {}, { 'WWW-Authenticate': 'Bearer realm="brainstem"' });
      }
      const reply = await hit.r.handler(req, url, hit.m!.slice(1));
      this.send(res, reply.status ?? 200, reply.body, reply.contentType);
    } catch (err) {
      const e = err instanceof ApiError ? err
        : err instanceof QueryError ? new ApiError(400, err.code, err.message)
          : new ApiError(500, 'INTERNAL', 'internal error (see the daemon log for this request id)');
      if (e.status >= 500) this.logger.error({ err, requestId, route: routeName }, 'HTTP request failed');
      for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
      if (!req.complete) await this.discardBody(req, res);
      this.send(res, e.status, { error: { code: e.code, message: e.message, request_id: requestId, ...e.extra } });
    } finally {
      this.backend.metrics.httpRequests.inc({ route: routeName, code: String(res.statusCode) });
    }
  }

  /**
   * A body we refused (401, 413, …) is read and thrown away for a moment so the client, still
   * writing, can read our answer instead of a reset; past that, the connection is closed.
   */
  private async discardBody(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => { req.once('end', resolve); req.once('error', () => resolve()); }),
      new Promise<void>((resolve) => { timer = setTimeout(resolve, 2000); }),
    ]);
    clearTimeout(timer);
    if (!req.complete) res.setHeader('Connection', 'close');
  }

  private send(res: ServerResponse, status: number, body: unknown, contentType?: string): void {
    if (res.headersSent) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': contentType ?? 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
    });
    res.end(res.req.method === 'HEAD' ? undefined : text);
  }

  private healthz(): Reply {
    const h = this.backend.health();
    const body: Record<string, unknown> = { status: h.ok ? 'ok' : 'unhealthy', connectors: h.connectors };
    if (!h.ok) {
      body.reasons = h.reasons;
      body.error = { code: 'UNHEALTHY', message: h.reasons.join('; ') };
    }
    return { status: h.ok ? 200 : 503, body };
  }

  private pageOf(url: URL, fetch: (limit: number, cursor: string | null) => Page): Reply {
    return { body: fetch(parseLimit(url.searchParams.get('limit')), url.searchParams.get('cursor')) };
  }

  /** Read the body up to the limit; 413 as soon as it is known to be larger. */
  private readBody(req: IncomingMessage): Promise<string> {
    const limit = this.opts.maxBodyBytes;
    const tooLarge = () => new ApiError(413, 'PAYLOAD_TOO_LARGE', `request body is larger than api.max_body_bytes (${limit} bytes); send smaller batches`);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          req.removeAllListeners('data');
          reject(tooLarge());
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  private async postEvents(req: IncomingMessage, url: URL): Promise<Reply> {
    const configured = this.backend.configuredIngest?.();
    const names = [...new Set([...this.backend.ingest.names(), ...(configured ?? [])])].sort();
    const wanted = url.searchParams.get('connector');
    if (!wanted && names.length > 1) {
      throw new ApiError(400, 'CONNECTOR_REQUIRED', `several http connectors are configured (${names.join(', ')}); add ?connector=<name>`);
    }
    if (wanted && configured && !names.includes(wanted)) {
      throw new ApiError(404, 'UNKNOWN_CONNECTOR', `no http connector named "${wanted}" is configured${names.length ? ` (there is ${names.join(', ')})` : ''}`);
    }
    const name = wanted ?? names[0];
    const endpoint = name ? this.backend.ingest.get(name) : undefined;
    if (!endpoint) {
      // configured but not running (starting, restarting after a reload or a failure): retry
      throw name
        ? new ApiError(503, 'CONNECTOR_UNAVAILABLE', `http connector "${name}" is not running; retry later`, {}, { 'Retry-After': '1' })
        : new ApiError(404, 'INGEST_DISABLED', 'no connector of type http is configured (add `- { name: api, type: http }` to connectors)');
    }
    const body = await this.readBody(req);
    let envelopes;
    try {
      envelopes = parseEnvelopes(body);
    } catch (err) {
      if (err instanceof EnvelopeError) throw new ApiError(400, err.code, err.message, err.path ? { path: err.path } : {});
      throw err;
    }
    if (envelopes.length === 0) return { body: { accepted: 0, connector: endpoint.connector } };
    if (this.backend.queueFull(envelopes.length)) {
      throw new ApiError(429, 'QUEUE_FULL', 'the ingest queue is full; retry after a moment', {}, { 'Retry-After': '1' });
    }
    try {
      await endpoint.emit(envelopes);
    } catch (err) {
      throw new ApiError(503, 'NOT_COMMITTED', `events were not stored: ${(err as Error).message}; retry`, {}, { 'Retry-After': '1' });
    }
    endpoint.onAccepted?.(envelopes.length);
    return { body: { accepted: envelopes.length, connector: endpoint.connector } };
  }
}
