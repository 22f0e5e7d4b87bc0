// The outbox sender against the fake Slack and the fake webhook receiver (real HTTP on
// 127.0.0.1): retries until Slack is back and delivers exactly once, Retry-After, permanent
// errors dead with the reason, text-only fallback, split digests resumed part by part, the
// attempt cap, signatures and the idempotency id, no redirects, no secret in the logs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { receiverSchema, type ReceiverConfig } from '../../src/config/schema.js';
import type { Digest } from '../../src/digest/compose.js';
import { OutboxSender, classify, parseRetryAfter } from '../../src/digest/deliver.js';
import { deliveryId, payloadFor } from '../../src/digest/run.js';
import { verifyWebhook } from '../../src/digest/webhook.js';
import { getOutboxRow, outboxCounts, recordDigest } from '../../src/store/outbox.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { FakeSlack } from '../fakes/slack/server.js';
import { FakeWebhookReceiver } from '../fakes/webhook/server.js';
import { bigDigest } from './helpers.js';

const SECRET = 'whsec_YnJhaW5zdGVtLXRlc3Qtd2ViaG9vay1zZWNyZXQtMDE=';
const FAST = { timeout: 400, max_attempts: 8, backoff: 20, max_backoff: 80 };

let dir: string;
let store: SqliteStore;
let slack: FakeSlack;
let hook: FakeWebhookReceiver;
let logs: string[];
const senders: OutboxSender[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'brainstem-delivery-'));
  store = new SqliteStore(join(dir, 'b.db'));
  slack = await FakeSlack.start();
  hook = await FakeWebhookReceiver.start({ secret: SECRET });
  logs = [];
});

afterEach(async () => {
  for (const s of senders.splice(0)) await s.stop();
  await slack.close();
  await hook.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function receiver(o: Record<string, unknown>): ReceiverConfig {
  return receiverSchema.parse(o);
}

function sender(receivers: ReceiverConfig[], opts: ConstructorParameters<typeof OutboxSender>[3] = {}): OutboxSender {
  const sink = new Writable({ write(chunk, _e, cb) { logs.push(String(chunk)); cb(); } });
  // a fast token bucket keeps retry tests quick; the rate-limit test uses Slack's 1/s, burst 3
  const s = new OutboxSender(store, receivers, pino({ level: 'debug' }, sink), { random: () => 0.5, pollMs: 50, ratePerSecond: 50, burst: 10, ...opts });
  senders.push(s);
  return s;
}

function record(d: Digest, receivers: ReceiverConfig[]): void {
  recordDigest(store, d, receivers.map((rc) => ({
    id: deliveryId(d.id, rc.name), receiver: rc.name, receiverType: rc.type, payload: JSON.stringify(payloadFor(d, rc)),
  })), { upsert: [], remove: [] }, Date.now());
}

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const status = (id: string) => getOutboxRow(store, id)?.status;

describe('Slack delivery', () => {
  it('keeps retrying while Slack is down and delivers the digest exactly once when it is back', async () => {
    const url = slack.addHook('T1/B1/SECRETXYZ');
    slack.script.push('T1/B1/SECRETXYZ',
      { status: 503, body: '<html>503 Service Unavailable</html>' }, { status: 500, body: 'rollup_error' },
      { reset: true }, { status: 502, body: '<html>bad gateway</html>' }, { hang: true });
    const rc = receiver({ name: 'ops', type: 'slack', url, delivery: FAST });
    const d = bigDigest(3);
    record(d, [rc]);
    const s = sender([rc]);
    s.start();
    const id = deliveryId(d.id, 'ops');
    await until(() => status(id) === 'sent', 'delivery');
    expect(slack.messagesFor('T1/B1/SECRETXYZ')).toHaveLength(1);
    const attempts = slack.requests.filter((r) => r.hook === 'T1/B1/SECRETXYZ');
    expect(attempts.length).toBeGreaterThanOrEqual(5);
    expect(new Set(attempts.map((a) => a.headers['x-brainstem-delivery-id']))).toEqual(new Set([id]));
    expect(getOutboxRow(store, id)).toMatchObject({ attempts: 6, status: 'sent', lastStatus: 200 });
    expect(s.stats().ops).toMatchObject({ sent: 1, retried: 5, dead: 0 });
    expect(outboxCounts(store)).toEqual([expect.objectContaining({ receiver: 'ops', pending: 0, sent: 1, dead: 0, retried: 5 })]);
    // sent rows are never sent again
    s.kick();
    await new Promise((r) => setTimeout(r, 150));
    expect(slack.messagesFor('T1/B1/SECRETXYZ')).toHaveLength(1);
    // the URL's secret part never reaches a log line, though failures were logged
    expect(logs.some((l) => l.includes('will retry'))).toBe(true);
    expect(logs.join('')).not.toContain('SECRETXYZ');
  });

  it('waits for Retry-After on 429 and stores when the next attempt may happen', async () => {
    const url = slack.addHook();
    slack.script.push('T1/B1/abc', { status: 429, body: 'rate_limited', retryAfter: 1 });
    const rc = receiver({ name: 'ops', type: 'slack', url, delivery: FAST });
    const d = bigDigest(1);
    record(d, [rc]);
    const s = sender([rc]);
    const t0 = Date.now();
    s.start();
    const id = deliveryId(d.id, 'ops');
    await until(() => getOutboxRow(store, id)!.attempts === 1, 'first attempt');
    const row = getOutboxRow(store, id)!;
    expect(row.status).toBe('pending');
    expect(row.lastError).toBe('HTTP 429 rate_limited');
    expect(row.nextAttemptAt).toBeGreaterThanOrEqual(t0 + 1000);
    await until(() => status(id) === 'sent', 'delivery');
    const reqs = slack.requests.filter((r) => r.hook === 'T1/B1/abc');
    expect(reqs).toHaveLength(2);
    expect(reqs[1]!.at - reqs[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  it('does not let one receiver\'s 429 hold up another receiver', async () => {
    const slow = slack.addHook('T1/B1/slow');
    const fast = slack.addHook('T1/B2/fast');
    slack.script.push('T1/B1/slow', { status: 429, body: 'rate_limited', retryAfter: 30 });
    const a = receiver({ name: 'slow', type: 'slack', url: slow, delivery: FAST });
    const b = receiver({ name: 'fast', type: 'slack', url: fast, delivery: FAST });
    const d = bigDigest(1);
    record(d, [a, b]);
    sender([a, b]).start();
    await until(() => status(deliveryId(d.id, 'fast')) === 'sent', 'fast delivery');
    expect(status(deliveryId(d.id, 'slow'))).toBe('pending');
  });

  it('marks a permanent error dead with Slack\'s reason, without retrying, and disables the destination', async () => {
    const url = slack.addHook('T1/B1/gone', 'disabled');
    const rc = receiver({ name: 'ops', type: 'slack', url, delivery: FAST });
    const first = bigDigest(1);
    const second = { ...bigDigest(1), id: 'dg_second' };
    record(first, [rc]);
    record(second, [rc]);
    const s = sender([rc]);
    s.start();
    await until(() => status(deliveryId('dg_second', 'ops')) === 'dead', 'both dead');
    expect(getOutboxRow(store, deliveryId(first.id, 'ops'))).toMatchObject({
      status: 'dead', attempts: 1, lastStatus: 404, lastError: expect.stringContaining('HTTP 404 no_service'),
    });
    expect(getOutboxRow(store, deliveryId('dg_second', 'ops'))!.lastError).toContain('destination disabled');
    expect(slack.requests).toHaveLength(1);
    expect(s.stats().ops).toMatchObject({ dead: 2, disabled: expect.stringContaining('no_service') });
  });

  it.each([
    ['archived', 410, 'channel_is_archived'],
    ['prohibited', 403, 'action_prohibited'],
    ['no_team', 404, 'no_team'],
  ] as const)('a %s hook (%i %s) is dead at once', async (state, code, token) => {
    const url = slack.addHook('T1/B1/x', state);
    const rc = receiver({ name: 'ops', type: 'slack', url, delivery: FAST });
    const d = bigDigest(1);
    record(d, [rc]);
    sender([rc]).start();
    await until(() => status(deliveryId(d.id, 'ops')) === 'dead', 'dead');
    expect(getOutboxRow(store, deliveryId(d.id, 'ops'))!.lastError).toContain(`HTTP ${code} ${token}`);
  });

  it('resends once as text only when Slack rejects the blocks', async () => {
    const url = slack.addHook();
    slack.script.push('T1/B1/abc', { status: 400, body: 'invalid_blocks' });
    const rc = receiver({ name: 'ops', type: 'slack', url, delivery: FAST });
    const d = bigDigest(2);
    record(d, [rc]);
    sender([rc]).start();
    await until(() => status(deliveryId(d.id, 'ops')) === 'sent', 'delivery');
    const msgs = slack.messagesFor();
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.json.blocks).toBeUndefined();
    expect(msgs[0]!.json.text).toContain('sig001');
  });

  it('sends a split digest in order and resumes at the failed part without repeating earlier parts', async () => {
    const url = slack.addHook();
    const rc = receiver({ name: 'ops', type: 'slack', url, delivery: FAST });
    const d = bigDigest(100);
    // the first part goes through, the second fails twice, then all is well
    slack.script.push('T1/B1/abc', { delayMs: 0 }, { status: 503, body: 'x' }, { status: 500, body: 'rollup_error' });
    record(d, [rc]);
    sender([rc]).start();
    await until(() => status(deliveryId(d.id, 'ops')) === 'sent', 'delivery');
    const msgs = slack.messagesFor();
    expect(msgs.map((m) => m.headers['x-brainstem-part'])).toEqual(['1/3', '2/3', '3/3']);
    expect(msgs.map((m) => m.json.text.match(/part \d\/3/)?.[0])).toEqual(['part 1/3', 'part 2/3', 'part 3/3']);
    expect(new Set(msgs.map((m) => m.headers['x-brainstem-delivery-id'])).size).toBe(1);
  });

  it('stays within Slack\'s rate limit when sending many parts (1/s, burst 3)', async () => {
    await slack.close();
    // the fake allows 2/s so arrival jitter on a loaded machine does not turn a paced request into
    // a 429; an unpaced client still fails (six requests at once exceed the burst of 3)
    slack = await FakeSlack.start({ rate: { perSecond: 2, burst: 3 } });
    const url = slack.addHook();
    const rc = receiver({ name: 'ops', type: 'slack', url, delivery: FAST });
    const d = bigDigest(100, 10);
    const digests = [d, { ...d, id: 'dg_two' }];
    for (const x of digests) record(x, [rc]);
    sender([rc], { ratePerSecond: 1, burst: 3 }).start();
    await until(() => status(deliveryId('dg_two', 'ops')) === 'sent', 'both delivered');
    expect(slack.requests.every((r) => r.status === 200)).toBe(true);
    expect(slack.messagesFor()).toHaveLength(6);
  });

  it('gives up after max_attempts and says why', async () => {
    const url = slack.addHook();
    for (let i = 0; i < 5; i++) slack.script.push('T1/B1/abc', { status: 503, body: 'unavailable' });
    const rc = receiver({ name: 'ops', type: 'slack', url, delivery: { ...FAST, max_attempts: 3 } });
    const d = bigDigest(1);
    record(d, [rc]);
    sender([rc]).start();
    await until(() => status(deliveryId(d.id, 'ops')) === 'dead', 'dead');
    expect(getOutboxRow(store, deliveryId(d.id, 'ops'))).toMatchObject({ attempts: 3, lastError: 'gave up after 3 attempts: HTTP 503 unavailable' });
    expect(slack.requests).toHaveLength(3);
  });

  it('does not follow a redirect', async () => {
    const url = slack.addHook();
    slack.script.push('T1/B1/abc', { redirect: slack.url('T1/B1/other') });
    slack.addHook('T1/B1/other');
    const rc = receiver({ name: 'ops', type: 'slack', url, delivery: FAST });
    const d = bigDigest(1);
    record(d, [rc]);
    sender([rc]).start();
    await until(() => status(deliveryId(d.id, 'ops')) === 'dead', 'dead');
    expect(slack.messages).toHaveLength(0);
    expect(getOutboxRow(store, deliveryId(d.id, 'ops'))!.lastError).toContain('HTTP 302');
  });
});

describe('webhook delivery', () => {
  it('signs every attempt, keeps the id across retries, and the receiver sees one delivery', async () => {
    hook.script.push('/hook', { status: 503, body: 'busy' }, { status: 429, retryAfter: 1, body: 'slow down' });
    const rc = receiver({ name: 'wh', type: 'webhook', url: hook.url(), secret: SECRET, headers: { 'x-team': 'ops' }, delivery: FAST });
    const d = bigDigest(2);
    record(d, [rc]);
    sender([rc]).start();
    const id = deliveryId(d.id, 'wh');
    await until(() => status(id) === 'sent', 'delivery');
    const attempts = hook.attemptsFor(id);
    expect(attempts.map((a) => a.status)).toEqual([503, 429, 200]);
    expect(attempts.every((a) => a.headers['idempotency-key'] === id && a.headers['x-team'] === 'ops')).toBe(true);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(1000);
    expect(attempts[2]!.verified).toBe(true);
    expect(hook.delivered.size).toBe(1);
    const body = hook.delivered.get(id)!;
    expect(JSON.parse(body)).toMatchObject({ type: 'digest.created', data: { id: d.id, items: expect.any(Array) } });
    // the library's verifier agrees with the fake's independent one
    const last = attempts[2]!;
    expect(verifyWebhook(SECRET, {
      id, timestamp: String(last.headers['webhook-timestamp']), signature: String(last.headers['webhook-signature']), body,
    }).ok).toBe(true);
  });

  it('a receiver with the wrong secret answers 401: permanent, dead with the reason', async () => {
    const rc = receiver({ name: 'wh', type: 'webhook', url: hook.url(), secret: 'whsec_d3Jvbmc=', delivery: FAST });
    const d = bigDigest(1);
    record(d, [rc]);
    sender([rc]).start();
    await until(() => status(deliveryId(d.id, 'wh')) === 'dead', 'dead');
    expect(getOutboxRow(store, deliveryId(d.id, 'wh'))!.lastError).toBe('HTTP 401 bad signature');
  });

  it('410 disables the endpoint', async () => {
    hook.script.push('/hook', { status: 410, body: 'gone' });
    const rc = receiver({ name: 'wh', type: 'webhook', url: hook.url(), secret: SECRET, delivery: FAST });
    const d = bigDigest(1);
    record(d, [rc]);
    const s = sender([rc]);
    s.start();
    await until(() => status(deliveryId(d.id, 'wh')) === 'dead', 'dead');
    expect(s.stats().wh!.disabled).toContain('HTTP 410');
  });
});

describe('stdout delivery', () => {
  it('writes the readable digest', async () => {
    const out: string[] = [];
    const rc = receiver({ name: 'console', type: 'stdout' });
    const d = bigDigest(2);
    record(d, [rc]);
    sender([rc], { writeStdout: (t) => out.push(t) }).start();
    await until(() => status(deliveryId(d.id, 'console')) === 'sent', 'delivery');
    expect(out.join('')).toContain('brainstem digest "big": 2 items worth attention');
  });
});

describe('classify and Retry-After', () => {
  it('retries 429, 408 and 5xx; everything else that is not 2xx is permanent', () => {
    expect(classify('slack', 200, 'ok', undefined).kind).toBe('ok');
    expect(classify('slack', 429, '', 2000)).toEqual({ kind: 'retry', reason: 'HTTP 429', retryAfterMs: 2000 });
    expect(classify('webhook', 503, '<html>x</html>', undefined).kind).toBe('retry');
    expect(classify('slack', 400, 'invalid_payload', undefined)).toEqual({ kind: 'dead', reason: 'HTTP 400 invalid_payload' });
    expect(classify('slack', 400, 'invalid_blocks\n', undefined).kind).toBe('invalid_blocks');
    expect(classify('webhook', 404, 'nope', undefined).kind).toBe('dead');
  });

  it('reads seconds and HTTP dates', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), now)).toBe(5000);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('restart', () => {
  it('a new sender (after a restart) waits until the stored next attempt time', async () => {
    const url = slack.addHook();
    slack.script.push('T1/B1/abc', { status: 429, body: 'rate_limited', retryAfter: 2 });
    const rc = receiver({ name: 'ops', type: 'slack', url, delivery: FAST });
    const d = bigDigest(1);
    record(d, [rc]);
    const id = deliveryId(d.id, 'ops');
    const first = sender([rc]);
    first.start();
    await until(() => getOutboxRow(store, id)!.attempts === 1, 'first attempt');
    await first.stop();
    const notBefore = getOutboxRow(store, id)!.nextAttemptAt;
    sender([rc]).start();
    await until(() => status(id) === 'sent', 'delivery after restart');
    const reqs = slack.requests.filter((r) => r.hook === 'T1/B1/abc');
    expect(reqs).toHaveLength(2);
    expect(reqs[1]!.at).toBeGreaterThanOrEqual(notBefore);
    expect(slack.messagesFor()).toHaveLength(1);
  });
});

describe('webhook signed the Slack way', () => {
  it('sends X-Slack-Signature v0 when the receiver asks for slack-v0', async () => {
    await hook.close();
    hook = await FakeWebhookReceiver.start({ secret: 'slack-signing-secret-test', scheme: 'slack-v0' });
    const rc = receiver({ name: 'wh', type: 'webhook', url: hook.url(), secret: 'slack-signing-secret-test', signature: 'slack-v0', delivery: FAST });
    const d = bigDigest(1);
    record(d, [rc]);
    sender([rc]).start();
    await until(() => status(deliveryId(d.id, 'wh')) === 'sent', 'delivery');
    expect(hook.attempts).toHaveLength(1);
    expect(hook.attempts[0]!.headers['x-slack-signature']).toMatch(/^v0=[0-9a-f]{64}$/);
    expect(hook.attempts[0]!.headers['webhook-signature']).toBeUndefined();
  });
});
