// Generic webhook delivery, the Standard Webhooks way (specs/slack-webhooks.md §7): the JSON
// body, and the `webhook-id` / `webhook-timestamp` / `webhook-signature` headers signed with
// HMAC-SHA256 over `id.timestamp.body`. Verification lives here too, for receivers and tests.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { digestToWire, type Digest } from './compose.js';

/** The HMAC key of a `whsec_<base64>` secret is its decoded bytes; any other string is used as UTF-8. */
export function webhookKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

/** `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` */
export function signWebhook(secret: string, id: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', webhookKey(secret)).update(`${id}.${timestampSec}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** `v0=<hex HMAC-SHA256(secret, "v0:{ts}:{body}")>` — Slack's request-signing style. */
export function signSlackV0(secret: string, timestampSec: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestampSec}:${body}`).digest('hex')}`;
}

export interface VerifyInput {
  id: string;
  timestamp: string;
  /** The header as received: one or more space-separated `v1,<sig>`. */
  signature: string;
  /** The raw body bytes as received (never re-serialized JSON). */
  body: string | Buffer;
}

/**
 * What a receiver does: reject a timestamp more than `toleranceSec` from now, then accept if any
 * listed v1 signature matches in constant time.
 */
export function verifyWebhook(secret: string, input: VerifyInput, nowSec = Math.floor(Date.now() / 1000), toleranceSec = 300): { ok: true } | { ok: false; reason: string } {
  const ts = Number(input.timestamp);
  if (!/^\d+$/.test(input.timestamp) || !Number.isSafeInteger(ts)) return { ok: false, reason: 'bad timestamp' };
  if (Math.abs(nowSec - ts) > toleranceSec) return { ok: false, reason: 'timestamp outside tolerance' };
  const expected = Buffer.from(signWebhook(secret, input.id, ts, input.body.toString()).slice(3), 'base64');
  for (const candidate of input.signature.split(' ')) {
    const [version, sig] = candidate.split(',', 2);
    if (version !== 'v1' || !sig) continue;
    const got = Buffer.from(sig, 'base64');
    if (got.length === expected.length && timingSafeEqual(got, expected)) return { ok: true };
  }
  return { ok: false, reason: 'no matching signature' };
}

/** The event body: `{"type":"digest.created","timestamp":…,"data":<digest in the wire format>}`. */
export function webhookBody(d: Digest): string {
  return JSON.stringify({ type: 'digest.created', timestamp: d.generatedAt, data: digestToWire(d) });
}

/** Headers of one attempt: the id is the same on every retry, the timestamp and signature are fresh. */
export function webhookHeaders(
  id: string, body: string, secret: string | undefined, nowSec: number, scheme: 'standard-webhooks' | 'slack-v0' = 'standard-webhooks',
): Record<string, string> {
  const h: Record<string, string> = {
    'webhook-id': id,
    'idempotency-key': id,
    'webhook-timestamp': String(nowSec),
  };
  if (secret && scheme === 'slack-v0') {
    h['x-slack-request-timestamp'] = String(nowSec);
    h['x-slack-signature'] = signSlackV0(secret, nowSec, body);
  } else if (secret) {
    h['webhook-signature'] = signWebhook(secret, id, nowSec, body);
  }
  return h;
}
