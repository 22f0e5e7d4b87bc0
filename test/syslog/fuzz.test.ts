// Fuzz: over 100,000 random and mutated messages over UDP and TCP against the running daemon.
// Every message that reached the daemon is accounted for: stored (parse errors included) or
// counted as dropped; the daemon keeps answering. BRAINSTEM_STRESS=1 sends ten times more.
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzMessage, rng } from '../../fixtures/syslog/generate.js';
import { Daemon, freePort, logger, waitFor } from './daemon.js';

const SCALE = process.env.BRAINSTEM_STRESS === '1' ? 10 : 1;
const UDP_COUNT = 50_000 * SCALE;
const TCP_COUNT = 52_000 * SCALE;
const MAX = 4096;

/** Send datagrams with a bounded number in flight; returns how many the OS accepted. */
async function sendUdp(port: number, count: number, seed: number): Promise<number> {
  const r = rng(seed);
  const sock = dgram.createSocket('udp4');
  let accepted = 0;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  for (let i = 0; i < count; i++) {
    let msg = fuzzMessage(r, i, MAX);
    if (msg.length > 65_000) msg = msg.subarray(0, 65_000);
    while (inFlight >= 256) await new Promise<void>((res) => { wake = res; });
    inFlight++;
    sock.send(msg, port, '127.0.0.1', (err) => {
      if (!err) accepted++;
      inFlight--;
      wake?.();
      wake = undefined;
    });
  }
  while (inFlight > 0) await new Promise<void>((res) => { wake = res; });
  sock.close();
  return accepted;
}

/**
 * One TCP connection's worth of frames: octet-counted frames of fuzz content (newlines, NULs,
 * invalid UTF-8, beyond the limit) and newline frames in between. Returns the bytes and the
 * number of events they must produce.
 */
function tcpStream(count: number, seed: number): { bytes: Buffer; events: number } {
  const r = rng(seed);
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const msg = fuzzMessage(r, i, MAX);
    if (r() < 0.2 && !msg.includes(10) && msg[0] !== undefined && msg[0] >= 0x3c && msg[0] < 0x7f && msg.length <= MAX) {
      parts.push(msg, Buffer.from('\n'));
    } else {
      parts.push(Buffer.from(`${msg.length} `), msg);
    }
  }
  return { bytes: Buffer.concat(parts), events: count };
}

async function sendTcp(port: number, bytes: Buffer, chunk: number): Promise<void> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
  for (let off = 0; off < bytes.length; off += chunk) {
    if (!sock.write(bytes.subarray(off, off + chunk))) await new Promise((res) => sock.once('drain', res));
  }
  await new Promise<void>((res) => sock.end(res));
  await new Promise((res) => sock.once('close', res));
}

describe('fuzz over UDP and TCP', () => {
  let daemon: Daemon;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    daemon = new Daemon(`  - name: fuzz
    type: syslog
    listen:
      - { protocol: udp, port: ${port} }
      - { protocol: tcp, port: ${port} }
    max_message_bytes: ${MAX}`);
    await daemon.start(2);
  }, 60_000);

  afterAll(async () => {
    await daemon.stop();
    daemon.cleanup();
  });

  it(`accounts for every one of ${UDP_COUNT + TCP_COUNT} messages and keeps answering`, async () => {
    const streams = [0, 1, 2, 3].map((k) => tcpStream(TCP_COUNT / 4 - 2, 1000 + k));
    const [udpAccepted] = await Promise.all([
      sendUdp(port, UDP_COUNT, 42),
      ...streams.map((s, k) => sendTcp(port, s.bytes, [7, 1500, 16_384, 65_536][k]!)),
    ]);
    // Truncated frames at the end of a connection and absurd octet counts: one event each.
    const specials = [
      Buffer.from('500 <13>Dec  3 10:00:00 h a: this frame is cut short'),
      Buffer.from('999999999 <13>1 - h a - - - huge declared length'),
      Buffer.from('<13>Dec  3 10:00:00 h a: newline frame without its newline'),
      Buffer.concat([Buffer.from('16 <13>a: x\u0000y'), Buffer.from([0xff, 0xfe, 0x0a, 0xc3, 0x28, 0x41]), Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x0a])]),
    ];
    for (const s of specials) await sendTcp(port, s, 3);
    const tcpEvents = streams.reduce((n, s) => n + s.events, 0) + specials.length + 1; // + the random-bytes line of the last special
    const expected = udpAccepted + tcpEvents;
    expect(expected).toBeGreaterThanOrEqual(100_000);

    const stats = await daemon.settle('fuzz', expected, 300_000);
    expect(stats.stored + stats.dropped).toBe(expected);
    expect(stats.parse_errors).toBeGreaterThan(1000);
    expect(daemon.alive).toBe(true);

    // still answering: a plain message after the storm is stored
    await logger(['--server', '127.0.0.1', '--port', String(port), '--tcp', '-t', 'after'], 'after the storm');
    await daemon.settle('fuzz', expected + 1, 30_000);

    const events = await daemon.events();
    expect(events.filter((e) => e.service === 'after')).toHaveLength(1);
    const tcp = events.filter((e) => e.metadata.protocol === 'tcp');
    expect(tcp).toHaveLength(tcpEvents + 1); // TCP is never dropped
    expect(events.filter((e) => e.metadata.protocol === 'udp').length + stats.dropped).toBe(udpAccepted);
    expect(events.filter((e) => e.metadata.truncated).length).toBeGreaterThan(100);
    expect(events.filter((e) => e.metadata.invalid_utf8).length).toBeGreaterThan(100);
    expect(events.some((e) => e.message_raw.includes('huge declared length') && e.parse_error)).toBe(true);
    expect(events.some((e) => e.message_raw.includes('this frame is cut short') && e.parse_error?.includes('incomplete'))).toBe(true);
  }, 600_000);
});
