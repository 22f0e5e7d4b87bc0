// Shared by the HTTP and operations tests: run the built CLI's daemon as a child process on an
// ephemeral port (api.listen 127.0.0.1:0; the port is read from its "HTTP API listening" log
// line), make requests, wait for conditions, and read the store afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO, 'dist/src/cli/main.js');
export const COUNTER_PLUGIN = fileURLToPath(new URL('../ops/fixtures/counter-plugin.js', import.meta.url));

/** Fail early and clearly when the build is missing or older than the sources under test. */
export function assertBuilt(): void {
  const pairs = [['src/http/server.ts', 'dist/src/http/server.js'], ['src/daemon/daemon.ts', 'dist/src/daemon/daemon.js'], ['src/cli/commands/run.ts', 'dist/src/cli/commands/run.js']];
  for (const [src, out] of pairs) {
    if (!existsSync(join(REPO, out!)) || statSync(join(REPO, out!)).mtimeMs < statSync(join(REPO, src!)).mtimeMs) {
      throw new Error(`${out} is missing or older than ${src}: run "npm run build" first (npm test does)`);
    }
  }
}

export function tempDir(prefix = 'brainstem-http-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunningDaemon {
  proc: ChildProcess;
  base: string;
  logs: string[];
  exited: Promise<number | null>;
  /** Send a signal and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the first log line (parsed) whose msg matches. */
  waitForLog(msg: string | RegExp, from?: number): Promise<Record<string, unknown>>;
}

export async function startDaemon(configPath: string, cwd: string): Promise<RunningDaemon> {
  assertBuilt();
  const proc = spawn(process.execPath, [CLI, 'run', '-c', configPath], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const waiters: Array<() => void> = [];
  let rest = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    logs.push(...lines);
    for (const w of waiters.splice(0)) w();
  });
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => { for (const w of waiters.splice(0)) w(); resolve(code); }));
  let exitCode: number | null | undefined;
  void exited.then((c) => { exitCode = c; });
  const waitForLog = async (msg: string | RegExp, from = 0) => {
    for (;;) {
      for (let i = from; i < logs.length; i++) {
        try {
          const rec = JSON.parse(logs[i]!) as Record<string, unknown>;
          const m = String(rec.msg ?? '');
          if (typeof msg === 'string' ? m === msg : msg.test(m)) return rec;
        } catch { /* not JSON */ }
      }
      if (exitCode !== undefined) throw new Error(`daemon exited (${exitCode}) before logging "${msg}":\n${logs.join('\n')}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const listening = await waitForLog('HTTP API listening');
  return {
    proc, logs, exited, waitForLog,
    base: `http://127.0.0.1:${listening.port}`,
    async stop(signal = 'SIGTERM') {
      if (exitCode === undefined) proc.kill(signal);
      return exited;
    },
  };
}

/** Poll until `fn` returns a truthy value (no timing assertion: the test's timeout is the bound). */
export async function waitFor<T>(fn: () => Promise<T> | T, what: string, intervalMs = 50, attempts = 1200): Promise<NonNullable<T>> {
  for (let i = 0; i < attempts; i++) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function writeConfig(dir: string, yaml: string, name = 'brainstem.yaml'): string {
  const p = join(dir, name);
  writeFileSync(p, yaml);
  return p;
}

/** Every stored event's connector and structured fields (read after the daemon stopped, or while it runs: WAL). */
export function storedEvents(dbPath: string): Array<{ id: number; connector: string; fields: Record<string, any>; message_raw: string }> {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT e.id, src.connector, e.fields, e.message_raw FROM events e JOIN event_sources src ON src.id = e.source_id ORDER BY e.id').all() as any[]).map((r) => ({
      id: r.id, connector: r.connector, message_raw: r.message_raw, fields: r.fields ? JSON.parse(r.fields) : {},
    }));
  } finally {
    db.close();
  }
}

/** Stored events, optionally of one connector (a cheap poll while the daemon runs). */
export function countEvents(dbPath: string, connector?: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return connector
      ? (db.prepare('SELECT count(*) AS n FROM events e JOIN event_sources src ON src.id = e.source_id WHERE src.connector = ?').get(connector) as { n: number }).n
      : (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

export function checkpointOf(dbPath: string, connector: string): any {
  const db = new Database(dbPath, { readonly: true });
  try {
    const row = db.prepare('SELECT checkpoint FROM checkpoints WHERE connector = ?').get(connector) as { checkpoint: string } | undefined;
    return row ? JSON.parse(row.checkpoint) : undefined;
  } finally {
    db.close();
  }
}

/** The seq numbers a counter connector stored, sorted, and whether they are exactly 0..n-1. */
export function counterSeqs(events: ReturnType<typeof storedEvents>, connector: string): { seqs: number[]; contiguous: boolean } {
  const seqs = events.filter((e) => e.connector === connector).map((e) => e.fields.structured_fields?.seq as number).sort((a, b) => a - b);
  return { seqs, contiguous: seqs.every((s, i) => s === i) };
}
