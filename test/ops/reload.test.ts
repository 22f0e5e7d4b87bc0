// SIGHUP reload of a running daemon while lines flow from counter connectors (a third-party
// test plugin with checkpoints) and from POST /v1/events: a changed connector restarts where it
// left off, a removed one stops, a new one starts, an untouched one keeps running, nothing is
// lost or repeated, and an invalid config is rejected while the old one stays in force.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointOf, countEvents, COUNTER_PLUGIN, counterSeqs, startDaemon, storedEvents, tempDir, waitFor, writeConfig, type RunningDaemon } from '../http/helpers.js';
import { startPusher } from './pusher.js';

const counter = (name: string, extra = '') =>
  `  - { name: ${name}, type: counter, plugin: ${COUNTER_PLUGIN}, batch: 10, interval_ms: 2${extra} }`;

describe('SIGHUP reload', () => {
  const tmp = tempDir('brainstem-reload-');
  const db = join(tmp.dir, 'b.db');
  const config = (connectors: string[], http = ', source_type: pushed') => `
storage: { path: ${db} }
connectors:
  - { name: api, type: http${http} }
${connectors.join('\n')}
api: { listen: 127.0.0.1:0 }
`;
  let d: RunningDaemon | undefined;
  afterAll(async () => {
    await d?.stop('SIGKILL');
    tmp.cleanup();
  });

  it('restarts changed, stops removed, starts new and keeps untouched connectors, losing and repeating nothing', async () => {
    const cfg = writeConfig(tmp.dir, config([counter('alpha', ', label: v1'), counter('beta'), counter('steady')], ''));
    d = await startDaemon(cfg, tmp.dir);
    const pusher = startPusher(d.base, 'push', 3);
    const count = (c: string) => countEvents(db, c);
    await waitFor(() => count('alpha') > 50 && count('beta') > 50 && count('steady') > 50 && pusher.acked.size > 100, 'lines flowing');

    writeConfig(tmp.dir, config([counter('alpha', ', label: v2'), counter('steady'), counter('gamma')]));
    const mark = d.logs.length;
    d.proc.kill('SIGHUP');
    const summary = await d.waitForLog('config reloaded', mark);
    // the http connector restarts too (its source_type changed) while clients keep POSTing
    expect(summary).toMatchObject({ restarted: ['api', 'alpha'], stopped: ['beta'], started: ['gamma'], unchanged: ['steady'], needsRestart: [] });

    const ackedAtReload = pusher.acked.size;
    const v2 = () => storedEvents(db).filter((e) => e.connector === 'alpha' && e.fields.structured_fields?.label === 'v2').length;
    await waitFor(() => v2() > 50 && count('gamma') > 50 && pusher.acked.size > ackedAtReload + 100, 'lines flowing after the reload');
    const health = await (await fetch(`${d.base}/healthz`)).json() as { status: string; connectors: Array<{ name: string; state: string }> };
    expect(health.status).toBe('ok');
    expect(health.connectors.map((c) => c.name).sort()).toEqual(['alpha', 'api', 'gamma', 'steady']);

    // an invalid file is rejected; the running config stays in force
    writeConfig(tmp.dir, config([counter('alpha', ', label: v3, batch_size_typo: 1'), '  - { name: delta, type: nosuchtype }']));
    const mark2 = d.logs.length;
    d.proc.kill('SIGHUP');
    const rejected = await d.waitForLog(/config reload rejected/, mark2);
    expect(String(rejected.reason)).toMatch(/batch_size_typo/);
    expect(String(rejected.reason)).toMatch(/nosuchtype/);
    const steadyBefore = count('steady');
    await waitFor(() => count('steady') > steadyBefore + 50, 'steady still flowing after a rejected reload');
    const after = await (await fetch(`${d.base}/healthz`)).json() as { status: string; connectors: Array<{ name: string }> };
    expect(after.status).toBe('ok');
    expect(after.connectors.map((c) => c.name).sort()).toEqual(['alpha', 'api', 'gamma', 'steady']);
    expect(storedEvents(db).some((e) => e.fields.structured_fields?.label === 'v3')).toBe(false);

    await pusher.stop();

    // a changed api block rebinds the server (here: a token is now required)
    writeConfig(tmp.dir, config([counter('alpha', ', label: v2'), counter('steady'), counter('gamma')]).replace('api: { listen: 127.0.0.1:0 }', 'api: { listen: 127.0.0.1:0, token: s3cret }'));
    const mark3 = d.logs.length;
    d.proc.kill('SIGHUP');
    const rebound = await d.waitForLog('HTTP API listening', mark3);
    expect((await d.waitForLog('config reloaded', mark3)).unchanged).toEqual(['api', 'alpha', 'steady', 'gamma']);
    const base = `http://127.0.0.1:${rebound.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(401);
    expect((await fetch(`${base}/healthz`, { headers: { Authorization: 'Bearer s3cret' } })).status).toBe(200);

    expect(await d.stop()).toBe(0);
    d = undefined;

    const events = storedEvents(db);
    for (const c of ['alpha', 'beta', 'gamma', 'steady']) {
      const { seqs, contiguous } = counterSeqs(events, c);
      expect(contiguous, `${c}: every number exactly once`).toBe(true);
      expect(seqs.length, `${c}: stored up to its checkpoint`).toBe(checkpointOf(db, c).next);
    }
    const runs = (c: string) => new Set(events.filter((e) => e.connector === c).map((e) => e.fields.structured_fields.run));
    expect(runs('steady').size, 'steady was never restarted').toBe(1);
    expect(runs('alpha').size, 'alpha was restarted once').toBe(2);
    const alpha = events.filter((e) => e.connector === 'alpha');
    const firstV2 = alpha.findIndex((e) => e.fields.structured_fields.label === 'v2');
    expect(alpha.slice(firstV2).every((e) => e.fields.structured_fields.label === 'v2')).toBe(true);
    // beta stopped at the reload: nothing of it after alpha's first v2 line
    const lastBeta = Math.max(...events.filter((e) => e.connector === 'beta').map((e) => e.id));
    expect(lastBeta).toBeLessThan(alpha[firstV2]!.id);

    pusher.verify(events);
  });
});
