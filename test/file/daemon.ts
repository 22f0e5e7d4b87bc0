// Runs the real built daemon (`node dist/src/cli/main.js run -c cfg.yaml`) as a child process
// for the file connector's end-to-end tests, and reads what it stored through the CLI.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(REPO, 'dist/src/cli/main.js');

export function cliBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: build first (npx tsc -p tsconfig.json)`);
}

export interface DaemonOptions {
  dir: string;
  /** The file connector's options (YAML flow/JSON is valid YAML). */
  connector: Record<string, unknown>;
  /**
   * Run the daemon without the capabilities that let root read any file (CAP_DAC_OVERRIDE,
   * CAP_DAC_READ_SEARCH), so permission tests bite when the tests run as root (as CI does).
   */
  withoutDacOverride?: boolean;
}

export class Daemon {
  readonly config: string;
  private child: ChildProcess | undefined;
  stderr = '';

  constructor(private readonly opts: DaemonOptions) {
    this.config = path.join(opts.dir, 'brainstem.yaml');
    const conn = JSON.stringify({ name: 'files', type: 'file', ...opts.connector });
    writeFileSync(this.config, `tenant_id: test\nstorage: { path: ${JSON.stringify(path.join(opts.dir, 'b.db'))} }\napi: { enabled: false }\nconnectors:\n  - ${conn}\n`);
  }

  start(): void {
    this.stderr = '';
    const args = [CLI, 'run', '-c', this.config];
    // setpriv (util-linux) execs node in place: same pid, so signals reach the daemon
    const child = this.opts.withoutDacOverride && process.getuid?.() === 0
      ? spawn('setpriv', ['--bounding-set=-dac_override,-dac_read_search', process.execPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      if (this.stderr.length > 200_000) this.stderr = this.stderr.slice(-100_000);
    });
    this.child = child;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stop with `signal` and wait for the process to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    await exited;
  }

  private async cli(args: string[]): Promise<string> {
    const { stdout } = await run(process.execPath, [CLI, ...args, '-c', this.config], { maxBuffer: 512 * 1024 * 1024 });
    return stdout;
  }

  async events(): Promise<Array<Record<string, unknown>>> {
    return JSON.parse(await this.cli(['events', '--json', '--limit', '0'])) as Array<Record<string, unknown>>;
  }

  async messages(): Promise<string[]> {
    return (await this.events()).map((e) => e.message_raw as string);
  }

  async stats(): Promise<{ totals: { events: number }; connectors: Array<{ connector: string; state: string; last_error: string | null; gauges: Record<string, number> }> }> {
    return JSON.parse(await this.cli(['stats', '--json']));
  }

  async storedCount(): Promise<number> {
    if (!existsSync(path.join(this.opts.dir, 'b.db'))) return 0;
    return (await this.stats()).totals.events;
  }

  /** Poll `cond` until true; a failing CLI call (store not created yet) counts as false. */
  async waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
    const t0 = Date.now();
    while (!(await cond().catch(() => false))) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}; daemon stderr tail:\n${this.stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}
