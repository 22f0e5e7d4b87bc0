// End to end with the built CLI (`node dist/src/cli/main.js`): the daemon schedules a digest
// every 2 s, Slack is down, the daemon is killed with the delivery pending, Slack comes back, the
// restarted daemon delivers it exactly once; `brainstem digest` records, delivers and reports a
// permanent error as dead in `stats`.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listOutbox } from '../../src/store/outbox.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { FakeSlack } from '../fakes/slack/server.js';

const run = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(REPO, 'dist/src/cli/main.js');
const HOOK = 'T1/B1/e2eSECRET';

let dir: string;
let slack: FakeSlack;
const children: ChildProcess[] = [];

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: build first (npx tsc -p tsconfig.json)`);
});

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'brainstem-digest-e2e-'));
  slack = await FakeSlack.start();
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await slack.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(hookState: 'active' | 'disabled' = 'active'): string {
  const url = slack.addHook(HOOK, hookState);
  const cfg = path.join(dir, 'brainstem.yaml');
  writeFileSync(cfg, [
    'tenant_id: test',
    `storage: { path: ${JSON.stringify(path.join(dir, 'b.db'))} }`,
    'api: { enabled: false }',
    'log: { level: debug }',
    'receivers:',
    `  - { name: ops, type: slack, url: ${JSON.stringify(url)}, delivery: { timeout: 2s, max_attempts: 100, backoff: 200ms, max_backoff: 600ms } }`,
    '  - { name: console, type: stdout }',
    'digests:',
    '  - { name: often, schedule: "*/2 * * * * *", receivers: [ops, console], min_attention: ignore_fast, lookback: 24h }',
    '',
  ].join('\n'));
  return cfg;
}

async function ingestSample(cfg: string): Promise<void> {
  const now = Date.now();
  const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({
    message_raw: `sshd[${100 + i}]: Failed password for root from 10.0.0.${i % 5} port ${4000 + i} ssh2`,
    timestamp: new Date(now - i * 60_000).toISOString(), host: `web-${i % 3}`, service: 'sshd', severity: 'err',
  }));
  const file = path.join(dir, 'events.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  await run(process.execPath, [CLI, 'ingest', '--source-type', 'json', '-c', cfg, file]);
}

function startDaemon(cfg: string): { child: ChildProcess; out: { stdout: string; stderr: string } } {
  const out = { stdout: '', stderr: '' };
  const child = spawn(process.execPath, [CLI, 'run', '-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => { out.stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out.stderr += d.toString(); });
  children.push(child);
  return { child, out };
}

function outbox(): ReturnType<typeof listOutbox> {
  const db = path.join(dir, 'b.db');
  if (!existsSync(db)) return [];
  const store = new SqliteStore(db, { readonly: true });
  try {
    return listOutbox(store);
  } catch {
    return []; // the table appears with the daemon's first migration
  } finally {
    store.close();
  }
}

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const count = (s: string, needle: string) => s.split(needle).length - 1;

describe('digest delivery across a daemon crash', () => {
  it('delivers a digest left pending by a SIGKILLed daemon exactly once after restart', async () => {
    const cfg = writeConfig();
    await ingestSample(cfg);
    slack.script.push(HOOK, ...Array.from({ length: 10_000 }, () => ({ status: 503, body: '<html>down</html>' })));

    const first = startDaemon(cfg);
    await until(() => outbox().some((r) => r.receiver === 'ops' && r.attempts >= 2), 'two failed attempts');
    await until(() => first.out.stdout.includes('brainstem digest "often"'), 'the stdout receiver');
    const exited = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await exited;

    const pending = outbox().filter((r) => r.receiver === 'ops');
    expect(pending).toHaveLength(1); // later runs found nothing new: no repetition
    expect(pending[0]!.status).toBe('pending');
    expect(slack.messagesFor(HOOK)).toHaveLength(0);
    expect(first.out.stderr).not.toContain('e2eSECRET');

    slack.script.clear(); // Slack is back
    const second = startDaemon(cfg);
    await until(() => slack.messagesFor(HOOK).length >= 1, 'delivery after restart');
    // let the schedule fire twice more: each run is empty (nothing new), so nothing more is sent
    const emptyRuns = count(second.out.stderr, 'digest empty; not sent');
    await until(() => count(second.out.stderr, 'digest empty; not sent') >= emptyRuns + 2, 'two more scheduled runs');

    const msgs = slack.messagesFor(HOOK);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.headers['x-brainstem-delivery-id']).toBe(pending[0]!.id);
    expect(msgs[0]!.json.text).toContain('brainstem digest');
    const rows = outbox().filter((r) => r.receiver === 'ops');
    expect(rows).toEqual([expect.objectContaining({ id: pending[0]!.id, status: 'sent' })]);
    expect(rows[0]!.attempts).toBeGreaterThan(pending[0]!.attempts);
    expect(second.out.stderr).not.toContain('e2eSECRET');

    const exited2 = new Promise((r) => second.child.once('exit', r));
    second.child.kill('SIGTERM');
    await exited2;
    expect(second.child.exitCode).toBe(0);
  });
});

describe('brainstem digest', () => {
  it('records and delivers now; a permanent Slack error is dead with its reason in stats', async () => {
    const cfg = writeConfig('disabled');
    await ingestSample(cfg);
    const res = await run(process.execPath, [CLI, 'digest', '-c', cfg]).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('brainstem digest "often"'); // the stdout receiver
    expect(res.stderr).toContain('ops: dead — HTTP 404 no_service');
    expect(res.stderr).toContain('delivered to console');
    const stats = JSON.parse((await run(process.execPath, [CLI, 'stats', '--json', '-c', cfg])).stdout);
    expect(stats.deliveries).toEqual(expect.arrayContaining([
      expect.objectContaining({ receiver: 'ops', dead: 1, pending: 0, last_error: expect.stringContaining('no_service') }),
      expect.objectContaining({ receiver: 'console', sent: 1 }),
    ]));
  });

  it('--dry-run prints without sending or recording', async () => {
    const cfg = writeConfig();
    await ingestSample(cfg);
    const { stdout } = await run(process.execPath, [CLI, 'digest', '--dry-run', '--json', '-c', cfg]);
    const d = JSON.parse(stdout);
    expect(d.items.length).toBeGreaterThan(0);
    expect(d.items[0].sparkline).toHaveLength(24);
    expect(slack.requests).toHaveLength(0);
    expect(outbox()).toHaveLength(0);
    // so the next real run still reports the items
    await run(process.execPath, [CLI, 'digest', '-c', cfg]);
    expect(slack.messagesFor(HOOK)).toHaveLength(1);
  });
});
