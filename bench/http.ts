// Benchmark: POST /v1/events throughput. Starts the built daemon (a child process with one
// `type: http` connector and a fresh store), then a loopback undici client POSTs NDJSON batches
// of 1,000 envelopes with a few requests in flight. Each 200 means the batch is committed, so
// events/s is committed throughput; latency is per request (p50/p99/max).
// Knobs: BENCH_HTTP_BATCHES (default 300), BENCH_HTTP_CONCURRENCY (default: runs 1, 4 and 16).
// With one request in flight, each waits for the pipeline's flush_interval (a 1,000-event emit
// is below batch_size), so that row shows the batching delay rather than the HTTP path.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const BATCH = 1000;

const SERVICES = ['sshd', 'nginx', 'kernel', 'app', 'postgres', 'cron'];
const MESSAGES: Array<(i: number) => string> = [
  (i) => `Failed password for user${i % 50} from 10.0.${(i >> 8) & 255}.${i & 255} port ${1024 + (i % 60000)} ssh2`,
  (i) => `Accepted publickey for deploy from 10.1.${i & 255}.7 port ${2000 + (i % 999)} ssh2: RSA SHA256:${(i * 2654435761 >>> 0).toString(16)}`,
  (i) => `upstream timed out (110: Connection timed out) while reading response header from upstream, client: 192.168.${i & 255}.${(i >> 3) & 255}, request: "GET /api/v1/items/${i} HTTP/1.1"`,
  (i) => `Out of memory: Killed process ${1000 + (i % 30000)} (java) total-vm:${i % 9000000}kB`,
  (i) => `request ${i.toString(36)} completed in ${i % 900} ms status=${[200, 201, 404, 500][i % 4]}`,
  (i) => `checkpoint complete: wrote ${i % 5000} buffers (${(i % 100) / 10}%); sync files=${i % 60}`,
  (i) => `(root) CMD (/usr/local/bin/backup.sh --target s3://bucket/${i % 31})`,
  (i) => `connection reset by peer on worker ${i % 16} after ${i % 3600} s`,
];

function ndjsonBatch(start: number): string {
  const lines: string[] = [];
  for (let k = 0; k < BATCH; k++) {
    const i = start + k;
    lines.push(JSON.stringify({
      message_raw: MESSAGES[i % MESSAGES.length]!(i), host: `web-${i % 12}`, service: SERVICES[i % SERVICES.length],
      severity: i % 17 === 0 ? 'err' : 'info',
    }));
  }
  return lines.join('\n');
}

function startDaemon(dir: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const cfg = join(dir, 'bench.yaml');
  writeFileSync(cfg, `storage: { path: ${join(dir, 'b.db')} }\nconnectors:\n  - { name: api, type: http }\napi: { listen: 127.0.0.1:0, max_body_bytes: 16777216 }\nlog: { level: info }\n`);
  const child = spawn(process.execPath, [CLI, 'run', '-c', cfg], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let exited: number | null | undefined;
  let log = '';
  const gone = new Promise<void>((r) => child.on('exit', (code) => { exited = code; r(); }));
  child.stderr.setEncoding('utf8').on('data', (d: string) => { log = (log + d).slice(-20_000); });
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const m = /"port":(\d+),[^\n]*"msg":"HTTP API listening"/.exec(log);
      if (!m) return;
      clearInterval(poll);
      resolve({
        port: Number(m[1]),
        stop: async () => {
          if (exited !== undefined) throw new Error(`the daemon died during the benchmark (${exited}): ${log.slice(-2000)}`);
          child.kill('SIGTERM');
          await gone;
        },
      });
    }, 20);
    void gone.then(() => { clearInterval(poll); reject(new Error(`daemon exited with ${exited}: ${log}`)); });
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export async function main(): Promise<void> {
  const batches = Number(process.env.BENCH_HTTP_BATCHES ?? 300);
  const levels = process.env.BENCH_HTTP_CONCURRENCY ? [Number(process.env.BENCH_HTTP_CONCURRENCY)] : [1, 4, 16];
  console.log('POST /v1/events (NDJSON, 1,000 envelopes per request, loopback, each 200 = committed)');
  for (const concurrency of levels) await runOnce(batches, concurrency);
}

async function runOnce(batches: number, concurrency: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'brainstem-bench-http-'));
  const daemon = await startDaemon(dir);
  const pool = new Pool(`http://127.0.0.1:${daemon.port}`, { connections: concurrency, pipelining: 1 });
  const bodies = Array.from({ length: 16 }, (_, j) => ndjsonBatch(j * BATCH));
  const bytesPerBatch = Buffer.byteLength(bodies[0]!);
  const post = async (j: number): Promise<number> => {
    const t0 = performance.now();
    const res = await pool.request({ method: 'POST', path: '/v1/events', body: bodies[j % bodies.length], headers: { 'content-type': 'application/x-ndjson' } });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`POST /v1/events: ${res.statusCode} ${text}`);
    return performance.now() - t0;
  };
  try {
    for (let j = 0; j < 10; j++) await post(j); // warm-up: JIT, miner templates, SQLite cache
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < batches) latencies.push(await post(next++));
    }));
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const events = batches * BATCH;
    console.log(`  ${concurrency} in flight: ${batches} requests of ${(bytesPerBatch / 1024).toFixed(0)} KiB into a fresh store`);
    console.log(`    throughput      ${Math.round(events / seconds).toLocaleString('en-US')} events/s  (${(batches * bytesPerBatch / 1048576 / seconds).toFixed(1)} MiB/s)`);
    console.log(`    latency (ms)    p50 ${percentile(latencies, 50).toFixed(1)}  p99 ${percentile(latencies, 99).toFixed(1)}  max ${latencies[latencies.length - 1]!.toFixed(1)}`);
  } finally {
    await pool.destroy();
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
