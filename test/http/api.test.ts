// The HTTP API against a running daemon (the built CLI as a child process): auth, request ids,
// JSON errors, ingest limits, ingest-then-query in the wire format, cursor paging, /healthz and
// /metrics parsed by a Prometheus text-format parser.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error the package ships no types
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { CLI, COUNTER_PLUGIN, startDaemon, storedEvents, tempDir, waitFor, writeConfig, type RunningDaemon } from './helpers.js';

const TOKEN = 'test-token-123';
const auth = { Authorization: `Bearer ${TOKEN}` };

interface Family { name: string; type: string; metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string }> }

describe('HTTP API of a running daemon', () => {
  const tmp = tempDir();
  const db = join(tmp.dir, 'b.db');
  let d: RunningDaemon;
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${d.base}/v1/events`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/x-ndjson', ...headers }, body });
  const get = (path: string, headers: Record<string, string> = auth) => fetch(`${d.base}${path}`, { headers });
  const ndjson = (objs: unknown[]) => objs.map((o) => JSON.stringify(o)).join('\n');

  beforeAll(async () => {
    const cfg = writeConfig(tmp.dir, `
tenant_id: test
storage: { path: ${db} }
scoring: { interval: 300ms, min_occurrences: 2 }
connectors:
  - { name: api, type: http }
api: { listen: 127.0.0.1:0, token: ${TOKEN}, max_body_bytes: 65536 }
`);
    d = await startDaemon(cfg, tmp.dir);
  });
  afterAll(async () => {
    await d?.stop();
    tmp.cleanup();
  });

  it('refuses requests without a valid bearer token with 401 and a JSON error', async () => {
    for (const [path, headers] of [['/v1/signatures', {}], ['/healthz', { Authorization: 'Bearer wrong' }], ['/metrics', { Authorization: TOKEN }]] as const) {
      const res = await get(path, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = await res.json() as { error: { code: string; message: string } };
      expect(body.error.code).toBe('UNAUTHORIZED');
      expect(body.error.message).toMatch(/bearer token/);
    }
    const res = await fetch(`${d.base}/v1/events`, { method: 'POST', body: '{"message_raw":"x"}' });
    expect(res.status).toBe(401);
    expect(storedEvents(db).filter((e) => e.message_raw === 'x')).toHaveLength(0);
  });

  it('accepts NDJSON posted by curl, the client operators use, and answers only after commit', () => {
    const body = ndjson([
      { message_raw: 'curl pushed disk /dev/sdc1 full', host: 'curl-host', severity: 'err' },
      { message_raw: 'curl pushed disk /dev/sdd1 full', host: 'curl-host', severity: 'err' },
    ]);
    const r = spawnSync('curl', ['-sS', '-w', '\n%{http_code}', '-X', 'POST', `${d.base}/v1/events`,
      '-H', `Authorization: Bearer ${TOKEN}`, '-H', 'Content-Type: application/x-ndjson', '--data-binary', '@-'],
    { input: body, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const [json, code] = r.stdout.trim().split('\n');
    expect(code).toBe('200');
    expect(JSON.parse(json!)).toMatchObject({ accepted: 2 });
    // 200 came after the commit: the rows are already in the store
    expect(storedEvents(db).filter((e) => e.message_raw.startsWith('curl pushed'))).toHaveLength(2);
  });

  it('gives every response a request id, echoing a sane one the client sent', async () => {
    const a = await get('/healthz');
    expect(a.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const b = await get('/v1/nothing', { ...auth, 'X-Request-Id': 'client-req-42' });
    expect(b.status).toBe(404);
    expect(b.headers.get('x-request-id')).toBe('client-req-42');
    expect(((await b.json()) as { error: { request_id: string; code: string } }).error).toMatchObject({ code: 'NOT_FOUND', request_id: 'client-req-42' });
    const c = await get('/healthz', { ...auth, 'X-Request-Id': 'bad id with spaces' });
    expect(c.headers.get('x-request-id')).not.toBe('bad id with spaces');
    const e = await fetch(`${d.base}/v1/events`, { method: 'DELETE', headers: auth });
    expect(e.status).toBe(405);
    expect(e.headers.get('allow')).toContain('POST');
  });

  it('answers /healthz with 200 and each connector state when all run', async () => {
    const res = await get('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', connectors: [{ name: 'api', type: 'http', state: 'running', last_error: null }] });
  });

  it('stores POSTed NDJSON and JSON arrays only after commit, then serves them in the wire format', async () => {
    const lines = [
      { message_raw: 'Failed password for root from 10.0.0.1 port 22', host: 'web-1', service: 'sshd', severity: 'warning', structured_fields: { k: 1 } },
      { message_raw: 'Failed password for admin from 10.0.0.9 port 4711', host: 'web-2', service: 'sshd', correlation_keys: { user: 'admin' } },
    ];
    const res = await post(ndjson(lines));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 2, connector: 'api' });
    // 2xx means committed: the rows are in the database now
    const stored = storedEvents(db).filter((e) => e.message_raw.startsWith('Failed password'));
    expect(stored).toHaveLength(2);

    const arr = await fetch(`${d.base}/v1/events`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify([{ message_raw: 'Failed password for bob from 10.0.0.7 port 999', host: 'web-3', service: 'sshd' }]) });
    expect(arr.status).toBe(200);

    // signature counts are hot aggregates the writer applies about once a second
    const sig = await waitFor(async () => {
      const sigs = await (await get('/v1/signatures?limit=1000')).json() as { data: Array<Record<string, any>> };
      const s = sigs.data.find((x) => x.normalized_pattern.startsWith('Failed password for'));
      return s?.occurrence_count === 3 ? s : undefined;
    }, 'the signature counted');
    expect(sig).toMatchObject({ event_family: 'auth', service: 'sshd', occurrence_count: 3 });
    const evs = await (await get(`/v1/signatures/${sig.signature_key}/events`)).json() as { data: Array<Record<string, any>>; next_cursor: string | null };
    expect(evs.next_cursor).toBeNull();
    expect(evs.data.map((e) => e.host)).toEqual(['web-3', 'web-2', 'web-1']);
    expect(evs.data[2]).toMatchObject({
      message_raw: lines[0]!.message_raw, host: 'web-1', service: 'sshd', severity: 'warning', source_type: 'http', tenant_id: 'test',
      signature_key: sig.signature_key, connector: 'api', structured_fields: { k: 1 },
    });
    expect(evs.data[1]!.correlation_keys).toEqual({ user: 'admin' });
    expect(Object.keys(evs.data[0]!)).toEqual(expect.arrayContaining(['timestamp', 'message_normalized', 'signature_input', 'ingest_metadata', 'metadata', 'asset_id', 'source_path', 'facility']));

    // the http connector shows in `brainstem stats` like any other
    const stats = spawnSync(process.execPath, [CLI, 'stats', '--json', '-c', join(tmp.dir, 'brainstem.yaml')], { cwd: tmp.dir, encoding: 'utf8' });
    expect(stats.status, stats.stderr).toBe(0);
    const api = (JSON.parse(stats.stdout) as { connectors: Array<Record<string, unknown>> }).connectors.find((c) => c.connector === 'api');
    expect(api).toMatchObject({ type: 'http', state: 'running' });
    expect(api!.stored as number).toBeGreaterThanOrEqual(3);
  });

  it('rejects an invalid body with 400 naming the failing field, storing none of it', async () => {
    const before = storedEvents(db).length;
    const cases: Array<[string, string, string, string]> = [
      [JSON.stringify([{ message_raw: 'ok one' }, { message_raw: 'ok two' }, { host: 'x' }]), 'application/json', 'INVALID_ENVELOPE', '[2].message_raw'],
      [ndjson([{ message_raw: 'ok' }, { message_raw: 'ok', structured_fields: [1, 2] }]), 'application/x-ndjson', 'INVALID_ENVELOPE', 'line 2.structured_fields'],
      ['{"message_raw":"ok"}\n\n{"message_raw": nope}\n', 'application/x-ndjson', 'INVALID_JSON', 'line 3'],
      [JSON.stringify([{ message_raw: 'ok', timestamp: { when: 'now' } }]), 'application/json', 'INVALID_ENVELOPE', '[0].timestamp'],
    ];
    for (const [body, type, code, path] of cases) {
      const res = await post(body, { 'Content-Type': type });
      expect(res.status).toBe(400);
      const err = (await res.json() as { error: { code: string; message: string; path: string } }).error;
      expect(err).toMatchObject({ code, path });
      expect(err.message).toContain(path);
    }
    expect(storedEvents(db).length).toBe(before);
  });

  it('answers 413 above api.max_body_bytes, with or without a Content-Length', async () => {
    const big = ndjson(Array.from({ length: 800 }, (_, i) => ({ message_raw: `padding line number ${i} ${'x'.repeat(80)}` })));
    expect(Buffer.byteLength(big)).toBeGreaterThan(65536);
    const res = await post(big);
    expect(res.status).toBe(413);
    expect((await res.json() as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    // chunked: the limit is enforced while reading
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode(big.slice(i * 8000, (i + 1) * 8000)));
        c.close();
      },
    });
    const chunked = await fetch(`${d.base}/v1/events`, { method: 'POST', headers: auth, body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(storedEvents(db).some((e) => e.message_raw.startsWith('padding line'))).toBe(false);
    // the daemon still serves after refusing
    expect((await get('/healthz')).status).toBe(200);
  });

  it('pages signatures and events with limit/cursor: every item exactly once, in order', async () => {
    // 12 signatures of different lengths (so they never merge), with 1–3 occurrences each
    const objs: unknown[] = [];
    for (let i = 1; i <= 12; i++) for (let k = 0; k < (i % 3) + 1; k++) objs.push({ message_raw: `paging probe ${'word '.repeat(i)}end`, host: `p${k}` });
    expect((await post(ndjson(objs))).status).toBe(200);
    const probes = (sigs: Array<{ normalized_pattern: string; occurrence_count: number }>) => sigs.filter((x) => x.normalized_pattern.startsWith('paging probe'));
    const all = await waitFor(async () => {
      const sigs = (await (await get('/v1/signatures?limit=1000')).json() as { data: Array<{ signature_key: string; occurrence_count: number; normalized_pattern: string }> }).data;
      const mine = probes(sigs);
      return mine.length === 12 && mine.reduce((n, x) => n + x.occurrence_count, 0) === objs.length ? sigs : undefined;
    }, 'the 12 paging signatures counted');
    const seen: Array<{ signature_key: string; occurrence_count: number }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/v1/signatures?limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = await res.json() as { data: typeof seen; next_cursor: string | null };
      expect(page.data.length).toBeLessThanOrEqual(5);
      seen.push(...page.data);
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(Math.ceil(all.length / 5));
    expect(seen.map((s) => s.signature_key)).toEqual(all.map((s) => s.signature_key));
    expect(new Set(seen.map((s) => s.signature_key)).size).toBe(seen.length);
    const counts = seen.map((s) => s.occurrence_count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));

    const probe = all.find((s) => s.occurrence_count === 3)!;
    const ids: number[] = [];
    cursor = null;
    do {
      const page = await (await get(`/v1/signatures/${probe.signature_key}/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json() as { data: Array<{ id: number }>; next_cursor: string | null };
      ids.push(...page.data.map((e) => e.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(ids).toHaveLength(3);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    for (const bad of ['/v1/signatures?limit=0', '/v1/signatures?limit=abc', '/v1/events?limit=1001', '/v1/signatures?cursor=garbage']) {
      const res = await get(bad);
      expect(res.status, bad).toBe(400);
      expect((await res.json() as { error: { code: string } }).error.code).toBe('INVALID_PARAMETER');
    }
    expect((await get('/v1/signatures/nope/events')).status).toBe(404);
  });

  it('serves candidates (computed by the daemon) and incidents in the wire format', async () => {
    const cands = await waitFor(async () => {
      const page = await (await get('/v1/candidates?limit=100')).json() as { data: Array<Record<string, any>> };
      return page.data.length > 0 ? page.data : undefined;
    }, 'candidates');
    expect(cands[0]).toMatchObject({ candidate_type: expect.any(String), title: expect.any(String), decision_band: expect.any(String), attention_band: expect.any(String) });
    expect(Object.keys(cands[0]!.score_breakdown).sort()).toEqual(['impact', 'memory_weight', 'novelty', 'precursor', 'recovery', 'recurrence', 'spread']);
    const scores = cands.map((c) => c.score_total as number);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const one = await (await get('/v1/candidates?limit=1')).json() as { data: unknown[]; next_cursor: string | null };
    expect(one.data).toHaveLength(1);
    if (cands.length > 1) expect(one.next_cursor).not.toBeNull();
    const band = cands[0]!.decision_band as string;
    const filtered = await (await get(`/v1/candidates?band=${band}&limit=1000`)).json() as { data: Array<{ decision_band: string }> };
    expect(filtered.data.length).toBeGreaterThan(0);
    expect(filtered.data.every((c) => c.decision_band === band)).toBe(true);

    const inc = await get('/v1/incidents');
    expect(inc.status).toBe(200);
    expect(await inc.json()).toMatchObject({ data: expect.any(Array), next_cursor: null });
  });

  it('exposes Prometheus metrics that a text-format parser reads', async () => {
    // deliveries come from the outbox: add rows as the digest sender would leave them
    const w = new Database(db);
    const ins = w.prepare(`INSERT INTO outbox (id, digest, receiver, payload, status, attempts, next_attempt_at, created_at) VALUES (?, 'daily', ?, '{}', ?, ?, 0, 0)`);
    ins.run('m1', 'slack-ops', 'sent', 1);
    ins.run('m2', 'slack-ops', 'sent', 3);
    ins.run('m3', 'slack-ops', 'dead', 5);
    ins.run('m4', 'hook', 'pending', 2);
    w.close();

    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(await res.text()) as Family[];
    const fam = (name: string) => {
      const f = families.find((x) => x.name === name);
      expect(f, name).toBeDefined();
      return f!;
    };
    const value = (name: string, labels: Record<string, string> = {}) =>
      Number(fam(name).metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value);

    const stored = storedEvents(db).filter((e) => e.connector === 'api').length;
    expect(fam('brainstem_events_stored_total').type).toBe('COUNTER');
    expect(value('brainstem_events_stored_total', { connector: 'api', type: 'http' })).toBe(stored);
    expect(value('brainstem_events_received_total', { connector: 'api' })).toBe(stored);
    expect(value('brainstem_parse_errors_total', { connector: 'api' })).toBe(0);
    expect(value('brainstem_events_dropped_total', { connector: 'api' })).toBe(0);
    expect(value('brainstem_connector_up', { connector: 'api', state: 'running' })).toBe(1);
    expect(value('brainstem_pipeline_queue_depth')).toBeGreaterThanOrEqual(0);
    const hist = fam('brainstem_batch_commit_seconds');
    expect(hist.type).toBe('HISTOGRAM');
    expect(Number(hist.metrics[0]!.count)).toBeGreaterThan(0);
    expect(value('brainstem_batch_events_total')).toBe(stored);
    expect(value('brainstem_store_size_bytes')).toBeGreaterThan(0);
    const sigCount = (await (await get('/v1/signatures?limit=1000')).json() as { data: unknown[] }).data.length;
    expect(value('brainstem_signatures')).toBe(sigCount);
    expect(value('brainstem_deliveries_sent_total', { receiver: 'slack-ops' })).toBe(2);
    expect(value('brainstem_deliveries_retried_total', { receiver: 'slack-ops' })).toBe(6);
    expect(value('brainstem_deliveries_dead_total', { receiver: 'slack-ops' })).toBe(1);
    expect(value('brainstem_deliveries_pending', { receiver: 'hook' })).toBe(1);
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(value('brainstem_http_requests_total', { route: 'POST /v1/events', code: '200' })).toBeGreaterThan(0);
  });
});

describe('HTTP API under pressure and with a failing connector', () => {
  const tmp = tempDir();
  let d: RunningDaemon;

  beforeAll(async () => {
    const cfg = writeConfig(tmp.dir, `
storage: { path: ${join(tmp.dir, 'b.db')} }
pipeline: { queue_capacity: 200, batch_size: 100 }
connectors:
  - { name: api, type: http }
  # more outstanding than the pipeline holds (16 batches in flight to the writer + the queue):
  # the queue stays full
  - { name: flood, type: counter, plugin: ${COUNTER_PLUGIN}, batch: 100, interval_ms: 0, outstanding: 40 }
  - { name: broken, type: counter, plugin: ${COUNTER_PLUGIN}, fail: "cannot open /nonexistent" }
api: { listen: 127.0.0.1:0 }
`);
    d = await startDaemon(cfg, tmp.dir);
  });
  afterAll(async () => {
    await d?.stop();
    tmp.cleanup();
  });

  it('answers /healthz with 503 and the reason when a connector is not running', async () => {
    const res = await fetch(`${d.base}/healthz`);
    expect(res.status).toBe(503);
    const body = await res.json() as { status: string; reasons: string[]; connectors: Array<{ name: string; state: string; last_error: string | null }>; error: { code: string } };
    expect(body.status).toBe('unhealthy');
    expect(body.error.code).toBe('UNHEALTHY');
    expect(body.reasons.join('\n')).toMatch(/connector broken is backoff: cannot open \/nonexistent/);
    expect(body.connectors.find((c) => c.name === 'flood')!.state).toBe('running');
    expect(body.connectors.find((c) => c.name === 'broken')).toMatchObject({ state: 'backoff', last_error: 'cannot open /nonexistent' });
  });

  it('answers 429 with Retry-After while the queue is full, and stores nothing of a refused request', async () => {
    const body = Array.from({ length: 150 }, (_, i) => JSON.stringify({ message_raw: `pressure probe ${i}` })).join('\n');
    let refused: Response | undefined;
    let accepted = 0;
    for (let i = 0; i < 200 && !refused; i++) {
      const res = await fetch(`${d.base}/v1/events`, { method: 'POST', body });
      if (res.status === 429) refused = res;
      else {
        expect(res.status).toBe(200);
        accepted++;
      }
    }
    expect(refused, 'a 429 while a flooding connector fills the queue').toBeDefined();
    expect(refused!.headers.get('retry-after')).toBe('1');
    expect((await refused!.json() as { error: { code: string } }).error.code).toBe('QUEUE_FULL');
    const probes = storedEvents(join(tmp.dir, 'b.db')).filter((e) => e.message_raw.startsWith('pressure probe '));
    expect(probes).toHaveLength(150 * accepted);
  });
});

describe('exposing the API', () => {
  it('refuses to start on a non-loopback address without a token, naming the key', () => {
    const tmp = tempDir();
    try {
      const cfg = writeConfig(tmp.dir, `storage: { path: ${join(tmp.dir, 'b.db')} }\napi: { listen: "0.0.0.0:0" }\n`);
      const res = spawnSync(process.execPath, [CLI, 'run', '-c', cfg], { cwd: tmp.dir, encoding: 'utf8', timeout: 30_000 });
      expect(res.status).toBe(1);
      expect(res.stderr).toMatch(/brainstem\.yaml:2 api\.token: required when api\.listen is not a loopback address/);
    } finally {
      tmp.cleanup();
    }
  });
});
