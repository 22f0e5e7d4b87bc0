// Which http connector a POST /v1/events goes to, and what a client hears when it cannot go
// anywhere yet: 503 + Retry-After while a configured connector is (re)starting (a reload), 404
// only when none is configured or the named one does not exist. A real server on 127.0.0.1.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { ApiServer } from '../../src/http/server.js';
import { IngestRegistry } from '../../src/http/ingest.js';
import type { DaemonMetrics } from '../../src/http/metrics.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const servers: ApiServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function serve(configured: string[] | undefined, ingest = new IngestRegistry()) {
  const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'brainstem-route-')), 'b.db'));
  // the routes under test do not read metrics; the server only counts requests
  const metrics = { httpRequests: { inc: () => undefined } } as unknown as DaemonMetrics;
  const server = new ApiServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20 }, {
    store, ingest, metrics, health: () => ({ ok: true, status: 'ok', reasons: [], connectors: [] }) as never,
    queueFull: () => false, configuredIngest: configured && (() => configured),
  }, silentLogger());
  await server.start();
  servers.push(server);
  const post = async (query = '') => {
    const res = await fetch(`http://127.0.0.1:${server.address!.port}/v1/events${query}`, { method: 'POST', body: '{"message_raw":"x"}' });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), code: ((await res.json()) as { error?: { code: string } }).error?.code };
  };
  return { ingest, post };
}

describe('POST /v1/events routing', () => {
  it('answers 503 with Retry-After while the configured http connector is not running (a reload restarts it)', async () => {
    const { ingest, post } = await serve(['api']);
    expect(await post()).toEqual({ status: 503, retryAfter: '1', code: 'CONNECTOR_UNAVAILABLE' });
    const got: string[] = [];
    const unregister = ingest.register({ connector: 'api', emit: async (envs) => { got.push(...envs.map((e) => e.messageRaw)); } });
    expect((await post()).status).toBe(200);
    expect(got).toEqual(['x']);
    unregister();
    expect((await post()).status).toBe(503);
  });

  it('answers 404 when no http connector is configured, or the named one does not exist', async () => {
    expect(await (await serve([])).post()).toMatchObject({ status: 404, code: 'INGEST_DISABLED' });
    expect(await (await serve(['api'])).post('?connector=apii')).toMatchObject({ status: 404, code: 'UNKNOWN_CONNECTOR' });
  });

  it('asks for ?connector= when several are configured, even if only one is running', async () => {
    const { ingest, post } = await serve(['api', 'bulk']);
    ingest.register({ connector: 'api', emit: async () => undefined });
    expect(await post()).toMatchObject({ status: 400, code: 'CONNECTOR_REQUIRED' });
    expect((await post('?connector=api')).status).toBe(200);
    expect(await post('?connector=bulk')).toMatchObject({ status: 503, code: 'CONNECTOR_UNAVAILABLE' });
  });
});
