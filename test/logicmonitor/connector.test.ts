// The real LogicMonitor connector against the fake portal, through a recording ConnectorContext:
// incremental polling, paging, the offset ceiling, restarts mid-poll, and every fault rule.
import { afterEach, describe, expect, it } from 'vitest';
import { LogicMonitorConnector } from '../../plugins/logicmonitor/connector.js';
import { generateAlerts, startFakeLogicMonitor, type FakeLogicMonitor, type FakeOptions } from '../fakes/logicmonitor/server.js';
import { ACCESS_ID, ACCESS_KEY, connector, ids, lmConfig, recordingContext, waitFor, type RecordingContext } from './helpers.js';

const nowSec = () => Math.floor(Date.now() / 1000);
let fake: FakeLogicMonitor;
const running: LogicMonitorConnector[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
  await fake?.close();
});

async function start(opts: FakeOptions = {}): Promise<FakeLogicMonitor> {
  fake = await startFakeLogicMonitor({ accessKeys: { [ACCESS_ID]: ACCESS_KEY }, bearerTokens: ['lmb_token'], ...opts });
  return fake;
}

function make(ctx: RecordingContext, overrides: Parameters<typeof connector>[2] = {}): LogicMonitorConnector {
  const c = connector(fake, ctx, overrides);
  running.push(c);
  return c;
}

describe('logicmonitor connector: polling', () => {
  it('emits every alert of the lookback as a raised event and each clear as a linked recovery event', async () => {
    await start();
    const alerts = generateAlerts({ count: 40, startSec: nowSec() - 3600, spacingSec: 60, clearedRatio: 0.3 });
    fake.upsert(...alerts);
    fake.upsert(...generateAlerts({ count: 5, startSec: nowSec() - 3 * 86400, idPrefix: 'OLD' })); // before the lookback
    fake.upsert(...generateAlerts({ count: 1, startSec: nowSec() - 86400 - 120, idPrefix: 'OUT' })); // 2 min before it
    const inside = generateAlerts({ count: 1, startSec: nowSec() - 86400 + 120, idPrefix: 'IN' });
    alerts.push(...inside);
    fake.upsert(...inside);
    const ctx = recordingContext();
    await make(ctx).poll();

    expect(ctx.error).toBeUndefined();
    expect(ids(ctx.envelopes, 'raised').sort()).toEqual(alerts.map((a) => a.id).sort());
    const cleared = alerts.filter((a) => a.cleared);
    expect(cleared.length).toBeGreaterThan(0);
    expect(ids(ctx.envelopes, 'cleared').sort()).toEqual(cleared.map((a) => a.id).sort());
    const a = cleared[0]!;
    const raise = ctx.envelopes.find((e) => e.metadata?.alert_state === 'raised' && e.correlationKeys?.alert_id === a.id)!;
    const clear = ctx.envelopes.find((e) => e.metadata?.alert_state === 'cleared' && e.correlationKeys?.alert_id === a.id)!;
    expect(clear.correlationKeys).toEqual(raise.correlationKeys);
    expect(raise).toMatchObject({ sourceType: 'logicmonitor', host: a.monitorObjectName, service: a.resourceTemplateName });
    expect(raise.messageRaw).toContain(`${a.dataPointName} = ${a.alertValue} (threshold ${a.threshold})`);
    expect(clear.messageRaw).toContain('cleared');
    expect((raise.structuredFields as { id: string }).id).toBe(a.id);

    // What went over the wire: v3, signed without the query, cleared:"*" always asked for.
    const reqs = fake.listRequests();
    expect(reqs.length).toBe(2);
    for (const r of reqs) {
      expect(r.headers['x-version']).toBe('3');
      expect(r.status).toBe(200);
      expect(r.suppliedSignature).toBe(r.computedSignature);
      expect(r.query.get('filter')).toContain('cleared:"*"');
    }
    expect(reqs[0]!.query.get('sort')).toBe('+startEpoch');
    expect(reqs[1]!.query.get('sort')).toBe('+endEpoch');
  });

  it('emits only what is new on the next poll: new alerts, clears of old ones, late-stamped alerts inside the overlap', async () => {
    await start();
    const t0 = nowSec();
    const first = generateAlerts({ count: 10, startSec: t0 - 7200, spacingSec: 300 });
    fake.upsert(...first);
    const ctx = recordingContext();
    const c = make(ctx);
    await c.poll();
    expect(ctx.envelopes).toHaveLength(10);

    await c.poll();
    expect(ctx.envelopes).toHaveLength(10); // nothing new, nothing repeated

    const fresh = generateAlerts({ count: 3, startSec: t0 - 3, idPrefix: 'NEW' });
    const late = generateAlerts({ count: 1, startSec: t0 - 300, idPrefix: 'LATE' }); // stamped 5 min ago, arrives now
    fake.upsert(...fresh, ...late);
    fake.clear(first[0]!.id, t0);
    await c.poll();
    const added = ctx.envelopes.slice(10);
    expect(ids(added, 'raised').sort()).toEqual(['LATE100000', 'NEW100000', 'NEW100001', 'NEW100002']);
    expect(ids(added, 'cleared')).toEqual([first[0]!.id]);
  });

  it('pages through a result larger than one page, one emit per page', async () => {
    await start();
    fake.upsert(...generateAlerts({ count: 2300, startSec: nowSec() - 20_000, spacingSec: 5 }));
    const ctx = recordingContext();
    await make(ctx, { page_size: 500, include_cleared: false }).poll();
    expect(new Set(ids(ctx.envelopes, 'raised')).size).toBe(2300);
    expect(ctx.envelopes).toHaveLength(2300);
    expect(fake.listRequests().map((r) => r.query.get('offset'))).toEqual(['0', '500', '1000', '1500', '2000']);
    expect(ctx.emits).toBe(6); // 5 pages + the end-of-window cursor
    // Only ids inside the overlap window are remembered: the checkpoint stays small.
    const cp = ctx.lastCheckpoint as { raised: { watermark: number; seen: Record<string, number> } };
    expect(cp.raised.watermark).toBeGreaterThanOrEqual(nowSec() - 5);
    expect(Object.keys(cp.raised.seen)).toEqual([]);
  });

  it('keeps paging when the portal caps the page size below page_size and total says more exist', async () => {
    await start({ maxSize: 200 });
    fake.upsert(...generateAlerts({ count: 700, startSec: nowSec() - 7000, spacingSec: 5 }));
    const ctx = recordingContext();
    await make(ctx, { page_size: 500, include_cleared: false }).poll();
    expect(new Set(ids(ctx.envelopes, 'raised')).size).toBe(700);
    expect(fake.listRequests().map((r) => r.query.get('offset'))).toEqual(['0', '200', '400', '600']);
  });

  it('narrows the time window when offset paging reaches the API row limit, without losing or repeating alerts', async () => {
    await start({ offsetLimit: 1000 });
    // 3 alerts per second so page boundaries fall inside a second.
    fake.upsert(...generateAlerts({ count: 3500, startSec: nowSec() - 5000, spacingSec: 1 / 3 }));
    const ctx = recordingContext();
    await make(ctx, { page_size: 300, offset_limit: 1000, include_cleared: false }).poll();
    const got = ids(ctx.envelopes, 'raised');
    expect(got).toHaveLength(3500);
    expect(new Set(got).size).toBe(3500);
    const offsets = fake.listRequests().map((r) => Number(r.query.get('offset')));
    expect(Math.max(...offsets)).toBeLessThan(1000);
    const froms = new Set(fake.listRequests().map((r) => /startEpoch>:"(\d+)"/.exec(r.query.get('filter')!)![1]));
    expect(froms.size).toBeGreaterThan(3);
  });

  it('resumes after a crash in the middle of a paged poll without missing or repeating an alert', async () => {
    await start();
    const alerts = generateAlerts({ count: 1000, startSec: nowSec() - 10_000, spacingSec: 0.5, clearedRatio: 0.2 });
    fake.upsert(...alerts);
    const first = recordingContext();
    first.failEmitAt = 4; // pages 1–3 committed, the process dies before page 4 commits
    const c1 = make(first, { page_size: 100 });
    await c1.poll();
    expect(first.error?.message).toContain('simulated crash');
    expect(first.envelopes).toHaveLength(300);
    await c1.stop();

    const requestsBefore = fake.listRequests().length;
    const second = recordingContext(first.lastCheckpoint);
    await make(second, { page_size: 100 }).poll();
    const all = [...first.envelopes, ...second.envelopes];
    const raised = ids(all, 'raised');
    expect(raised).toHaveLength(1000);
    expect(new Set(raised).size).toBe(1000);
    const cleared = ids(all, 'cleared');
    expect(cleared.sort()).toEqual(alerts.filter((a) => a.cleared).map((a) => a.id).sort());
    // The restarted poll started from the committed watermark, not from the lookback.
    const resumedAt = Number(/startEpoch>:"(\d+)"/.exec(fake.listRequests()[requestsBefore]!.query.get('filter')!)![1]);
    expect(resumedAt).toBeGreaterThan(alerts[250]!.startEpoch - 600);
  });

  it('keeps an alert cleared during paging to one raised and one recovery event', async () => {
    const t0 = nowSec();
    const alerts = generateAlerts({ count: 600, startSec: t0 - 6000, spacingSec: 1 });
    await start({
      onListRequest: (n) => {
        if (n === 3) fake.clear(alerts[5]!.id, t0 - 1); // while the raised stream is on its third page
      },
    });
    fake.upsert(...alerts);
    const ctx = recordingContext();
    await make(ctx, { page_size: 200 }).poll();
    expect(ids(ctx.envelopes, 'raised')).toHaveLength(600);
    expect(ids(ctx.envelopes, 'cleared')).toEqual([alerts[5]!.id]);
  });

  it('fetches the next page while the previous one commits, with at most two emits outstanding', async () => {
    await start();
    const alerts = generateAlerts({ count: 1000, startSec: nowSec() - 5000, spacingSec: 1 });
    fake.upsert(...alerts);
    const ctx = recordingContext();
    ctx.emitDelayMs = 30;
    await make(ctx, { page_size: 100, include_cleared: false }).poll();
    expect(ctx.maxInFlight).toBe(2);
    expect(ids(ctx.envelopes, 'raised')).toEqual(alerts.map((a) => a.id)); // committed in page order
    expect(ctx.inFlight).toBe(0);
  });

  it('uses a bearer token when configured and respects include_cleared: false and the extra filter', async () => {
    await start();
    const alerts = generateAlerts({ count: 50, startSec: nowSec() - 3000, spacingSec: 10, clearedRatio: 0.5 });
    fake.upsert(...alerts);
    const ctx = recordingContext();
    await make(ctx, { auth: { type: 'bearer', token: 'lmb_token' }, include_cleared: false, filter: 'severity:"4"' }).poll();
    expect(ctx.error).toBeUndefined();
    expect(ids(ctx.envelopes, 'cleared')).toEqual([]);
    expect(ids(ctx.envelopes, 'raised').sort()).toEqual(alerts.filter((a) => a.severity === 4).map((a) => a.id).sort());
    expect(fake.journal[0]!.headers.authorization).toBe('Bearer lmb_token');
  });

  it('polls on its node-cron schedule and never runs two polls at once', async () => {
    await start();
    fake.upsert(...generateAlerts({ count: 5, startSec: nowSec() - 60 }));
    const ctx = recordingContext();
    const c = new LogicMonitorConnector(lmConfig(fake, { schedule: '* * * * * *' }), ctx);
    running.push(c);
    fake.inject({ kind: 'delay', ms: 1500 }); // the first poll outlives the next tick
    c.start();
    await waitFor(() => fake.listRequests().length >= 4, 'two scheduled polls');
    expect(ids(ctx.envelopes, 'raised')).toHaveLength(5);
    // Requests of different polls never interleave: each poll is raised-stream then cleared-stream.
    const sorts = fake.listRequests().map((r) => r.query.get('sort'));
    expect(sorts.slice(0, 4)).toEqual(['+startEpoch', '+endEpoch', '+startEpoch', '+endEpoch']);
    const [p1, p2] = await Promise.all([c.poll(), c.poll()]);
    expect(p1).toBe(p2);
    expect(ctx.gauges.polls_skipped).toBeGreaterThanOrEqual(1);
  });
});

describe('logicmonitor connector: faults', () => {
  it('waits out a 429 for Retry-After, then continues', async () => {
    await start();
    fake.upsert(...generateAlerts({ count: 3, startSec: nowSec() - 60 }));
    fake.inject({ kind: 'rate-limit', retryAfterSec: 1 });
    const ctx = recordingContext();
    await make(ctx).poll();
    expect(ctx.error).toBeUndefined();
    expect(ids(ctx.envelopes, 'raised')).toHaveLength(3);
    const [limited, retried] = fake.listRequests();
    expect(limited!.status).toBe(429);
    expect(retried!.atMs - limited!.atMs).toBeGreaterThanOrEqual(950);
  });

  it('pauses by itself when X-Rate-Limit-Remaining reaches 0 instead of running into 429s', async () => {
    await start({ rateLimit: { limit: 2, windowSec: 1 } });
    fake.upsert(...generateAlerts({ count: 30, startSec: nowSec() - 600, spacingSec: 10 }));
    const ctx = recordingContext();
    await make(ctx, { page_size: 10, include_cleared: false }).poll();
    expect(ids(ctx.envelopes, 'raised')).toHaveLength(30);
    expect(fake.listRequests().every((r) => r.status === 200)).toBe(true);
    expect(fake.listRequests()).toHaveLength(4);
  });

  it('retries 5xx (HTML bodies), v1 "query timed out" and timeouts with backoff, then succeeds', async () => {
    await start();
    fake.upsert(...generateAlerts({ count: 3, startSec: nowSec() - 60 }));
    fake.inject({ kind: 'html', status: 503 });
    fake.inject({ kind: 'v1-status', status: 1101 });
    fake.inject({ kind: 'hang' }); // no response headers
    fake.inject({ kind: 'hang-body' }); // headers, then the body stalls
    const ctx = recordingContext();
    await make(ctx, { timeout: '300ms', max_retries: 4 }).poll();
    expect(ctx.error).toBeUndefined();
    expect(ids(ctx.envelopes, 'raised')).toHaveLength(3);
    expect(fake.listRequests().slice(0, 5).map((r) => r.status)).toEqual([503, 200, -1, 200, 200]);
    expect(fake.listRequests()).toHaveLength(6); // 4 retried + the good raised page + the cleared stream
    expect(ctx.logs.join('')).toContain('retrying');
  });

  it('marks the poll failed after max_retries and resumes from the committed cursor on the next poll', async () => {
    await start();
    const alerts = generateAlerts({ count: 20, startSec: nowSec() - 600, spacingSec: 10 });
    fake.upsert(...alerts);
    fake.inject({ kind: 'status', status: 500 }, 3);
    const ctx = recordingContext();
    const c = make(ctx, { max_retries: 2 });
    await c.poll();
    expect(fake.listRequests()).toHaveLength(3);
    expect(ctx.error).toEqual({ message: expect.stringContaining('HTTP 500'), degraded: false });
    expect(ctx.envelopes).toHaveLength(0);
    await c.poll();
    expect(ctx.error).toBeUndefined();
    expect(ids(ctx.envelopes, 'raised')).toHaveLength(20);
  });

  it('sets a degraded error with the reason on 401, keeps polling, and clears it once credentials work', async () => {
    await start({ accessKeys: { [ACCESS_ID]: 'a-different-key' } });
    fake.upsert(...generateAlerts({ count: 2, startSec: nowSec() - 60 }));
    const ctx = recordingContext();
    const c = make(ctx);
    await c.poll();
    expect(fake.listRequests()).toHaveLength(1); // no retry on 401
    expect(ctx.error?.degraded).toBe(true);
    expect(ctx.error?.message).toContain('Authentication failed');
    await c.poll();
    expect(ctx.error?.degraded).toBe(true);
    fake.opts.accessKeys[ACCESS_ID] = ACCESS_KEY; // the operator fixed the key on the portal side
    await c.poll();
    expect(ctx.error).toBeUndefined();
    expect(ids(ctx.envelopes, 'raised')).toHaveLength(2);
    const logs = ctx.logs.join('');
    expect(logs).toContain('Authentication failed');
    expect(logs).not.toContain(ACCESS_KEY);
  });

  it('sets a degraded error on 403 with the portal reason', async () => {
    await start();
    fake.inject({ kind: 'status', status: 403, errorCode: 1403, errorMessage: 'Permission denied for alerts' });
    const ctx = recordingContext();
    await make(ctx).poll();
    expect(ctx.error).toEqual({ message: expect.stringContaining('Permission denied for alerts'), degraded: true });
  });

  it('treats a malformed body or a dropped connection as a failed poll, not a crash', async () => {
    await start();
    fake.upsert(...generateAlerts({ count: 4, startSec: nowSec() - 60 }));
    fake.inject({ kind: 'malformed' });
    const ctx = recordingContext();
    const c = make(ctx, { max_retries: 0 });
    await c.poll();
    expect(ctx.error).toEqual({ message: expect.stringContaining('malformed JSON'), degraded: false });
    fake.inject({ kind: 'reset' });
    await c.poll();
    expect(ctx.error?.message).toContain('network error');
    await c.poll();
    expect(ctx.error).toBeUndefined();
    expect(ids(ctx.envelopes, 'raised')).toHaveLength(4);
  });

  it('check() reports whether the credentials work, with one request', async () => {
    await start();
    const ok = await make(recordingContext()).check();
    expect(ok.ok).toBe(true);
    expect(fake.listRequests()).toHaveLength(1);
    fake.opts.bearerTokens.length = 0;
    const bad = await make(recordingContext(), { auth: { type: 'bearer', token: 'lmb_revoked' } }).check();
    expect(bad).toEqual({ ok: false, detail: expect.stringContaining('Authentication failed') });
    expect(fake.listRequests()).toHaveLength(2);
  });

  it('stops promptly while a request hangs', async () => {
    await start();
    fake.inject({ kind: 'hang' }, 10);
    const ctx = recordingContext();
    const c = new LogicMonitorConnector(lmConfig(fake, { timeout: '60s' }), ctx);
    c.start();
    await waitFor(() => fake.listRequests().length === 1, 'the hanging request');
    await c.stop();
    expect(ctx.error).toBeUndefined();
  });
});
