// A fake Slack incoming-webhook endpoint written from shared/specs/slack-webhooks.md §8, not from
// brainstem's client: a real HTTP server on 127.0.0.1 with a registry of hooks and their states,
// JSON and form `payload=` bodies, the Block Kit checks Slack makes (400 invalid_blocks …), a
// per-hook token bucket (429 + Retry-After), bare-token error bodies, and scripted faults.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { applyScripted, readBody, Script, type Scripted } from './faults.js';

export type HookState = 'active' | 'disabled' | 'archived' | 'prohibited' | 'no_team';

export interface AcceptedMessage {
  hook: string;
  raw: string;
  json: any;
  headers: IncomingMessage['headers'];
  at: number;
}

export interface SlackRequest {
  hook: string;
  at: number;
  status: number;
  body: string;
  headers: IncomingMessage['headers'];
}

export interface FakeSlackOptions {
  /** Token bucket per hook (spec §5: 1/s, burst 3); null disables rate limiting. */
  rate?: { perSecond: number; burst: number } | null;
  /** Answer a missing text with `missing_text_or_fallback_or_attachments` instead of `no_text`. */
  missingTextToken?: boolean;
  /** Reject `channel`/`username`/`icon_*` with 404 channel_not_found instead of ignoring them. */
  rejectOverrides?: boolean;
}

const cp = (s: string) => [...s].length;
const KNOWN_BLOCKS = new Set(['section', 'header', 'context', 'divider', 'actions', 'image', 'rich_text', 'markdown', 'input', 'file', 'video']);

/** What Slack checks in a message (spec §4.2, §8.3); the error token or undefined when valid. */
export function validateMessage(msg: any, missingTextToken = false): string | undefined {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'invalid_payload';
  const hasText = typeof msg.text === 'string' && msg.text.length > 0;
  if (!hasText && msg.blocks === undefined && msg.attachments === undefined) {
    return missingTextToken ? 'missing_text_or_fallback_or_attachments' : 'no_text';
  }
  if (msg.attachments !== undefined && (!Array.isArray(msg.attachments) || msg.attachments.length > 100)) return 'too_many_attachments';
  if (msg.blocks === undefined) return undefined;
  if (!Array.isArray(msg.blocks) || msg.blocks.length > 50) return 'invalid_blocks';
  const textObj = (t: any, max: number, plainOnly = false): boolean =>
    t && typeof t === 'object' && (t.type === 'plain_text' || (!plainOnly && t.type === 'mrkdwn'))
    && typeof t.text === 'string' && t.text.length > 0 && cp(t.text) <= max;
  for (const b of msg.blocks) {
    if (!b || typeof b !== 'object' || !KNOWN_BLOCKS.has(b.type)) return 'invalid_blocks';
    if (b.block_id !== undefined && (typeof b.block_id !== 'string' || cp(b.block_id) > 255)) return 'invalid_blocks';
    if (b.type === 'header' && !textObj(b.text, 150, true)) return 'invalid_blocks';
    if (b.type === 'section') {
      if (b.text === undefined && b.fields === undefined) return 'invalid_blocks';
      if (b.text !== undefined && !textObj(b.text, 3000)) return 'invalid_blocks';
      if (b.fields !== undefined && (!Array.isArray(b.fields) || b.fields.length > 10 || !b.fields.every((f: any) => textObj(f, 2000)))) return 'invalid_blocks';
    }
    if (b.type === 'context') {
      if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10) return 'invalid_blocks';
      if (!b.elements.every((e: any) => e?.type === 'image' || textObj(e, 3000))) return 'invalid_blocks';
    }
  }
  return undefined;
}

interface Hook {
  state: HookState;
  tokens: number;
  last: number;
}

export class FakeSlack {
  readonly messages: AcceptedMessage[] = [];
  readonly requests: SlackRequest[] = [];
  /** Scripted answers per hook path (`T1/B1/abc`), applied before the normal checks. */
  readonly script = new Script();
  private readonly hooks = new Map<string, Hook>();
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server, readonly opts: FakeSlackOptions) {}

  static async start(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
    const server = createServer();
    const fake = new FakeSlack(server, opts);
    server.on('request', (req, res) => { void fake.handle(req, res); });
    server.on('connection', (s) => {
      fake.sockets.add(s);
      s.on('close', () => fake.sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Register a hook (active unless told) and return its full webhook URL. */
  addHook(path = 'T1/B1/abc', state: HookState = 'active'): string {
    this.hooks.set(path, { state, tokens: this.opts.rate?.burst ?? 0, last: Date.now() });
    return this.url(path);
  }

  url(path = 'T1/B1/abc'): string {
    return `http://127.0.0.1:${this.port}/services/${path}`;
  }

  setState(path: string, state: HookState): void {
    this.hooks.get(path)!.state = state;
  }

  messagesFor(path = 'T1/B1/abc'): AcceptedMessage[] {
    return this.messages.filter((m) => m.hook === path);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private answer(req: IncomingMessage, res: ServerResponse, hook: string, status: number, body: string, raw: string, extra: Record<string, string> = {}): void {
    this.requests.push({ hook, at: Date.now(), status, body: raw, headers: req.headers });
    res.writeHead(status, { 'content-type': status === 200 ? 'text/plain' : 'text/html', ...extra }).end(body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = /^\/services\/([^/]+\/[^/]+\/[^/?]+)$/.exec(req.url ?? '');
    const raw = (await readBody(req)).toString('utf8');
    const path = m?.[1] ?? '';
    if (req.method !== 'POST') return this.answer(req, res, path, 405, 'invalid_method', raw);
    const scripted = this.script.next(path);
    if (scripted) {
      const at = Date.now();
      if (await applyScripted(scripted, req, res)) {
        this.requests.push({ hook: path, at, status: ('status' in scripted && scripted.status) || 0, body: raw, headers: req.headers });
        return;
      }
    }
    const hook = this.hooks.get(path);
    if (!hook || hook.state === 'disabled') return this.answer(req, res, path, 404, 'no_service', raw);
    if (hook.state === 'no_team') return this.answer(req, res, path, 404, 'no_team', raw);
    if (hook.state === 'archived') return this.answer(req, res, path, 410, 'channel_is_archived', raw);
    if (hook.state === 'prohibited') return this.answer(req, res, path, 403, 'action_prohibited', raw);
    if (this.opts.rate) {
      const now = Date.now();
      hook.tokens = Math.min(this.opts.rate.burst, hook.tokens + ((now - hook.last) / 1000) * this.opts.rate.perSecond);
      hook.last = now;
      if (hook.tokens < 1) {
        const wait = Math.max(1, Math.ceil((1 - hook.tokens) / this.opts.rate.perSecond));
        return this.answer(req, res, path, 429, 'rate_limited', raw, { 'retry-after': String(wait) });
      }
      hook.tokens -= 1;
    }
    let json: any;
    try {
      const type = req.headers['content-type'] ?? '';
      if (type.startsWith('application/x-www-form-urlencoded')) json = JSON.parse(new URLSearchParams(raw).get('payload') ?? '');
      else json = JSON.parse(raw);
    } catch {
      return this.answer(req, res, path, 400, 'invalid_payload', raw);
    }
    const error = validateMessage(json, this.opts.missingTextToken);
    if (error) return this.answer(req, res, path, 400, error, raw);
    if (this.opts.rejectOverrides && ['channel', 'username', 'icon_emoji', 'icon_url'].some((k) => k in json)) {
      return this.answer(req, res, path, 404, 'channel_not_found', raw);
    }
    if (typeof json.text === 'string' && cp(json.text) > 40_000) json.text = [...json.text].slice(0, 40_000).join('');
    this.messages.push({ hook: path, raw, json, headers: req.headers, at: Date.now() });
    this.answer(req, res, path, 200, 'ok', raw);
  }
}

export type { Scripted };
