// `npm run bench`: every benchmark program in turn, each in its own process so that its memory
// figures are its own. `BENCH_ONLY=ingest,file` runs a subset. Figures go to stdout; nothing here
// passes or fails on a stopwatch.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PROGRAMS: Array<[string, string]> = [
  ['ingest', 'core: brainstem ingest of 1,000,000 syslog lines into a fresh store'],
  ['hotpath', 'core: per-line CPU cost of each pipeline stage'],
  ['file', 'file connector: tail throughput and write→commit latency'],
  ['syslog', 'syslog connector: UDP/TCP receive rates and loss, next to rsyslog'],
  ['logicmonitor', 'LogicMonitor connector: 50,000 alerts from the fake'],
  ['http', 'HTTP API: POST /v1/events throughput and latency'],
  ['digest', 'digests: composition and delivery'],
];

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
let failed = 0;
for (const [name, what] of PROGRAMS) {
  if (only && !only.includes(name)) continue;
  console.log(`\n=== ${name} — ${what}`);
  const file = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`(${name} exited with ${r.status ?? r.signal})`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
