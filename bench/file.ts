// Benchmark of the file connector through the real daemon: (1) a 1,000,000-line syslog file
// tailed from the beginning into a fresh store — lines/s next to `cat` and `brainstem ingest`
// of the same file; (2) latency — lines appended at 5,000 lines/s for 30 s, p50/p99 from the
// write to the commit (observed by polling the store read-only).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { samplePeakRss } from './measure.js';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { writeSyslogCorpus } from './corpus.js';
import { CLI, measure } from './ingest.js';

const LINES = Number(process.env.BENCH_FILE_LINES ?? 1_000_000);
const LATENCY_SECONDS = Number(process.env.BENCH_FILE_LATENCY_SECONDS ?? 30);
const RATE = 5000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeConfig(dir: string, connector: Record<string, unknown>): string {
  const cfg = join(dir, 'bench.yaml');
  const conn = JSON.stringify({ name: 'files', type: 'file', ...connector });
  writeFileSync(cfg, `tenant_id: bench\nstorage: { path: ${JSON.stringify(join(dir, 'bench.db'))} }\napi: { enabled: false }\nconnectors:\n  - ${conn}\n`);
  return cfg;
}

function startDaemon(cfg: string): { child: ChildProcess; peakMb: () => number; stop: () => Promise<void> } {
  const child = spawn(process.execPath, [CLI, 'run', '-c', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  // the daemon's JSON log is kept aside and shown only if it dies
  let log = '';
  child.stderr!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') console.error(`daemon exited ${code ?? signal}:\n${log}`);
  });
  const rss = samplePeakRss(child.pid!);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    peakMb: rss.peakMb,
    stop: async () => {
      rss.stop();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Open the store read-only once the daemon has created it. */
async function openStore(path: string): Promise<Database.Database> {
  for (;;) {
    if (existsSync(path)) {
      try {
        const db = new Database(path, { readonly: true, fileMustExist: true });
        db.prepare('SELECT max(id) AS n FROM events').get();
        return db;
      } catch { /* not migrated yet */ }
    }
    await sleep(20);
  }
}

async function throughput(dir: string): Promise<void> {
  const file = join(dir, 'syslog.log');
  const bytes = await writeSyslogCorpus(file, LINES);
  let t0 = performance.now();
  spawnSync('sh', ['-c', `cat ${JSON.stringify(file)} > /dev/null`]);
  const catSec = (performance.now() - t0) / 1000;

  const ingestDir = mkdtempSync(join(dir, 'ingest-'));
  const ingestCfg = join(ingestDir, 'bench.yaml');
  writeFileSync(ingestCfg, `storage: { path: ${JSON.stringify(join(ingestDir, 'bench.db'))} }\napi: { enabled: false }\n`);
  const ing = await measure(process.execPath, [CLI, 'ingest', '--json', '-c', ingestCfg, file]);
  if (ing.code !== 0) throw new Error(`ingest exited ${ing.code}`);
  const ingestSec = ing.ms / 1000;

  const tailDir = mkdtempSync(join(dir, 'tail-'));
  const cfg = writeConfig(tailDir, { paths: [file], start_at: 'beginning', format: 'syslog' });
  t0 = performance.now();
  const d = startDaemon(cfg);
  const db = await openStore(join(tailDir, 'bench.db'));
  const maxId = db.prepare('SELECT max(id) AS n FROM events');
  while (((maxId.get() as { n: number | null }).n ?? 0) < LINES) await sleep(25);
  const tailSec = (performance.now() - t0) / 1000;
  db.close();
  await d.stop();

  const rate = (s: number) => Math.round(LINES / s).toLocaleString('en');
  console.log(`file connector benchmark: ${LINES.toLocaleString('en')} lines, ${(bytes / 1e6).toFixed(0)} MB, read from the beginning`);
  console.log(`  cat > /dev/null        ${catSec.toFixed(3)} s  ${rate(catSec)} lines/s`);
  console.log(`  brainstem ingest       ${ingestSec.toFixed(2)} s  ${rate(ingestSec)} lines/s  peak RSS ${ing.peakMb.toFixed(0)} MB`);
  console.log(`  daemon, type: file     ${tailSec.toFixed(2)} s  ${rate(tailSec)} lines/s  peak RSS ${d.peakMb().toFixed(0)} MB`);
  const ratio = ingestSec / tailSec;
  console.log(`  tail / ingest          ${(ratio * 100).toFixed(0)} %  (target ≥ 80 %: ${ratio >= 0.8 ? 'met' : 'NOT met'})`);
}

async function latency(dir: string): Promise<void> {
  const file = join(dir, 'live.log');
  writeFileSync(file, '');
  const cfg = writeConfig(dir, { paths: [file], format: 'syslog' });
  const d = startDaemon(cfg);
  const db = await openStore(join(dir, 'bench.db'));
  await sleep(1500); // the connector is up and positioned at the end
  const newRows = db.prepare('SELECT id, message_raw AS m FROM events WHERE id > ? ORDER BY id');
  const latencies: number[] = [];
  let lastId = 0;
  const poll = () => {
    const now = Date.now();
    for (const r of newRows.iterate(lastId) as IterableIterator<{ id: number; m: string }>) {
      lastId = r.id;
      const t = /t=(\d+)$/.exec(r.m);
      if (t) latencies.push(now - Number(t[1]));
    }
  };
  const total = RATE * LATENCY_SECONDS;
  let written = 0;
  const start = Date.now();
  while (written < total) {
    const due = Math.min(total, Math.floor(((Date.now() - start) * RATE) / 1000));
    if (due > written) {
      let chunk = '';
      const now = Date.now();
      const stamp = new Date(now).toISOString();
      for (; written < due; written++) chunk += `${stamp} bench-host app[42]: latency probe seq=${written} t=${now}\n`;
      appendFileSync(file, chunk);
    }
    poll();
    await sleep(5);
  }
  const deadline = Date.now() + 30_000;
  while (latencies.length < total && Date.now() < deadline) {
    poll();
    await sleep(5);
  }
  db.close();
  await d.stop();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  console.log(`  latency at ${RATE.toLocaleString('en')} lines/s for ${LATENCY_SECONDS} s: ${latencies.length.toLocaleString('en')}/${total.toLocaleString('en')} lines committed`);
  console.log(`    write → committed  p50 ${q(0.5)} ms  p99 ${q(0.99)} ms  max ${latencies.at(-1)} ms  (target p99 ≤ 1000 ms: ${q(0.99) <= 1000 && latencies.length === total ? 'met' : 'NOT met'})`);
}

export async function runFileBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'brainstem-bench-file-'));
  try {
    await throughput(dir);
    await latency(mkdtempSync(join(dir, 'latency-')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runFileBench();
}
