// The UDP receiving thread. UDP cannot be paused, so the socket is drained here, away from the
// main thread's parsing and SQLite commits, and datagrams go to the main thread in batches.
// It counts what it must drop (main thread too far behind) and what the kernel dropped.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { plainAddress, sourceFilter } from './sources.js';

export interface UdpWorkerConfig {
  address: string;
  port: number;
  recvBufferSize: number;
  maxMessageBytes: number;
  /** Datagrams handed to the main thread and not yet acknowledged, before dropping. */
  maxPending: number;
  allowedSources: string[];
}

/** Main thread → worker. */
export type ToWorker = { type: 'ack'; count: number } | { type: 'stop' };

/** Worker → main thread. */
export type FromWorker =
  | { type: 'listening'; address: string; port: number; recvBufferSize: number }
  | {
    type: 'batch';
    data: Uint8Array;
    /** End offset of each datagram in data. */
    ends: Uint32Array;
    senders: string[];
    ports: Uint16Array;
    /** Index → length as sent, for datagrams cut to maxMessageBytes. */
    truncated: Array<[number, number]>;
  }
  | { type: 'dropped'; backlog: number; denied: number; kernel: number; kernelTotal: number }
  | { type: 'error'; message: string }
  | { type: 'stopped' };

const BATCH_BYTES = 1 << 20;
const BATCH_MESSAGES = 2048;
const FLUSH_MS = 2;
const DROP_REPORT_MS = 1000;

const config = workerData as UdpWorkerConfig;
const port = parentPort!;
const socket = dgram.createSocket({ type: isIPv6(config.address) ? 'udp6' : 'udp4', recvBufferSize: config.recvBufferSize });

const data = new Uint8Array(BATCH_BYTES);
let used = 0;
let ends: number[] = [];
let senders: string[] = [];
let ports: number[] = [];
let truncated: Array<[number, number]> = [];
let pending = 0;
let backlogDrops = 0;
let deniedDrops = 0;
const allowed = sourceFilter(config.allowedSources);
let flushTimer: NodeJS.Timeout | undefined;

function flush(): void {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  if (ends.length === 0) return;
  // Copy out exactly what was used and keep the scratch buffer: handing over (and freeing) a
  // fresh 1 MiB buffer per batch cost both threads more in allocation and GC than the copy.
  const msg: FromWorker = {
    type: 'batch', data: data.slice(0, used), ends: Uint32Array.from(ends), senders,
    ports: Uint16Array.from(ports), truncated,
  };
  port.postMessage(msg, [msg.data.buffer as ArrayBuffer, msg.ends.buffer as ArrayBuffer, msg.ports.buffer as ArrayBuffer]);
  pending += ends.length;
  used = 0;
  ends = [];
  senders = [];
  ports = [];
  truncated = [];
}

socket.on('message', (msg, rinfo) => {
  if (allowed && !allowed(rinfo.address)) {
    deniedDrops++;
    return;
  }
  if (pending + ends.length >= config.maxPending) {
    backlogDrops++;
    return;
  }
  const n = Math.min(msg.length, config.maxMessageBytes);
  if (used + n > data.length) flush();
  if (n < msg.length) truncated.push([ends.length, msg.length]);
  data.set(n < msg.length ? msg.subarray(0, n) : msg, used);
  used += n;
  ends.push(used);
  senders.push(plainAddress(rinfo.address));
  ports.push(rinfo.port);
  if (ends.length >= BATCH_MESSAGES) flush();
  else flushTimer ??= setTimeout(flush, FLUSH_MS);
});

socket.on('error', (err) => port.postMessage({ type: 'error', message: err.message } satisfies FromWorker));

/**
 * Drops the kernel counted for our socket, from /proc/net/udp[6] (last column), found by local
 * address and port; undefined where /proc is not available.
 */
function kernelDrops(): number | undefined {
  if (!bound) return undefined;
  const { address, port: localPort } = socket.address();
  const v6 = isIPv6(address);
  let table: string;
  try {
    table = readFileSync(v6 ? '/proc/net/udp6' : '/proc/net/udp', 'utf8');
  } catch {
    return undefined;
  }
  const portHex = localPort.toString(16).toUpperCase().padStart(4, '0');
  const addrHex = v6 ? undefined : ipv4Hex(address);
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (!local) continue;
    const [a, p] = local.split(':');
    if (p !== portHex || (addrHex && a !== addrHex)) continue;
    const drops = Number(cols[cols.length - 1]);
    return Number.isFinite(drops) ? drops : undefined;
  }
  return undefined;
}

/** /proc/net/udp writes IPv4 addresses as the little-endian hex of the 32-bit value. */
function ipv4Hex(address: string): string {
  return address.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).reverse().join('');
}

let kernelBaseline = 0;
let kernelTotal = 0;
function reportDrops(): void {
  const k = kernelDrops();
  let kernel = 0;
  if (k !== undefined) {
    kernel = k - kernelBaseline - kernelTotal;
    kernelTotal += Math.max(0, kernel);
  }
  if (backlogDrops > 0 || deniedDrops > 0 || kernel > 0) {
    port.postMessage({ type: 'dropped', backlog: backlogDrops, denied: deniedDrops, kernel: Math.max(0, kernel), kernelTotal } satisfies FromWorker);
    backlogDrops = 0;
    deniedDrops = 0;
  }
}
let dropTimer: NodeJS.Timeout | undefined;

/** Datagrams waiting in the kernel's receive queue (bytes), from the same /proc row. */
function kernelQueued(): number {
  try {
    const { port: localPort } = socket.address();
    const portHex = localPort.toString(16).toUpperCase().padStart(4, '0');
    const table = readFileSync(isIPv6(socket.address().address) ? '/proc/net/udp6' : '/proc/net/udp', 'utf8');
    for (const line of table.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${portHex}`)) return parseInt(cols[4]?.split(':')[1] ?? '0', 16) || 0;
    }
  } catch {
    // no /proc: nothing to wait for
  }
  return 0;
}

/** Closing discards what the kernel still queues, uncounted: read it first (bounded wait). */
async function drainThenClose(): Promise<void> {
  for (let i = 0; bound && i < 50 && kernelQueued() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  reportDrops();
  if (!bound) {
    port.postMessage({ type: 'stopped' } satisfies FromWorker);
    return;
  }
  socket.close(() => {
    flush();
    if (backlogDrops > 0 || deniedDrops > 0) {
      port.postMessage({ type: 'dropped', backlog: backlogDrops, denied: deniedDrops, kernel: 0, kernelTotal } satisfies FromWorker);
    }
    port.postMessage({ type: 'stopped' } satisfies FromWorker);
  });
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'ack') {
    pending -= m.count;
  } else if (m.type === 'stop') {
    clearInterval(dropTimer);
    void drainThenClose();
  }
});

let bound = false;
socket.bind(config.port, config.address, () => {
  bound = true;
  // A socket reused from an earlier run of ours may carry old drops: count from here.
  kernelBaseline = kernelDrops() ?? 0;
  dropTimer = setInterval(reportDrops, DROP_REPORT_MS);
  const a = socket.address();
  port.postMessage({ type: 'listening', address: a.address, port: a.port, recvBufferSize: socket.getRecvBufferSize() } satisfies FromWorker);
});
