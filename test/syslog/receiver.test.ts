// The connector in-process (TCP only: the UDP receiver is a Worker that needs the built .js and
// is covered by the daemon tests): config defaults, README examples, TCP backpressure.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { silentLogger } from '../../src/log/logger.js';
import type { ConnectorContext, EnvelopeList, RawEnvelope } from '../../src/plugin/contract.js';
import plugin, { syslogSchema } from '../../plugins/syslog/index.js';
import type { SyslogReceiver } from '../../plugins/syslog/receiver.js';
import { waitFor } from './daemon.js';

function fakeContext(emit: (envs: RawEnvelope[] | EnvelopeList) => Promise<void>, gauges: Record<string, number> = {}): ConnectorContext {
  return {
    name: 'sys', tenantId: 't', logger: silentLogger(), checkpoint: undefined,
    signal: new AbortController().signal, dataDir: tmpdir(),
    metrics: { dropped: () => {}, gauge: (name, value) => { gauges[name] = value; } },
    emit, reportError: () => {}, clearError: () => {},
  };
}

describe('syslog config', () => {
  it('defaults to 127.0.0.1:5514 over UDP and TCP — never a wildcard address', () => {
    const c = syslogSchema.parse({});
    expect(c.listen.map((l) => `${l.protocol}:${l.address}:${l.port}`)).toEqual(['udp:127.0.0.1:5514', 'tcp:127.0.0.1:5514']);
    expect(syslogSchema.parse({ listen: [{ protocol: 'tcp' }] }).listen[0]!.address).toBe('127.0.0.1');
    expect(c).toMatchObject({ format: 'auto', framing: 'auto', max_message_bytes: 65536, udp_receive_buffer_bytes: 8 * 1024 * 1024 });
  });

  it('rejects what cannot work, saying why', () => {
    const bad = (v: unknown) => syslogSchema.safeParse(v).error?.issues.map((i) => i.message).join('; ');
    expect(bad({ listen: [{ protocol: 'tls' }] })).toMatch(/cert and key/);
    expect(bad({ allowed_sources: ['10.0.0.0/33'] })).toMatch(/invalid prefix/);
    expect(bad({ allowed_sources: ['not-an-ip'] })).toMatch(/not an IP/);
    expect(bad({ timezone: 'Mars/Olympus' })).toMatch(/timezone/);
    expect(bad({ idle_timeout: 'soon' })).toMatch(/duration/);
    expect(bad({ port: 514 })).toBeTruthy(); // unknown key (port belongs in listen)
    expect(syslogSchema.parse({ idle_timeout: '5m' }).idle_timeout).toBe(300);
  });

  it('every example in the README is a valid config', () => {
    const readme = readFileSync(new URL('../../plugins/syslog/README.md', import.meta.url), 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    let connectors = 0;
    for (const block of blocks) {
      const doc = parseYaml(block) as { connectors?: Array<Record<string, unknown>> };
      for (const { name, type, ...options } of doc.connectors ?? []) {
        expect(type).toBe('syslog');
        expect(name).toBeTruthy();
        const r = syslogSchema.safeParse(options);
        expect(r.error?.issues, JSON.stringify(options)).toBeUndefined();
        connectors++;
      }
    }
    expect(connectors).toBeGreaterThanOrEqual(3);
  });
});

describe('TCP backpressure', () => {
  it('stops reading a socket while emits are pending, and loses nothing once they complete', async () => {
    const held: Array<() => void> = [];
    let received = 0;
    let hold = true;
    const ctx = fakeContext((envs) => {
      received += envs.length;
      return hold ? new Promise<void>((r) => held.push(r)) : Promise.resolve();
    });
    // idle_timeout 1 s: a socket paused by backpressure must not count as an idle peer
    const receiver = plugin.create(syslogSchema.parse({ listen: [{ protocol: 'tcp', port: 0 }], idle_timeout: 1 }) as never, ctx) as SyslogReceiver;
    await receiver.start();
    const port = receiver.bound[0]!.port;
    const total = 400_000;
    const line = (i: number) => `<13>Dec  3 10:00:00 host app[1]: message number ${i} with some padding text\n`;
    const client = net.connect(port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    let written = 0;
    const writeAll = (async () => {
      for (let i = 0; i < total; i += 1000) {
        let chunk = '';
        for (let j = i; j < i + 1000; j++) chunk += line(j);
        written += 1000;
        if (!client.write(chunk)) await new Promise((r) => client.once('drain', r));
      }
      client.end();
    })();

    await waitFor('the receiver to pause', () => {
      const sockets = (receiver as unknown as { sockets: Set<net.Socket> }).sockets;
      const s = [...sockets][0];
      return s?.isPaused() ? true : undefined;
    }, 30_000);
    // paused with most of the stream still unread: the sender is held back, not buffered in memory
    expect(received).toBeLessThan(total / 2);
    expect(written).toBeLessThan(total);
    // stay paused for more than two idle periods: the connection must survive it
    await new Promise((r) => setTimeout(r, 2500));
    expect(client.destroyed).toBe(false);

    hold = false;
    for (const r of held.splice(0)) r();
    await writeAll;
    await waitFor('every message', () => (received === total ? true : undefined), 60_000);
    await receiver.stop();
    expect(received).toBe(total);
  }, 120_000);
});

/** What an emit hands over, made as the pipeline would make it. */
const made = (envs: RawEnvelope[] | EnvelopeList): RawEnvelope[] => Array.from({ length: envs.length }, (_, i) => envs.at(i)!);

async function sendLines(port: number, from: number, n: number): Promise<void> {
  const client = net.connect(port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  let chunk = '';
  for (let i = from; i < from + n; i++) chunk += `<13>Dec  3 10:00:00 host app[1]: message number ${i}\n`;
  await new Promise<void>((r) => client.end(chunk, () => r()));
}

const numbers = (envs: RawEnvelope[]) => envs.map((e) => Number(/number (\d+)/.exec(e.messageRaw)![1]));

describe('TCP messages wait as bytes', () => {
  it('a rejected emit is parsed again from the bytes and retried: each message stored once, in order', async () => {
    const stored: RawEnvelope[] = [];
    let failures = 1;
    const receiver = plugin.create(syslogSchema.parse({ listen: [{ protocol: 'tcp', port: 0 }] }) as never, fakeContext(async (envs) => {
      if (failures-- > 0) throw new Error('batch behind a failed commit');
      stored.push(...made(envs));
    })) as SyslogReceiver;
    await receiver.start();
    await sendLines(receiver.bound[0]!.port, 0, 500);
    await waitFor('every message', () => (stored.length >= 500 ? true : undefined), 10_000);
    await receiver.stop();
    expect(numbers(stored)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(stored[0]).toMatchObject({ host: 'host', service: 'app', metadata: { protocol: 'tcp', sender: '127.0.0.1' } });
  });

  it('stop() emits what was received and not yet emitted before it returns', async () => {
    const held: Array<() => void> = [];
    const stored: RawEnvelope[] = [];
    const gauges: Record<string, number> = {};
    const receiver = plugin.create(syslogSchema.parse({ listen: [{ protocol: 'tcp', port: 0 }] }) as never, fakeContext((envs) => {
      return new Promise<void>((resolve) => held.push(() => {
        stored.push(...made(envs));
        resolve();
      }));
    }, gauges)) as SyslogReceiver;
    await receiver.start();
    const port = receiver.bound[0]!.port;
    // two peers, 30,000 messages: more than the receiver hands the pipeline at once (20,000), each
    // peer under its own pause mark; what does not fit waits, unparsed, until emits complete
    await Promise.all([sendLines(port, 0, 15_000), sendLines(port, 15_000, 15_000)]);
    await waitFor('a backlog', () => (gauges.tcp_backlog! >= 8_000 ? true : undefined), 10_000);
    let stopped = false;
    const stopping = receiver.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(false);
    while (!stopped) {
      for (const release of held.splice(0)) release();
      await new Promise((r) => setTimeout(r, 10));
    }
    await stopping;
    expect(stored).toHaveLength(30_000);
    expect(new Set(numbers(stored)).size).toBe(30_000);
    expect(gauges.tcp_backlog).toBe(0);
  });
});
