// Pure parts of the LogicMonitor connector: LMv1 signing (the spec's vectors), option parsing,
// alert → envelope mapping and the cursor arithmetic.
import { describe, expect, it } from 'vitest';
import { authorizationHeader, signLmv1 } from '../../plugins/logicmonitor/auth.js';
import { rateLimitWaitMs } from '../../plugins/logicmonitor/client.js';
import { logicMonitorSchema } from '../../plugins/logicmonitor/config.js';
import { acceptPage, finishWindow, initialCheckpoint, restoreCheckpoint, windowStart } from '../../plugins/logicmonitor/cursor.js';
import { alertToEnvelope } from '../../plugins/logicmonitor/envelope.js';

const ID = 'ABCDEF1234567890abcd';
const KEY = 'test-access-key-0123456789';

describe('LMv1 signing', () => {
  it("reproduces the spec's GET vector, header included", () => {
    expect(signLmv1(KEY, 'GET', '1700000000000', '', '/alert/alerts')).toBe(
      'MDNhOTkzY2Q0NDMyZWI2N2QzNDMyOWE0MDdmNzdhNGFiMDdhNjVlNTE4ZDgyMjUyZTlmMGFkNzViZTMzN2YyNg==');
    expect(authorizationHeader({ type: 'lmv1', access_id: ID, access_key: KEY }, 'GET', '/alert/alerts', '', 1700000000000)).toBe(
      'LMv1 ABCDEF1234567890abcd:MDNhOTkzY2Q0NDMyZWI2N2QzNDMyOWE0MDdmNzdhNGFiMDdhNjVlNTE4ZDgyMjUyZTlmMGFkNzViZTMzN2YyNg==:1700000000000');
  });

  it("reproduces the spec's POST vector with a body", () => {
    expect(signLmv1(KEY, 'POST', 1700000000000, '{"ackComment":"ok"}', '/alert/alerts/DS304962/ack')).toBe(
      'NDliYmRlNjRjNzc1ZjBjNzU1ZWQ5ZWU2NWIwZDcyMzNlNDk3MjA5Njg2YWEyNjE4OGI5ZmJmMTU0YmFjZDViZQ==');
  });

  it('sends a bearer token as is', () => {
    expect(authorizationHeader({ type: 'bearer', token: 'lmb_x' }, 'GET', '/alert/alerts')).toBe('Bearer lmb_x');
  });
});

describe('options', () => {
  const auth = { type: 'bearer', token: 't' };
  it('fills the documented defaults and derives the base URL from the account', () => {
    const c = logicMonitorSchema.parse({ account: 'acme', auth });
    expect(c).toMatchObject({
      base_url: 'https://acme.logicmonitor.com/santaba/rest', schedule: '* * * * *', page_size: 500, include_cleared: true,
      initial_lookback: 86_400_000, overlap: 600_000, timeout: 30_000, max_retries: 3, offset_limit: 10_000,
    });
    expect(logicMonitorSchema.parse({ account: 'acme.lmgov.us', auth }).base_url).toBe('https://acme.lmgov.us/santaba/rest');
    expect(logicMonitorSchema.parse({ base_url: 'http://127.0.0.1:1/santaba/rest/', auth, timeout: 5 }).timeout).toBe(5000);
  });

  it.each([
    [{ auth }, 'account'],
    [{ account: 'a', base_url: 'https://a.logicmonitor.com/santaba/rest', auth }, 'account'],
    [{ account: 'a', auth, page_size: 1001 }, 'page_size'],
    [{ account: 'a', auth, schedule: 'every minute' }, 'schedule'],
    [{ account: 'a', auth, initial_lookback: 'a day' }, 'initial_lookback'],
    [{ account: 'a', auth: { type: 'lmv1', access_id: 'x' } }, 'auth'],
    [{ account: 'a', auth, filter: 'severity:"4"||severity:"3"' }, 'filter'],
    [{ account: 'a', auth, pagesize: 10 }, ''],
  ])('rejects %j (path %s)', (input, path) => {
    const r = logicMonitorSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error!.issues.some((i) => i.path.join('.').startsWith(path))).toBe(true);
  });
});

describe('alert → envelope', () => {
  const alert = {
    id: 'DS304962', internalId: 'LMD88211', type: 'dataSourceAlert', severity: 3, startEpoch: 1700000123, endEpoch: 1700000723,
    cleared: true, monitorObjectId: 42, monitorObjectName: 'db-01', resourceTemplateName: 'Linux CPU', instanceName: 'cpu0',
    dataPointName: 'CPUBusyPercent', alertValue: '93.5', threshold: '> 90', clearValue: '41.0',
    detailMessage: { subject: 's', body: 'CPU on db-01\n is busy' },
  };

  it('maps a raised alert: host, service, severity, message with datapoint/value/threshold and the alert message', () => {
    const e = alertToEnvelope(alert, 'raised', 0);
    expect(e).toMatchObject({
      sourceType: 'logicmonitor', host: 'db-01', service: 'Linux CPU', severity: 'error', assetId: '42', timestamp: 1700000123000,
      correlationKeys: { alert_id: 'DS304962', device: 'db-01', instance: 'cpu0', datapoint: 'CPUBusyPercent' },
      metadata: { alert_state: 'raised', lm_severity: 3, alert_type: 'dataSourceAlert' },
    });
    expect(e.messageRaw).toBe('LogicMonitor error alert raised on db-01: Linux CPU cpu0 CPUBusyPercent = 93.5 (threshold > 90) - CPU on db-01 is busy');
    expect(e.structuredFields).toEqual(alert);
    expect(alertToEnvelope({ ...alert, severity: 4 }, 'raised', 0).severity).toBe('critical');
    expect(alertToEnvelope({ ...alert, severity: 2 }, 'raised', 0).severity).toBe('warning');
  });

  it('maps a clear to a recovery event with the same correlation keys', () => {
    const raised = alertToEnvelope(alert, 'raised', 0);
    const cleared = alertToEnvelope(alert, 'cleared', 0);
    expect(cleared.correlationKeys).toEqual(raised.correlationKeys);
    expect(cleared.timestamp).toBe(1700000723000);
    expect(cleared.metadata).toMatchObject({ alert_state: 'cleared', recovery: true, duration_s: 600 });
    expect(cleared.messageRaw).toMatch(/^LogicMonitor alert cleared on db-01: Linux CPU cpu0 CPUBusyPercent = 41.0 \(threshold > 90\), was 93.5/);
  });

  it('copes with an alert that has almost no fields', () => {
    const e = alertToEnvelope({ id: 'X1', type: 'eventAlert' }, 'raised', 5000);
    expect(e.messageRaw).toBe('LogicMonitor alert alert raised: eventAlert');
    expect(e.timestamp).toBe(5000);
    expect(e.correlationKeys).toEqual({ alert_id: 'X1' });
  });
});

describe('cursor', () => {
  it('emits each id once, advances the watermark and forgets ids that left the overlap window', () => {
    const start = initialCheckpoint(1_000_000_000, 100_000).raised; // watermark 999,900 s
    expect(start.watermark).toBe(999_900);
    const a = { id: 'A', startEpoch: 999_950 };
    const b = { id: 'B', startEpoch: 999_960 };
    const p1 = acceptPage(start, [a, b], 'raised', 30);
    expect(p1.fresh).toEqual([a, b]);
    expect(p1.cursor.watermark).toBe(999_960);
    expect(windowStart(p1.cursor, 30)).toBe(999_930);
    const c = { id: 'C', startEpoch: 999_985 };
    const p2 = acceptPage(p1.cursor, [a, b, c], 'raised', 30);
    expect(p2.fresh).toEqual([c]);
    expect(Object.keys(p2.cursor.seen).sort()).toEqual(['B', 'C']); // A (999,950) < 999,985 − 30
    const done = finishWindow(p2.cursor, 1_000_100, 30);
    expect(done).toEqual({ watermark: 1_000_100, seen: {} });
  });

  it('starts the first window exactly initial_lookback ago', () => {
    const c = initialCheckpoint(1_000_000_000, 3_600_000, 600_000);
    expect(windowStart(c.raised, 600)).toBe(1_000_000 - 3600);
    expect(windowStart(c.cleared, 600)).toBe(1_000_000 - 3600);
  });

  it('skips still-active alerts in the cleared stream and restores only its own checkpoints', () => {
    const c = initialCheckpoint(10_000_000, 0).cleared;
    const r = acceptPage(c, [{ id: 'A', endEpoch: 0, cleared: false }, { id: 'B', endEpoch: 10_001, cleared: true }], 'cleared', 60);
    expect(r.fresh.map((a) => a.id)).toEqual(['B']);
    const cp = JSON.parse(JSON.stringify({ v: 1, raised: c, cleared: r.cursor }));
    expect(restoreCheckpoint(cp)).toEqual(cp);
    expect(restoreCheckpoint({ offset: 12 })).toBeUndefined();
    expect(restoreCheckpoint(undefined)).toBeUndefined();
  });
});

describe('rate-limit waits', () => {
  it('prefers Retry-After (seconds or date), else X-Rate-Limit-Window, else 60 s', () => {
    expect(rateLimitWaitMs({ 'retry-after': '3', 'x-rate-limit-window': '60' }, 0)).toBe(3000);
    expect(rateLimitWaitMs({ 'retry-after': new Date(10_000).toUTCString() }, 4000)).toBe(6000);
    expect(rateLimitWaitMs({ 'x-rate-limit-window': '20' }, 0)).toBe(20_000);
    expect(rateLimitWaitMs({}, 0)).toBe(60_000);
  });
});
