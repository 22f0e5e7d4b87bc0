// The fake LogicMonitor checks what the real portal checks (spec §6); these tests pin that down
// with the spec's own vectors, so client tests against it mean something.
import { afterEach, describe, expect, it } from 'vitest';
import { generateAlerts, startFakeLogicMonitor, type FakeLogicMonitor, type FakeOptions } from '../fakes/logicmonitor/server.js';

const ID = 'ABCDEF1234567890abcd';
const KEY = 'test-access-key-0123456789';
const EPOCH = 1700000000000;
const GOOD = 'MDNhOTkzY2Q0NDMyZWI2N2QzNDMyOWE0MDdmNzdhNGFiMDdhNjVlNTE4ZDgyMjUyZTlmMGFkNzViZTMzN2YyNg==';
const AUTH_FAILED = { errorMessage: 'Authentication failed', errorCode: 1401, errorDetail: null };

let fake: FakeLogicMonitor;
afterEach(async () => fake?.close());

async function start(opts: FakeOptions = {}): Promise<FakeLogicMonitor> {
  fake = await startFakeLogicMonitor({ accessKeys: { [ID]: KEY }, bearerTokens: ['lmb_good'], now: () => EPOCH, ...opts });
  return fake;
}

async function get(pathAndQuery: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${fake.port}${pathAndQuery}`, { headers: { 'X-Version': '3', ...headers } });
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* html or malformed */ }
  return { status: res.status, body, headers: res.headers };
}

const lmv1 = (sig: string, epoch = EPOCH) => ({ Authorization: `LMv1 ${ID}:${sig}:${epoch}` });
const bearer = { Authorization: 'Bearer lmb_good' };

describe('fake LogicMonitor: authentication', () => {
  it("accepts the spec's LMv1 test vector", async () => {
    await start();
    const r = await get('/santaba/rest/alert/alerts?size=1000&offset=0', lmv1(GOOD));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ total: 0, items: [], searchId: null });
    expect(fake.journal[0]!.computedSignature).toBe(GOOD);
  });

  it.each([
    ['signed /santaba/rest/alert/alerts', 'MGM2NTAxYTgwZGQxNjExMGE2ZTExYWM2ZDFjOTdjODNkZmE4ZmU1ZGIzMmEyN2Y1YzZmNzFhN2QzY2E0MzI0Mw=='],
    ['signed the query string', 'OGVjZDY1M2UwMDhkYTI1ZDUyZjAyMGY5Mzk5YzhkMTFjYmI2ZjhkMzkyODllYTBhZTcxODQ1YmYzNmZmOGU3OQ=='],
    ['base64 of the raw digest', 'A6mTzUQy62fTQymkB/d6SrB6ZeUY2CJS6fCtdb4zfyY='],
  ])("rejects the spec's negative vector (%s) with the 1401 body", async (_name, sig) => {
    await start();
    const r = await get('/santaba/rest/alert/alerts?size=1000', lmv1(sig));
    expect(r.status).toBe(401);
    expect(r.body).toEqual(AUTH_FAILED);
  });

  it('rejects a correct signature whose timestamp is outside the skew window', async () => {
    await start({ now: () => EPOCH + 31 * 60_000 });
    expect((await get('/santaba/rest/alert/alerts', lmv1(GOOD))).status).toBe(401);
    await fake.close();
    await start({ now: () => EPOCH - 29 * 60_000 });
    expect((await get('/santaba/rest/alert/alerts', lmv1(GOOD))).status).toBe(200);
  });

  it('rejects an unknown access id, a missing header and an unknown bearer token; accepts a known token', async () => {
    await start();
    expect((await get('/santaba/rest/alert/alerts', { Authorization: `LMv1 OTHER:${GOOD}:${EPOCH}` })).status).toBe(401);
    expect((await get('/santaba/rest/alert/alerts')).status).toBe(401);
    expect((await get('/santaba/rest/alert/alerts', { Authorization: 'Bearer nope' })).body).toEqual(AUTH_FAILED);
    expect((await get('/santaba/rest/alert/alerts', bearer)).status).toBe(200);
  });

  it('answers in the v1 wrapper without X-Version', async () => {
    await start();
    const res = await fetch(`http://127.0.0.1:${fake.port}/santaba/rest/alert/alerts`, { headers: bearer });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 200, errmsg: 'OK', data: { total: 0, items: [], searchId: null } });
    const bad = await fetch(`http://127.0.0.1:${fake.port}/santaba/rest/alert/alerts`, { headers: { Authorization: 'Bearer x' } });
    expect(bad.status).toBe(200);
    expect((await bad.json()).status).toBe(1401);
  });
});

describe('fake LogicMonitor: alerts, filters and limits', () => {
  it('pages with size and offset, clamps size to 1000, and stops at the offset ceiling', async () => {
    await start({ offsetLimit: 2500 });
    fake.upsert(...generateAlerts({ count: 3000, startSec: 1_700_000_000 }));
    const q = (s: string) => get(`/santaba/rest/alert/alerts?filter=${encodeURIComponent('cleared:"*"')}&sort=%2BstartEpoch&${s}`, bearer);
    const big = await q('size=5000&offset=0');
    expect(big.body.items).toHaveLength(1000);
    expect(big.body.total).toBe(3000);
    expect((await q('size=1000&offset=2000')).body.items).toHaveLength(500);
    expect((await q('size=1000&offset=2500')).body.items).toHaveLength(0);
    expect((await q('size=50&offset=0')).body.items[0].id).toBe('DS100000');
    await fake.close();
    await start({ offsetLimit: 2500, offsetLimitMode: 'error', sizeMode: 'reject', totalMode: 'negative' });
    fake.upsert(...generateAlerts({ count: 10, startSec: 1_700_000_000 }));
    expect((await q('size=1000&offset=2500')).status).toBe(400);
    expect((await q('size=1001&offset=0')).status).toBe(400);
    expect((await q('size=5&offset=0')).body.total).toBeLessThan(0);
  });

  it('filters on epochs (quoted and unquoted), cleared, severity lists and wildcards; active only by default', async () => {
    await start();
    const alerts = generateAlerts({ count: 100, startSec: 1000, clearedRatio: 0.5 });
    fake.upsert(...alerts);
    const count = async (filter?: string) => {
      const f = filter === undefined ? '' : `&filter=${encodeURIComponent(filter)}`;
      return (await get(`/santaba/rest/alert/alerts?size=1000${f}`, bearer)).body.items.length as number;
    };
    const active = alerts.filter((a) => !a.cleared).length;
    expect(active).toBeGreaterThan(0);
    expect(active).toBeLessThan(100);
    expect(await count()).toBe(active);
    expect(await count('cleared:"*"')).toBe(100);
    expect(await count('cleared:"true"')).toBe(100 - active);
    expect(await count('startEpoch>:"1010",startEpoch<:"1019",cleared:"*"')).toBe(10);
    expect(await count('startEpoch>1010,startEpoch<1019,cleared:"*"')).toBe(8);
    expect(await count('severity:"4"|"3",cleared:"*"')).toBe(alerts.filter((a) => a.severity >= 3).length);
    expect(await count('monitorObjectName:"host-0*",cleared:"*"')).toBe(alerts.filter((a) => a.monitorObjectName.startsWith('host-0')).length);
    expect(await count('id:"DS100007"||id:"DS100008",cleared:"*"')).toBe(2);
    expect((await get(`/santaba/rest/alert/alerts?filter=${encodeURIComponent('bogus:"1"')}`, bearer)).body.errorCode).toBe(1400);
  });

  it('sorts, projects fields, adds detailMessage and serves single alerts by id or internalId', async () => {
    await start();
    fake.upsert(...generateAlerts({ count: 5, startSec: 1000 }));
    const r = await get('/santaba/rest/alert/alerts?sort=-startEpoch&fields=id,startEpoch&size=2', bearer);
    expect(r.body.items).toEqual([{ id: 'DS100004', startEpoch: 1004 }, { id: 'DS100003', startEpoch: 1003 }]);
    const m = await get('/santaba/rest/alert/alerts?needMessage=true&size=1', bearer);
    expect(typeof m.body.items[0].detailMessage.body).toBe('string');
    expect((await get('/santaba/rest/alert/alerts/LMD500002', bearer)).body.id).toBe('DS100002');
    expect((await get('/santaba/rest/alert/alerts/DS100002', bearer)).body.internalId).toBe('LMD500002');
    expect((await get('/santaba/rest/nothing', bearer)).body.errorCode).toBe(1404);
  });

  it('sends rate-limit headers on every response and answers 429/1429 when the bucket is empty', async () => {
    await start({ rateLimit: { limit: 2, windowSec: 3600 } });
    const a = await get('/santaba/rest/alert/alerts', bearer);
    expect(a.headers.get('x-rate-limit-limit')).toBe('2');
    expect(a.headers.get('x-rate-limit-window')).toBe('3600');
    expect(a.headers.get('x-rate-limit-remaining')).toBe('1');
    await get('/santaba/rest/alert/alerts', bearer);
    const c = await get('/santaba/rest/alert/alerts', bearer);
    expect(c.status).toBe(429);
    expect(c.body.errorCode).toBe(1429);
    expect(c.headers.get('x-rate-limit-remaining')).toBe('0');
  });

  it('injects 5xx with HTML, malformed JSON, v1 status codes and scripted 429s', async () => {
    await start();
    fake.inject({ kind: 'html', status: 503 });
    fake.inject({ kind: 'malformed' });
    fake.inject({ kind: 'v1-status', status: 1101 });
    fake.injectAt(4, { kind: 'rate-limit', retryAfterSec: 7 });
    const html = await get('/santaba/rest/alert/alerts', bearer);
    expect(html.status).toBe(503);
    expect(String(html.body)).toContain('<html>');
    const malformed = await get('/santaba/rest/alert/alerts', bearer);
    expect(malformed.status).toBe(200);
    expect(typeof malformed.body).toBe('string'); // did not parse as JSON
    expect((await get('/santaba/rest/alert/alerts', bearer)).body.status).toBe(1101);
    const limited = await get('/santaba/rest/alert/alerts', bearer);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect((await get('/santaba/rest/alert/alerts', bearer)).status).toBe(200);
  });
});
