// Benchmark of the syslog connector through the real daemon, next to rsyslog on the same load
// in the same run: UDP at several offered rates (received, stored end-to-end, loss) and TCP
// flat out (msgs/s stored). rsyslog runs with its own config, writing to a file.
// Env: BENCH_SYSLOG_RATES (e.g. "10000,50000"), BENCH_SYSLOG_SECONDS (per UDP step),
// BENCH_SYSLOG_TCP (messages per TCP run), BENCH_SYSLOG_TCP_RUNS (default 3), BENCH_SYSLOG_RSYSLOG=0
// to skip rsyslog.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { rng, validMessage } from '../fixtures/syslog/generate.js';
import plugin, { syslogSchema } from '../plugins/syslog/index.js';
import type { SyslogReceiver } from '../plugins/syslog/receiver.js';
import { silentLogger } from '../src/log/logger.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const RATES = (process.env.BENCH_SYSLOG_RATES ?? '10000,25000,50000,75000,100000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SYSLOG_SECONDS ?? 4);
const TCP_MESSAGES = Number(process.env.BENCH_SYSLOG_TCP ?? 500_000);
const TCP_RUNS = Number(process.env.BENCH_SYSLOG_TCP_RUNS ?? 3);
const WITH_RSYSLOG = process.env.BENCH_SYSLOG_RSYSLOG !== '0' && spawnSync('rsyslogd', ['-v']).status === 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  for (;;) {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((r) => udp.once('error', () => r(false)).bind(port, '127.0.0.1', () => r(true)));
    udp.close();
    if (ok) return port;
  }
}

/** A pool of distinct messages, reused round-robin, so generating them costs the sender nothing. */
function messagePool(n: number): Buffer[] {
  const r = rng(7);
  return Array.from({ length: n }, (_, i) => Buffer.from(validMessage(r, i)));
}

/** Send `rate` datagrams/s for `seconds`, paced per millisecond; returns the count sent. */
async function sendUdpAt(port: number, rate: number, seconds: number, pool: Buffer[]): Promise<{ sent: number; ms: number }> {
  const sock = dgram.createSocket('udp4');
  sock.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const total = rate * seconds;
  let sent = 0;
  const t0 = performance.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    while (sent < due) sock.send(pool[sent++ % pool.length]!);
    // 1 ms ticks, not a spin: on a small machine a spinning sender starves the receiver's threads
    await sleep(1);
  }
  const ms = performance.now() - t0;
  await sleep(50);
  sock.close();
  return { sent, ms };
}

/** Send `count` newline-framed messages over 4 TCP connections as fast as they are taken. */
async function sendTcp(port: number, count: number, pool: Buffer[]): Promise<void> {
  const per = Math.ceil(count / 4);
  await Promise.all([0, 1, 2, 3].map(async (k) => {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const n = Math.min(per, count - k * per);
    for (let i = 0; i < n; i += 500) {
      const parts: Buffer[] = [];
      for (let j = i; j < Math.min(n, i + 500); j++) parts.push(pool[(k * per + j) % pool.length]!, Buffer.from('\n'));
      if (!sock.write(Buffer.concat(parts))) await new Promise((r) => sock.once('drain', r));
    }
    await new Promise<void>((r) => sock.end(r));
  }));
}

interface Sink {
  name: string;
  /** Messages stored so far and messages known dropped. */
  counts(): { stored: number; dropped: number };
  stop(): Promise<void>;
}

async function startBrainstem(dir: string, udpPort: number, tcpPort: number): Promise<Sink> {
  const db = join(dir, 'bench.db');
  const cfg = join(dir, 'brainstem.yaml');
  writeFileSync(cfg, `tenant_id: bench\nstorage: { path: ${JSON.stringify(db)} }\napi: { enabled: false }\nconnectors:\n`
    + `  - { name: udp, type: syslog, listen: [{ protocol: udp, port: ${udpPort} }] }\n`
    + `  - { name: tcp, type: syslog, listen: [{ protocol: tcp, port: ${tcpPort} }] }\n`);
  const child = spawn(process.execPath, [CLI, 'run', '-c', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => { log += d; });
  for (let i = 0; (log.match(/syslog listening/g) ?? []).length < 2; i++) {
    if (child.exitCode !== null || i > 300) throw new Error(`brainstem did not start: ${log}`);
    await sleep(100);
  }
  let reader: Database.Database | undefined;
  return {
    name: 'brainstem',
    counts() {
      reader ??= new Database(db, { readonly: true, fileMustExist: true });
      const rows = reader.prepare('SELECT connector, stored, dropped FROM connector_stats').all() as Array<{ connector: string; stored: number; dropped: number }>;
      return rows.reduce((a, r) => ({ stored: a.stored + r.stored, dropped: a.dropped + r.dropped }), { stored: 0, dropped: 0 });
    },
    async stop() {
      reader?.close();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function startRsyslog(dir: string, udpPort: number, tcpPort: number): Promise<Sink> {
  const work = join(dir, 'rsyslog');
  mkdirSync(join(work, 'work'), { recursive: true });
  const out = join(work, 'out.log');
  writeFileSync(join(work, 'rsyslog.conf'), `
global(workDirectory="${join(work, 'work')}")
module(load="imudp")
module(load="imtcp")
input(type="imudp" port="${udpPort}" address="127.0.0.1" rcvbufSize="8m")
input(type="imtcp" port="${tcpPort}" address="127.0.0.1")
action(type="omfile" file="${out}" asyncWriting="on" ioBufferSize="256k" flushOnTXEnd="off")
`);
  writeFileSync(out, '');
  const child = spawn('rsyslogd', ['-n', '-f', join(work, 'rsyslog.conf'), '-i', join(work, 'rsyslog.pid')], { stdio: 'ignore' });
  await sleep(1500);
  if (child.exitCode !== null) throw new Error('rsyslogd did not start');
  // Each message is one line; count newlines incrementally as the file grows.
  let lines = 0;
  let offset = 0;
  return {
    name: 'rsyslog',
    counts() {
      const size = statSync(out).size;
      if (size > offset) {
        const buf = readFileSync(out).subarray(offset, size);
        for (let i = 0; i < buf.length; i++) if (buf[i] === 10) lines++;
        offset = size;
      }
      return { stored: lines, dropped: 0 };
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Wait until the sink holds `target` more messages than `base`, or stops growing for 3 s. */
async function settle(sink: Sink, base: number, target: number): Promise<{ stored: number; lastGrowth: number }> {
  let last = -1;
  let lastGrowth = performance.now();
  for (;;) {
    const got = sink.counts().stored - base;
    if (got !== last) {
      last = got;
      lastGrowth = performance.now();
    }
    if (got >= target || performance.now() - lastGrowth > 3000) return { stored: got, lastGrowth };
    await sleep(50);
  }
}

async function udpRun(sink: Sink, port: number, pool: Buffer[]) {
  const rows: string[] = [];
  for (const rate of RATES) {
    const before = sink.counts();
    const t0 = performance.now();
    const { sent, ms } = await sendUdpAt(port, rate, SECONDS, pool);
    const { stored, lastGrowth } = await settle(sink, before.stored, sent);
    const dropped = sink.counts().dropped - before.dropped;
    const loss = (sent - stored) / sent;
    const storeSec = Math.max(ms, lastGrowth - t0) / 1000;
    rows.push(`| ${sink.name} | UDP | ${rate.toLocaleString('en')} | ${Math.round(sent / (ms / 1000)).toLocaleString('en')} | ${stored.toLocaleString('en')} / ${sent.toLocaleString('en')} | ${Math.round(stored / storeSec).toLocaleString('en')} | ${(loss * 100).toFixed(2)} % | ${sink.name === 'rsyslog' ? 'n/a' : dropped.toLocaleString('en')} |`);
    console.error(rows.at(-1));
  }
  return rows;
}

/**
 * TCP_RUNS runs of TCP_MESSAGES each (this machine's speed drifts by a third between minutes, so
 * one run says little): one row with the median run's rates and the range of the others.
 */
async function tcpRun(sink: Sink, port: number, pool: Buffer[]) {
  const runs: Array<{ sent: number; stored: number; storedPerSec: number }> = [];
  for (let run = 0; run < TCP_RUNS; run++) {
    const before = sink.counts();
    const t0 = performance.now();
    await sendTcp(port, TCP_MESSAGES, pool);
    const sentMs = performance.now() - t0;
    const { stored, lastGrowth } = await settle(sink, before.stored, TCP_MESSAGES);
    runs.push({ sent: TCP_MESSAGES / (sentMs / 1000), stored, storedPerSec: stored / ((lastGrowth - t0) / 1000) });
  }
  const byRate = [...runs].sort((a, b) => a.storedPerSec - b.storedPerSec);
  const median = byRate[Math.floor((byRate.length - 1) / 2)]!;
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  const stored = runs.reduce((n, r) => n + r.stored, 0);
  const total = TCP_MESSAGES * runs.length;
  const range = runs.length > 1 ? ` (${fmt(byRate[0]!.storedPerSec)} … ${fmt(byRate.at(-1)!.storedPerSec)})` : '';
  const row = `| ${sink.name} | TCP | flat out${runs.length > 1 ? `, median of ${runs.length}` : ''} | ${fmt(median.sent)} | ${stored.toLocaleString('en')} / ${total.toLocaleString('en')} | ${fmt(median.storedPerSec)}${range} | ${(((total - stored) / total) * 100).toFixed(2)} % | — |`;
  console.error(row);
  return [row];
}

/**
 * The connector alone, in this process, with an emit that resolves at once: what receiving,
 * framing and parsing cost without the pipeline and the store behind them.
 */
async function startReceiverOnly(_dir: string, udpPort: number, tcpPort: number): Promise<Sink> {
  let stored = 0;
  let dropped = 0;
  const receiver = plugin.create(syslogSchema.parse({
    listen: [{ protocol: 'udp', port: udpPort }, { protocol: 'tcp', port: tcpPort }],
  }) as never, {
    name: 'bench', tenantId: 'bench', logger: silentLogger(), checkpoint: undefined,
    signal: new AbortController().signal, dataDir: tmpdir(),
    metrics: { dropped: (n) => { dropped += n; }, gauge: () => {} },
    // the envelopes are made here as the pipeline would make them: parsing is part of the cost
    emit: async (envs) => {
      for (let i = 0; i < envs.length; i++) envs.at(i);
      stored += envs.length;
    },
    reportError: () => {}, clearError: () => {},
  }) as SyslogReceiver;
  await receiver.start();
  return { name: 'receiver only', counts: () => ({ stored, dropped }), stop: () => receiver.stop() };
}

export async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'brainstem-bench-syslog-'));
  const pool = messagePool(20_000);
  const rows: string[] = [];
  try {
    for (const start of [startBrainstem, startReceiverOnly, ...(WITH_RSYSLOG ? [startRsyslog] : [])]) {
      const [udpPort, tcpPort] = [await freePort(), await freePort()];
      mkdirSync(join(dir, start.name), { recursive: true });
      const sink = await start(join(dir, start.name), udpPort, tcpPort);
      try {
        rows.push(...(await udpRun(sink, udpPort, pool)));
        rows.push(...(await tcpRun(sink, tcpPort, pool)));
      } finally {
        await sink.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`syslog receive benchmark (${SECONDS} s per UDP rate, ${TCP_RUNS} × ${TCP_MESSAGES.toLocaleString('en')} TCP messages over 4 connections, ~${Math.round(pool.reduce((n, b) => n + b.length, 0) / pool.length)} B/msg)`);
  console.log('| receiver | proto | offered msg/s | achieved send msg/s | stored / sent | stored msg/s (end-to-end) | loss | counted drops |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
