// Benchmark: `brainstem ingest` of a 1,000,000-line synthetic syslog file into a fresh store,
// end to end (a child process, committed SQLite), three times. Prints lines/s, MB/s and peak RSS
// of each run, the median, and the time `cat > /dev/null` takes over the same file for scale.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEMPLATE_COUNT, writeSyslogCorpus } from './corpus.js';
import { samplePeakRss } from './measure.js';

export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** Run a command, sampling its peak RSS (VmHWM) from /proc; resolves with wall ms and peak MB. */
export function measure(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<{ ms: number; peakMb: number; stdout: string; code: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const rss = samplePeakRss(child.pid!);
    child.on('error', reject);
    child.on('exit', (code) => {
      rss.stop();
      resolve({ ms: performance.now() - t0, peakMb: rss.peakMb(), stdout, code: code ?? 1 });
    });
  });
}

/**
 * `runs` ingests (BENCH_INGEST_RUNS, default 3), each into a fresh store: this machine's speed
 * drifts by a third from one minute to the next, so one run says little. The target is judged on
 * the median run's rate and the highest peak RSS of all.
 */
export async function runIngestBench(
  lines = Number(process.env.BENCH_LINES ?? 1_000_000), runs = Number(process.env.BENCH_INGEST_RUNS ?? 3),
): Promise<{ linesPerSec: number; peakMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'brainstem-bench-'));
  try {
    const file = join(dir, 'syslog.log');
    const bytes = await writeSyslogCorpus(file, lines);
    const t0 = performance.now();
    spawnSync('sh', ['-c', `cat ${JSON.stringify(file)} > /dev/null`]);
    const catMs = performance.now() - t0;
    console.log(`ingest benchmark: ${lines.toLocaleString('en')} lines, ${(bytes / 1e6).toFixed(0)} MB, ${TEMPLATE_COUNT} generator templates, ${runs} runs`);
    const results: Array<{ linesPerSec: number; peakMb: number }> = [];
    for (let run = 1; run <= runs; run++) {
      const cfg = join(dir, `bench-${run}.yaml`);
      writeFileSync(cfg, `storage: { path: ${JSON.stringify(join(dir, `bench-${run}.db`))} }\napi: { enabled: false }\n`);
      const r = await measure(process.execPath, [CLI, 'ingest', '--json', '-c', cfg, file]);
      if (r.code !== 0) throw new Error(`ingest exited ${r.code}`);
      const summary = JSON.parse(r.stdout);
      const secs = r.ms / 1000;
      const linesPerSec = summary.events_stored / secs;
      results.push({ linesPerSec, peakMb: r.peakMb });
      console.log(`  brainstem ingest   ${secs.toFixed(2)} s  ${Math.round(linesPerSec).toLocaleString('en')} lines/s  ${(bytes / 1e6 / secs).toFixed(1)} MB/s  peak RSS ${r.peakMb.toFixed(0)} MB`);
      if (run === runs) console.log(`  stored ${summary.events_stored.toLocaleString('en')} events, ${summary.signatures_total} signatures, ${summary.parse_errors} parse errors`);
      rmSync(join(dir, `bench-${run}.db`), { force: true });
      for (const ext of ['-wal', '-shm']) rmSync(join(dir, `bench-${run}.db${ext}`), { force: true });
    }
    const rates = results.map((r) => r.linesPerSec).sort((a, b) => a - b);
    const linesPerSec = rates[Math.floor((rates.length - 1) / 2)]!;
    const peakMb = Math.max(...results.map((r) => r.peakMb));
    console.log(`  cat > /dev/null    ${(catMs / 1000).toFixed(3)} s  (${Math.round(lines / (catMs / 1000)).toLocaleString('en')} lines/s)`);
    console.log(`  median ${Math.round(linesPerSec).toLocaleString('en')} lines/s (runs ${Math.round(rates[0]!).toLocaleString('en')} … ${Math.round(rates.at(-1)!).toLocaleString('en')}), highest peak RSS ${peakMb.toFixed(0)} MB`);
    console.log(`  target ≥ 130,000 lines/s, peak RSS ≤ 300 MB: ${linesPerSec >= 130_000 && peakMb <= 300 ? 'met' : 'NOT met'}`);
    return { linesPerSec, peakMb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runIngestBench();
}
