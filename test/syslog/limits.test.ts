// Limits against the running daemon: stalling and garbage TCP peers are cut off while others go
// on, max_connections, allowed_sources, oversized datagrams, and TLS with and without client auth.
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, freePort, waitFor, type StoredEvent } from './daemon.js';

const octet = (s: string) => `${Buffer.byteLength(s)} ${s}`;

function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** Connect, optionally write, and resolve when the server closes the connection. */
function closedByServer(sock: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    sock.on('error', () => {});
    sock.once('close', () => resolve());
  });
}

async function connect(port: number): Promise<net.Socket> {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => {});
  await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
  return sock;
}

describe('limits', () => {
  let daemon: Daemon;
  const ports: Record<string, number> = {};
  let certDir: string;
  let server: { cert: string; key: string };
  let client: { cert: string; key: string };

  beforeAll(async () => {
    for (const k of ['lim', 'strict', 'deny', 'tls', 'mtls']) ports[k] = await freePort();
    certDir = mkdtempSync(join(tmpdir(), 'brainstem-syslog-tls-'));
    server = selfSigned(certDir, 'server');
    client = selfSigned(certDir, 'client');
    daemon = new Daemon(`  - name: lim
    type: syslog
    listen: [{ protocol: tcp, port: ${ports.lim} }, { protocol: udp, port: ${ports.lim} }]
    idle_timeout: 1s
    max_message_bytes: 1000
  - name: strict
    type: syslog
    listen: [{ protocol: tcp, port: ${ports.strict} }]
    framing: octet-counting
    max_connections: 2
  - name: deny
    type: syslog
    listen: [{ protocol: tcp, port: ${ports.deny} }, { protocol: udp, port: ${ports.deny} }]
    allowed_sources: [10.0.0.0/8, "fd00::/8"]
  - name: tls
    type: syslog
    listen: [{ protocol: tls, port: ${ports.tls}, cert: ${server.cert}, key: ${server.key} }]
  - name: mtls
    type: syslog
    listen: [{ protocol: tls, port: ${ports.mtls}, cert: ${server.cert}, key: ${server.key}, ca: ${client.cert}, client_auth: true }]`);
    await daemon.start(7);
  }, 60_000);

  afterAll(async () => {
    await daemon.stop();
    daemon.cleanup();
    rmSync(certDir, { recursive: true, force: true });
  });

  const eventsOf = async (connector: string, n: number): Promise<StoredEvent[]> => waitFor(`${n} events of ${connector}`, async () => {
    const ev = (await daemon.events()).filter((e) => e.connector === connector);
    return ev.length >= n ? ev : undefined;
  }, 20_000);

  it('disconnects a stalling peer after idle_timeout, storing its partial frame; another peer is unaffected', async () => {
    const staller = await connect(ports.lim!);
    const closed = closedByServer(staller);
    staller.write('<13>Dec  3 10:00:00 h stall: half a frame');
    const other = await connect(ports.lim!);
    other.write('<13>Dec  3 10:00:00 h other: a whole frame\n');
    await closed;
    other.destroy();
    const ev = await eventsOf('lim', 2);
    expect(ev.find((e) => e.service === 'other')?.parse_error).toBeNull();
    const stalled = ev.find((e) => e.message_raw.includes('half a frame'))!;
    expect(stalled.parse_error).toMatch(/incomplete frame/);
  });

  it('refuses connections beyond max_connections and keeps serving the others', async () => {
    const a = await connect(ports.strict!);
    const b = await connect(ports.strict!);
    // both accepted: each gets a message through
    a.write(octet('<13>Dec  3 10:00:00 h conn-a: first'));
    b.write(octet('<13>Dec  3 10:00:00 h conn-b: first'));
    await waitFor('both connections served', async () => {
      const ev = await daemon.events();
      return ev.some((e) => e.service === 'conn-a') && ev.some((e) => e.service === 'conn-b') ? true : undefined;
    }, 20_000);
    const c = net.connect(ports.strict!, '127.0.0.1');
    await closedByServer(c);
    a.write(octet('<13>Dec  3 10:00:00 h conn-a2: still served'));
    await waitFor('the message of a kept connection', async () => (await daemon.events()).find((e) => e.service === 'conn-a2'), 20_000);
    a.destroy();
    b.destroy();
  });

  it('disconnects a peer that sends binary garbage, after storing what it sent', async () => {
    const peer = await connect(ports.lim!);
    const closed = closedByServer(peer);
    const garbage = Buffer.concat(Array.from({ length: 150 }, (_, i) => Buffer.from([0xff, 0xfe, 0x80 + (i % 50), 0x00, 0x0a])));
    peer.write(garbage);
    await closed;
    const ev = await eventsOf('lim', 150);
    expect(ev.filter((e) => e.metadata.invalid_utf8 && e.parse_error).length).toBeGreaterThanOrEqual(100);
  });

  it('strict octet-counting: a peer without counts is disconnected; its frames before are stored', async () => {
    const peer = await connect(ports.strict!);
    const closed = closedByServer(peer);
    peer.write(`${octet('<13>Dec  3 10:00:00 h good: counted frame')}this is not counted\n`);
    await closed;
    const ev = await eventsOf('strict', 5);
    expect(ev.find((e) => e.service === 'good')?.parse_error).toBeNull();
    expect(ev.find((e) => e.message_raw.includes('not counted'))?.parse_error).toMatch(/octet-counting expected/);
  });

  it('allowed_sources: refuses TCP and counts UDP from other addresses as dropped', async () => {
    const sock = net.connect(ports.deny!, '127.0.0.1');
    await closedByServer(sock);
    const udp = dgram.createSocket('udp4');
    for (let i = 0; i < 5; i++) await new Promise((r) => udp.send('<13>Dec  3 10:00:00 h denied: x', ports.deny!, '127.0.0.1', r));
    udp.close();
    const stats = await daemon.settle('deny', 5, 20_000);
    expect(stats.dropped).toBe(5);
    expect(stats.stored).toBe(0);
  });

  it('datagrams from one sender and port share their stored metadata; another port has its own', async () => {
    const a = dgram.createSocket('udp4');
    const b = dgram.createSocket('udp4');
    for (let i = 0; i < 5; i++) await new Promise((r) => a.send(`<13>Dec  3 10:00:0${i} h sharedudp: from a ${i}`, ports.lim!, '127.0.0.1', r));
    await new Promise((r) => b.send('<13>Dec  3 10:00:09 h sharedudp: from b', ports.lim!, '127.0.0.1', r));
    await new Promise((r) => a.send('<165>1 2026-12-03T10:00:00Z h sharedudp - - - from a as 5424', ports.lim!, '127.0.0.1', r));
    const portA = a.address().port; // bound by the first send
    const portB = b.address().port;
    a.close();
    b.close();
    const events = await waitFor('the datagrams', async () => {
      const ev = (await daemon.events()).filter((e) => e.service === 'sharedudp');
      return ev.length === 7 ? ev : undefined;
    }, 20_000);
    for (const e of events) {
      expect(e.metadata).toMatchObject({ sender: '127.0.0.1', protocol: 'udp', sender_port: /from b/.test(e.message_raw) ? portB : portA });
      expect(e.metadata.format).toBe(/5424/.test(e.message_raw) ? 'rfc5424' : 'rfc3164');
    }
    // the first datagram of a pair has its own; the rest of a's share one row per format
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(daemon.dir, 'b.db'), { readonly: true });
    const shared = db.prepare(`SELECT m.json, count(*) AS n FROM events e JOIN event_metadata m ON m.id = e.metadata_id
      WHERE e.message_raw LIKE '%sharedudp%' GROUP BY m.id ORDER BY n DESC`).all() as Array<{ json: string; n: number }>;
    db.close();
    expect(shared.map((r) => [JSON.parse(r.json).format, JSON.parse(r.json).sender_port, r.n])).toEqual([['rfc3164', portA, 4], ['rfc5424', portA, 1]]);
  });

  it('cuts an oversized datagram to max_message_bytes and flags it', async () => {
    const udp = dgram.createSocket('udp4');
    const big = `<13>Dec  3 10:00:00 h bigudp: ${'y'.repeat(3000)}`;
    await new Promise((r) => udp.send(big, ports.lim!, '127.0.0.1', r));
    udp.close();
    const e = await waitFor('the big datagram', async () => (await daemon.events()).find((x) => x.service === 'bigudp'), 20_000);
    expect(e.message_raw).toHaveLength(1000);
    expect(e.metadata).toMatchObject({ truncated: true, original_length: big.length, protocol: 'udp' });
  });

  it('receives over TLS', async () => {
    const sock = tls.connect({ port: ports.tls!, host: '127.0.0.1', ca: readFileSync(server.cert), servername: 'localhost' });
    await new Promise<void>((res, rej) => sock.once('secureConnect', res).once('error', rej));
    sock.end(octet('<13>1 - tlshost tlsapp - - - over tls'));
    const e = await waitFor('the TLS message', async () => (await daemon.events()).find((x) => x.service === 'tlsapp'), 20_000);
    expect(e.host).toBe('tlshost');
    expect(e.metadata).toMatchObject({ protocol: 'tls', sender: '127.0.0.1' });
  });

  it('client_auth: refuses a client without a certificate, accepts one signed by ca', async () => {
    const anon = tls.connect({ port: ports.mtls!, host: '127.0.0.1', ca: readFileSync(server.cert), servername: 'localhost' });
    anon.on('error', () => {});
    anon.write(octet('<13>1 - h anon - - - should not be stored'));
    await new Promise((r) => anon.once('close', r));
    const authed = tls.connect({
      port: ports.mtls!, host: '127.0.0.1', ca: readFileSync(server.cert), servername: 'localhost',
      cert: readFileSync(client.cert), key: readFileSync(client.key),
    });
    await new Promise<void>((res, rej) => authed.once('secureConnect', res).once('error', rej));
    authed.end(octet('<13>1 - h authed - - - with a client certificate'));
    await waitFor('the mTLS message', async () => (await daemon.events()).find((x) => x.service === 'authed'), 20_000);
    expect((await daemon.events()).some((x) => x.service === 'anon')).toBe(false);
  });
});
