// Benchmark: one poll of 50,000 LogicMonitor alerts (100 pages of 500) from the local fake.
// Prints wall time, events/s and peak RSS twice: the connector alone (emit only counts) and
// end to end through the daemon (`brainstem run`, pipeline + SQLite) until `stats` shows them all.
import { spawn, spawnSync } from 'node:child_process';
import { samplePeakRss } from './measure.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../src/log/logger.js';
import type { ConnectorContext } from '../src/plugin/contract.js';
import { logicMonitorSchema } from '../plugins/logicmonitor/config.js';
import { LogicMonitorConnector } from '../plugins/logicmonitor/connector.js';
import { generateAlerts, startFakeLogicMonitor } from '../test/fakes/logicmonitor/server.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const ALERTS = Number(process.env.BENCH_LM_ALERTS ?? 50_000);
const PAGE = 500;
const ID = 'BENCHACCESSID';
const KEY = 'bench-access-key';

async function fakeWithAlerts() {
  const fake = await startFakeLogicMonitor({ accessKeys: { [ID]: KEY } });
  // 10 alerts a second over the last ~1.4 h, inside the default 24 h lookback.
  fake.upsert(...generateAlerts({ count: ALERTS, startSec: Math.floor(Date.now() / 1000) - ALERTS / 10 - 60, spacingSec: 0.1, hosts: 200 }));
  return fake;
}

async function connectorOnly(): Promise<void> {
  const fake = await fakeWithAlerts();
  let events = 0;
  const abort = new AbortController();
  const ctx: ConnectorContext = {
    name: 'bench', tenantId: 'bench', logger: silentLogger(), checkpoint: undefined, signal: abort.signal, dataDir: tmpdir(),
    metrics: { dropped: () => undefined, gauge: () => undefined },
    emit: async (envelopes, checkpoint) => {
      events += envelopes.length;
      JSON.stringify(checkpoint); // the store serializes every checkpoint; count that cost too
    },
    reportError: (m) => console.error(`  error: ${m}`),
    clearError: () => undefined,
  };
  const config = logicMonitorSchema.parse({ base_url: fake.baseUrl, auth: { type: 'lmv1', access_id: ID, access_key: KEY }, page_size: PAGE, include_cleared: false });
  const connector = new LogicMonitorConnector(config, ctx, { pollOnStart: false });
  const t0 = performance.now();
  await connector.poll();
  const secs = (performance.now() - t0) / 1000;
  const pages = fake.listRequests().length;
  await connector.stop();
  await fake.close();
  console.log(`  connector only     ${secs.toFixed(2)} s  ${Math.round(events / secs).toLocaleString('en')} events/s  ${pages} requests  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (bench process, fake included)`);
}

function storedEvents(cfg: string): number {
  const r = spawnSync(process.execPath, [CLI, 'stats', '--json', '-c', cfg], { encoding: 'utf8' });
  if (r.status !== 0) return 0;
  try {
    return (JSON.parse(r.stdout) as { totals: { events: number } }).totals.events;
  } catch {
    return 0;
  }
}

async function throughDaemon(): Promise<void> {
  const fake = await fakeWithAlerts();
  const dir = mkdtempSync(join(tmpdir(), 'brainstem-lm-bench-'));
  const cfg = join(dir, 'bench.yaml');
  writeFileSync(cfg, [
    'tenant_id: bench',
    `storage: { path: ${JSON.stringify(join(dir, 'bench.db'))} }`,
    'api: { enabled: false }',
    'connectors:',
    `  - { name: lm, type: logicmonitor, base_url: ${JSON.stringify(fake.baseUrl)}, page_size: ${PAGE}, include_cleared: false,`,
    `      auth: { type: lmv1, access_id: ${ID}, access_key: ${KEY} } }`,
    '',
  ].join('\n'));
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'run', '-c', cfg], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const rss = samplePeakRss(child.pid!);
  try {
    let stored = 0;
    const deadline = Date.now() + 300_000;
    while ((stored = storedEvents(cfg)) < ALERTS) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`daemon stopped or timed out at ${stored} events: ${stderr.slice(-600)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const secs = (performance.now() - t0) / 1000;
    const reqs = fake.listRequests();
    const gaps = reqs.slice(1).map((r, i) => r.atMs - reqs[i]!.atMs).sort((a, b) => a - b);
    console.log(`  (first→last request ${((reqs.at(-1)!.atMs - reqs[0]!.atMs) / 1000).toFixed(2)} s; median gap between pages ${gaps[gaps.length >> 1]} ms)`);
    console.log(`  through the daemon ${secs.toFixed(2)} s  ${Math.round(ALERTS / secs).toLocaleString('en')} events/s  ${fake.listRequests().length} requests  peak RSS ${rss.peakMb().toFixed(0)} MB (daemon; includes start-up and ≤200 ms stats polling)`);
  } finally {
    rss.stop();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  console.log(`logicmonitor benchmark: one poll of ${ALERTS.toLocaleString('en')} alerts, ${Math.ceil(ALERTS / PAGE)} pages of ${PAGE}, LMv1-signed, fake on 127.0.0.1`);
  await connectorOnly();
  try {
    await throughDaemon();
  } catch (e) {
    console.log(`  through the daemon FAILED: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
