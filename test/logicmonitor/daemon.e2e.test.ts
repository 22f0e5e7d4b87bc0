// End to end through the built daemon (`node dist/src/cli/main.js run`) against the fake
// portal: alerts land in the store exactly once even when the daemon is killed mid-poll, and
// a 401 shows up as a degraded connector with the portal's reason in `stats`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateAlerts, startFakeLogicMonitor, type FakeLogicMonitor } from '../fakes/logicmonitor/server.js';
import { ACCESS_ID, ACCESS_KEY, waitFor } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');

beforeAll(() => {
  // `npm test` builds first; a bare `vitest run` may not have. tsc emits despite type errors elsewhere.
  if (!existsSync(join(ROOT, 'dist/plugins/logicmonitor/index.js')) || !existsSync(CLI)) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  }
}, 120_000);

let fake: FakeLogicMonitor | undefined;
let daemon: ChildProcess | undefined;
let dir: string | undefined;

afterEach(async () => {
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon!.once('exit', r));
  }
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  fake = daemon = dir = undefined;
});

function writeConfig(baseUrl: string, keyFile: string): string {
  const cfg = join(dir!, 'brainstem.yaml');
  writeFileSync(cfg, [
    'tenant_id: test',
    `storage: { path: ${join(dir!, 'b.db')} }`,
    'api: { enabled: false }', // several daemons may run at once on this machine
    'connectors:',
    '  - name: lm',
    '    type: logicmonitor',
    `    base_url: ${baseUrl}`,
    `    auth: { type: lmv1, access_id: ${ACCESS_ID}, access_key_file: ${keyFile} }`,
    "    schedule: '* * * * * *'",
    '    page_size: 100',
    '    retry_initial_delay: 50ms',
    '',
  ].join('\n'));
  return cfg;
}

function startDaemon(cfg: string): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'run', '-c', cfg], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.setEncoding('utf8');
  let err = '';
  child.stderr!.on('data', (d: string) => { err = (err + d).slice(-20_000); });
  (child as ChildProcess & { stderrText: () => string }).stderrText = () => err;
  return child;
}

function cli<T>(cfg: string, ...args: string[]): T {
  const r = spawnSync(process.execPath, [CLI, ...args, '-c', cfg, '--json'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`brainstem ${args.join(' ')} failed (${r.status ?? r.error?.message}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface Stats {
  totals: { events: number };
  connectors: Array<{ connector: string; type: string; stored: number; state: string; last_error: string | null; gauges: Record<string, number> }>;
}
interface StoredEvent {
  source_type: string;
  host: string;
  service: string;
  severity: string;
  correlation_keys: Record<string, string>;
  metadata: Record<string, unknown>;
}

function storedCount(cfg: string): number {
  try {
    return cli<Stats>(cfg, 'stats').totals.events;
  } catch {
    return 0; // the store is not created yet
  }
}

describe('logicmonitor through the daemon', () => {
  it('stores every alert and clear exactly once across a kill -9 in the middle of a paged poll', async () => {
    dir = mkdtempSync(join(tmpdir(), 'brainstem-lm-e2e-'));
    const keyFile = join(dir, 'lm.key');
    writeFileSync(keyFile, `${ACCESS_KEY}\n`);
    fake = await startFakeLogicMonitor({ accessKeys: { [ACCESS_ID]: ACCESS_KEY } });
    const alerts = generateAlerts({ count: 800, startSec: Math.floor(Date.now() / 1000) - 20_000, spacingSec: 10, clearedRatio: 0.2 });
    fake.upsert(...alerts);
    const cleared = alerts.filter((a) => a.cleared).length;
    const cfg = writeConfig(fake.baseUrl, keyFile);

    fake.injectAt(4, { kind: 'hang' }); // page 4 never answers: the kill lands mid-poll, for sure
    daemon = startDaemon(cfg);
    await waitFor(() => storedCount(cfg) >= 300, 'the first three pages to be stored', 30_000, 150);
    await waitFor(() => fake!.listRequests().length >= 4, 'the hanging fourth page', 10_000);
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon!.once('exit', r));
    expect(storedCount(cfg)).toBe(300); // pages 1–3, each committed with its cursor

    daemon = startDaemon(cfg);
    await waitFor(() => storedCount(cfg) >= 800 + cleared, 'all alerts stored after restart', 60_000, 250);
    // A few more scheduled polls must not add anything.
    const requests = fake.listRequests().length;
    await waitFor(() => fake!.listRequests().length >= requests + 4, 'two more polls', 20_000, 100);
    expect(storedCount(cfg)).toBe(800 + cleared);

    const events = cli<StoredEvent[]>(cfg, 'events', '--limit', '0');
    const raised = events.filter((e) => e.metadata.alert_state === 'raised');
    const clears = events.filter((e) => e.metadata.alert_state === 'cleared');
    expect(new Set(raised.map((e) => e.correlation_keys.alert_id)).size).toBe(800);
    expect(new Set(clears.map((e) => e.correlation_keys.alert_id)).size).toBe(cleared);
    const sample = raised.find((e) => e.correlation_keys.alert_id === alerts[0]!.id)!;
    expect(sample).toMatchObject({ source_type: 'logicmonitor', host: alerts[0]!.monitorObjectName, service: alerts[0]!.resourceTemplateName });

    const stats = cli<Stats>(cfg, 'stats');
    const lm = stats.connectors.find((c) => c.connector === 'lm')!;
    expect(lm).toMatchObject({ type: 'logicmonitor', state: 'running', last_error: null });
  }, 120_000);

  it('shows a 401 as a degraded connector with the reason in stats, without logging the key', async () => {
    dir = mkdtempSync(join(tmpdir(), 'brainstem-lm-e2e-'));
    const keyFile = join(dir, 'lm.key');
    writeFileSync(keyFile, 'not-the-right-key\n');
    fake = await startFakeLogicMonitor({ accessKeys: { [ACCESS_ID]: ACCESS_KEY } });
    const cfg = writeConfig(fake.baseUrl, keyFile);
    daemon = startDaemon(cfg);
    const stateOf = () => {
      try {
        return cli<Stats>(cfg, 'stats').connectors.find((c) => c.connector === 'lm');
      } catch {
        return undefined;
      }
    };
    await waitFor(() => stateOf()?.state === 'degraded', 'the degraded state', 30_000, 150);
    expect(stateOf()!.last_error).toContain('Authentication failed');
    await waitFor(() => fake!.listRequests().length >= 2, 'a second scheduled attempt', 20_000);
    expect(fake.listRequests().every((r) => r.status === 401)).toBe(true);
    expect((daemon as ChildProcess & { stderrText: () => string }).stderrText()).not.toContain('not-the-right-key');
  }, 60_000);
});
