// A fake generic webhook receiver (specs/slack-webhooks.md §8): verifies Standard Webhooks
// signatures (or slack-v0) against an injectable clock with ±5 min tolerance (401 otherwise),
// dedupes by webhook-id while counting attempts, plays scripted status sequences, and journals
// every attempt's time and headers.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { applyScripted, readBody, Script, type Scripted } from '../slack/faults.js';

export interface WebhookAttempt {
  path: string;
  at: number;
  id: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
  status: number;
  verified: boolean | undefined;
  reason?: string;
}

export interface FakeWebhookOptions {
  secret?: string;
  scheme?: 'v1' | 'slack-v0';
  /** Seconds since the epoch, for the tolerance check. */
  nowSec?: () => number;
}

/** Written from the spec, independently of src/digest/webhook.ts, so the two check each other. */
function expectedV1(secret: string, id: string, ts: string, body: string): Buffer {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret);
  return createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
}

export class FakeWebhookReceiver {
  readonly attempts: WebhookAttempt[] = [];
  /** First accepted body per webhook-id. */
  readonly delivered = new Map<string, string>();
  readonly script = new Script();
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server, readonly opts: FakeWebhookOptions) {}

  static async start(opts: FakeWebhookOptions = {}): Promise<FakeWebhookReceiver> {
    const server = createServer();
    const fake = new FakeWebhookReceiver(server, opts);
    server.on('request', (req, res) => {
      void (async () => {
        const body = (await readBody(req)).toString('utf8');
        const path = req.url ?? '/';
        const id = req.headers['webhook-id'] as string | undefined;
        const at = Date.now();
        const scripted = fake.script.next(path);
        if (scripted && await applyScripted(scripted, req, res)) {
          fake.attempts.push({ path, at, id, headers: req.headers, body, status: ('status' in scripted && scripted.status) || 0, verified: undefined });
          return;
        }
        const check = fake.verify(req, body);
        if (!check.ok) {
          fake.attempts.push({ path, at, id, headers: req.headers, body, status: 401, verified: false, reason: check.reason });
          res.writeHead(401, { 'content-type': 'text/plain' }).end(check.reason);
          return;
        }
        fake.attempts.push({ path, at, id, headers: req.headers, body, status: 200, verified: fake.opts.secret ? true : undefined });
        if (id && !fake.delivered.has(id)) fake.delivered.set(id, body);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'); // a duplicate id also gets 200
      })();
    });
    server.on('connection', (s) => {
      fake.sockets.add(s);
      s.on('close', () => fake.sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return fake;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  attemptsFor(id: string): WebhookAttempt[] {
    return this.attempts.filter((a) => a.id === id);
  }

  private verify(req: IncomingMessage, body: string): { ok: true } | { ok: false; reason: string } {
    const { secret } = this.opts;
    if (!secret) return { ok: true };
    const now = this.opts.nowSec?.() ?? Math.floor(Date.now() / 1000);
    if (this.opts.scheme === 'slack-v0') {
      const ts = String(req.headers['x-slack-request-timestamp'] ?? '');
      if (!/^\d+$/.test(ts) || Math.abs(now - Number(ts)) > 300) return { ok: false, reason: 'stale or missing timestamp' };
      const want = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
      const got = String(req.headers['x-slack-signature'] ?? '');
      return got.length === want.length && timingSafeEqual(Buffer.from(got), Buffer.from(want)) ? { ok: true } : { ok: false, reason: 'bad signature' };
    }
    const id = String(req.headers['webhook-id'] ?? '');
    const ts = String(req.headers['webhook-timestamp'] ?? '');
    if (!id) return { ok: false, reason: 'missing webhook-id' };
    if (!/^\d+$/.test(ts) || Math.abs(now - Number(ts)) > 300) return { ok: false, reason: 'stale or missing timestamp' };
    const want = expectedV1(secret, id, ts, body);
    for (const part of String(req.headers['webhook-signature'] ?? '').split(' ')) {
      const [v, sig] = part.split(',', 2);
      if (v !== 'v1' || !sig) continue;
      const got = Buffer.from(sig, 'base64');
      if (got.length === want.length && timingSafeEqual(got, want)) return { ok: true };
    }
    return { ok: false, reason: 'bad signature' };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export type { Scripted };
