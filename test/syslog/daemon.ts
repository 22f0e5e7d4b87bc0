// Test harness: runs the built daemon (dist) as a child process with a config in a temp dir,
// finds free ports, and reads results back through the CLI (`events --json`, `stats --json`).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(REPO, 'dist/src/cli/main.js');
const run = promisify(execFile);

export interface StoredEvent {
  id: number;
  timestamp: string;
  message_raw: string;
  host: string | null;
  service: string | null;
  severity: string | null;
  facility: string | null;
  structured_fields: Record<string, any>;
  metadata: Record<string, any>;
  ingest_metadata: Record<string, any>;
  parse_error: string | null;
  connector: string;
}

export interface ConnectorStats {
  connector: string;
  received: number;
  stored: number;
  parse_errors: number;
  dropped: number;
  state: string;
  last_error: string | null;
  gauges: Record<string, number>;
}

/** A port free for both UDP and TCP on 127.0.0.1 (the daemon binds both to it). */
export async function freePort(): Promise<number> {
  for (;;) {
    const tcp = net.createServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      udp.once('error', () => r(false));
      udp.bind(port, '127.0.0.1', () => r(true));
    });
    udp.close();
    await new Promise((r) => tcp.close(r));
    if (ok) return port;
  }
}

/** Poll until `check` returns a value (not undefined); fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class Daemon {
  readonly dir: string;
  readonly config: string;
  private child: ChildProcess | undefined;
  stderr = '';

  /** `connectors` is YAML text of the `connectors:` list items (indented by two spaces). */
  constructor(connectorsYaml: string) {
    if (!existsSync(CLI)) throw new Error(`${CLI} missing: build first (npx tsc -p tsconfig.json)`);
    this.dir = mkdtempSync(join(tmpdir(), 'brainstem-syslog-'));
    this.config = join(this.dir, 'cfg.yaml');
    writeFileSync(this.config, `tenant_id: test\nstorage: { path: ${join(this.dir, 'b.db')} }\n# no HTTP API: test daemons run side by side and would compete for its port\napi: { enabled: false }\nconnectors:\n${connectorsYaml}\n`);
  }

  /** Start and wait until every listener of every connector is bound ("syslog listening" logs). */
  async start(listeners: number): Promise<void> {
    this.child = spawn(process.execPath, [CLI, 'run', '-c', this.config], { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
    });
    await waitFor('the daemon to listen', () => {
      if (this.child!.exitCode !== null) throw new Error(`daemon exited ${this.child!.exitCode}: ${this.stderr}`);
      return (this.stderr.match(/syslog listening/g) ?? []).length >= listeners ? true : undefined;
    }, 30_000);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  async events(): Promise<StoredEvent[]> {
    // Into a file, not a pipe: a CLI that exits right after a large write can cut a pipe short.
    const out = join(this.dir, 'events.json');
    const fd = openSync(out, 'w');
    try {
      const child = spawn(process.execPath, [CLI, 'events', '--json', '--limit', '0', '-c', this.config], { cwd: this.dir, stdio: ['ignore', fd, 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d) => { err += d; });
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      if (code !== 0) throw new Error(`events exited ${code}: ${err}`);
    } finally {
      closeSync(fd);
    }
    return (JSON.parse(readFileSync(out, 'utf8')) as StoredEvent[]).reverse();
  }

  async stats(connector: string): Promise<ConnectorStats> {
    const { stdout } = await run(process.execPath, [CLI, 'stats', '--json', '-c', this.config], { cwd: this.dir });
    const s = (JSON.parse(stdout) as { connectors: ConnectorStats[] }).connectors.find((c) => c.connector === connector);
    if (!s) throw new Error(`no stats for ${connector}`);
    return s;
  }

  /** Wait until `connector` has stored + dropped at least `n` messages; returns its stats. */
  async settle(connector: string, n: number, timeoutMs = 120_000): Promise<ConnectorStats> {
    return waitFor(`${connector} to account for ${n} messages`, async () => {
      const s = await this.stats(connector);
      return s.stored + s.dropped >= n ? s : undefined;
    }, timeoutMs);
  }
}

/** Send one message with util-linux `logger`. */
export async function logger(args: string[], message: string): Promise<void> {
  await run('logger', [...args, message]);
}
