// Standard Webhooks signing against the spec's test vector (§7.1), and verification.
import { describe, expect, it } from 'vitest';
import { signSlackV0, signWebhook, verifyWebhook, webhookBody, webhookHeaders } from '../../src/digest/webhook.js';
import { bigDigest } from './helpers.js';

const SECRET = 'whsec_YnJhaW5zdGVtLXRlc3Qtd2ViaG9vay1zZWNyZXQtMDE=';
const ID = 'msg_2024testdigest0001';
const TS = 1700000000;
const BODY = '{"type":"digest.created","timestamp":"2023-11-14T22:13:20Z","data":{"digestId":"d-1","count":3}}';

describe('Standard Webhooks signature', () => {
  it('matches the spec\'s test vector', () => {
    expect(Buffer.byteLength(BODY)).toBe(96);
    expect(signWebhook(SECRET, ID, TS, BODY)).toBe('v1,mKv28O89G4of+dEAdWi4T5xDeQFPJKrCwotnOSMee6M=');
  });

  it('matches the spec\'s slack-v0 vector', () => {
    expect(signSlackV0('slack-signing-secret-test', TS, BODY)).toBe('v0=d731df797f2d2144b185c6bfdb8898291d67526b4e820ee3f3664b55344a9312');
  });

  it('verifies a good signature, also among several (secret rotation)', () => {
    const sig = signWebhook(SECRET, ID, TS, BODY);
    expect(verifyWebhook(SECRET, { id: ID, timestamp: String(TS), signature: sig, body: BODY }, TS + 10)).toEqual({ ok: true });
    expect(verifyWebhook(SECRET, { id: ID, timestamp: String(TS), signature: `v1,AAAA ${sig}`, body: BODY }, TS)).toEqual({ ok: true });
  });

  it('rejects a changed body, another id, a stale timestamp and a wrong secret', () => {
    const sig = signWebhook(SECRET, ID, TS, BODY);
    expect(verifyWebhook(SECRET, { id: ID, timestamp: String(TS), signature: sig, body: `${BODY} ` }, TS).ok).toBe(false);
    expect(verifyWebhook(SECRET, { id: 'msg_other', timestamp: String(TS), signature: sig, body: BODY }, TS).ok).toBe(false);
    expect(verifyWebhook(SECRET, { id: ID, timestamp: String(TS), signature: sig, body: BODY }, TS + 301)).toEqual({ ok: false, reason: 'timestamp outside tolerance' });
    expect(verifyWebhook('whsec_b3RoZXI=', { id: ID, timestamp: String(TS), signature: sig, body: BODY }, TS).ok).toBe(false);
  });

  it('sends the id as the idempotency key and signs each attempt\'s timestamp', () => {
    const body = webhookBody(bigDigest(2));
    expect(JSON.parse(body)).toMatchObject({ type: 'digest.created', data: { id: 'dg_test', name: 'big' } });
    const a = webhookHeaders('dg_test_hook', body, SECRET, TS);
    const b = webhookHeaders('dg_test_hook', body, SECRET, TS + 5);
    expect(a['webhook-id']).toBe('dg_test_hook');
    expect(a['idempotency-key']).toBe('dg_test_hook');
    expect(a['webhook-signature']).not.toBe(b['webhook-signature']);
    expect(verifyWebhook(SECRET, { id: 'dg_test_hook', timestamp: b['webhook-timestamp']!, signature: b['webhook-signature']!, body }, TS + 5).ok).toBe(true);
    expect(webhookHeaders('x', body, undefined, TS)).not.toHaveProperty('webhook-signature');
  });
});
