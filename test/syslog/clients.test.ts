// Real clients against the running daemon: util-linux `logger` over UDP and TCP in both
// formats and with octet counting, and an rsyslog instance of our own forwarding over TCP.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, freePort, logger, waitFor, type StoredEvent } from './daemon.js';

describe('real syslog clients', () => {
  let daemon: Daemon;
  let port: number;
  let all: StoredEvent[] = [];

  beforeAll(async () => {
    port = await freePort();
    daemon = new Daemon(`  - name: sys
    type: syslog
    listen:
      - { protocol: udp, port: ${port} }
      - { protocol: tcp, port: ${port} }`);
    await daemon.start(2);
  }, 60_000);

  afterAll(async () => {
    await daemon.stop();
    daemon.cleanup();
  });

  const find = async (token: string) => waitFor(`an event with ${token}`, async () => {
    all = await daemon.events();
    return all.find((e) => e.message_raw.includes(token));
  }, 20_000);

  const cases: Array<[string, string[]]> = [
    ['udp-3164', ['--udp', '--rfc3164']],
    ['udp-5424', ['--udp', '--rfc5424']],
    ['tcp-3164', ['--tcp', '--rfc3164']],
    ['tcp-5424', ['--tcp', '--rfc5424']],
    ['tcp-octet-3164', ['--tcp', '--octet-count', '--rfc3164']],
    ['tcp-octet-5424', ['--tcp', '--octet-count', '--rfc5424', '--sd-id', 'test@32473', '--sd-param', 'tok="a\\"b"', '--msgid', 'M1']],
  ];

  for (const [name, args] of cases) {
    it(`logger ${args.join(' ')}: stored with its tag, host, severity and sender`, async () => {
      const token = `tok-${name}-${Date.now()}`;
      await logger(['--server', '127.0.0.1', '--port', String(port), '-t', `app-${name}`, '-p', 'local3.warning', ...args], `hello ${token} from logger`);
      const e = await find(token);
      expect(e.parse_error).toBeNull();
      expect(e.service).toBe(`app-${name}`);
      expect(e.severity).toBe('warning');
      expect(e.facility).toBe('local3');
      expect(e.host).toBe(hostname());
      expect(e.metadata).toMatchObject({ sender: '127.0.0.1', protocol: args[0]!.slice(2), format: args.includes('--rfc3164') ? 'rfc3164' : 'rfc5424' });
      expect(e.message_raw.endsWith(`hello ${token} from logger`)).toBe(true);
      if (name === 'tcp-octet-5424') {
        expect(e.structured_fields).toMatchObject({ 'test@32473': { tok: 'a"b' }, msgid: 'M1' });
      }
    });
  }

  it('logger --octet-count: a message with newlines stays one event', async () => {
    const token = `multi-${Date.now()}`;
    await logger(['--server', '127.0.0.1', '--port', String(port), '--tcp', '--octet-count', '-t', 'multi'], `first ${token}\nsecond line\nthird line`);
    const e = await find(token);
    expect(e.message_raw.endsWith(`first ${token}\nsecond line\nthird line`)).toBe(true);
    expect(all.filter((x) => x.message_raw.includes('second line'))).toHaveLength(1);
  });
});

describe('rsyslog forwarding to brainstem over TCP with octet counting', () => {
  let daemon: Daemon;
  let rsyslog: ChildProcess | undefined;
  let rsyslogErr = '';

  afterAll(async () => {
    if (rsyslog && rsyslog.exitCode === null) {
      const exited = new Promise((r) => rsyslog!.once('exit', r));
      rsyslog.kill('SIGTERM');
      await exited;
    }
    await daemon?.stop();
    daemon?.cleanup();
  });

  it('stores exactly what rsyslog forwarded, each message once, newlines inside one event', async () => {
    const port = await freePort();
    const rsyslogPort = await freePort();
    daemon = new Daemon(`  - name: fwd
    type: syslog
    listen: [{ protocol: tcp, port: ${port} }]
    framing: octet-counting`);
    await daemon.start(1);

    const dir = join(daemon.dir, 'rsyslog');
    mkdirSync(join(dir, 'work'), { recursive: true });
    const forwardedLog = join(dir, 'forwarded.jsonl');
    const fields = ['PRI', 'TIMESTAMP:::date-rfc3339', 'HOSTNAME', 'APP-NAME', 'PROCID', 'MSGID', 'STRUCTURED-DATA', 'msg'];
    // The file gets the same properties as the forwarded frame, JSON-escaped, so the test can
    // rebuild each forwarded frame exactly (the frame itself may contain newlines).
    const jsonTemplate = `{${fields.map((f, i) => `\\"f${i}\\":\\"%${f}${f.includes(':') ? ',json' : ':::json'}%\\"`).join(',')}}\\n`;
    writeFileSync(join(dir, 'rsyslog.conf'), `
global(workDirectory="${join(dir, 'work')}" parser.escapeControlCharactersOnReceive="off" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" port="${rsyslogPort}" address="127.0.0.1")
template(name="fwd" type="string" string="<%PRI%>1 %TIMESTAMP:::date-rfc3339% %HOSTNAME% %APP-NAME% %PROCID% %MSGID% %STRUCTURED-DATA% %msg%")
template(name="asjson" type="string" string="${jsonTemplate}")
action(type="omfile" file="${forwardedLog}" template="asjson")
action(type="omfwd" target="127.0.0.1" port="${port}" protocol="tcp" tcp_framing="octet-counted" template="fwd"
       action.resumeRetryCount="-1" action.resumeInterval="1")
`);
    rsyslog = spawn('rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslog.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    rsyslog.stderr!.on('data', (d) => { rsyslogErr += d; });
    rsyslog.stdout!.on('data', (d) => { rsyslogErr += d; });
    // rsyslog is ready when its input port accepts connections
    await waitFor('rsyslog to listen', async () => {
      if (rsyslog!.exitCode !== null) throw new Error(`rsyslogd exited ${rsyslog!.exitCode}: ${rsyslogErr}`);
      try {
        await logger(['--server', '127.0.0.1', '--port', String(rsyslogPort), '--tcp', '--octet-count', '-t', 'probe'], 'probe');
        return true;
      } catch {
        return undefined;
      }
    }, 20_000);

    const N = 300;
    const tokens: string[] = [];
    for (let i = 0; i < N; i++) {
      const token = `fwd-${i}-${Math.random().toString(36).slice(2)}`;
      tokens.push(token);
      const multi = i % 50 === 7;
      const args = ['--server', '127.0.0.1', '--port', String(rsyslogPort), '--tcp', '--octet-count', '-t', `svc${i % 7}`,
        '-p', `daemon.${['err', 'info', 'notice', 'warning'][i % 4]}`];
      if (i % 10 === 3) args.push('--sd-id', 'ex@32473', '--sd-param', `n="${i}"`);
      await logger(args, multi ? `message ${token}\n  continued line` : `message ${token} with [brackets] and "quotes"`);
    }
    const stats = await daemon.settle('fwd', N + 1, 60_000); // + at least one probe
    expect(stats.dropped).toBe(0);

    // rsyslog writes its file asynchronously: wait until it holds every message stored
    const readForwarded = () => readFileSync(forwardedLog, 'utf8').trim().split('\n').map((l) => {
      const o = JSON.parse(l) as Record<string, string>;
      return `<${o.f0}>1 ${fields.slice(1).map((_, i) => o[`f${i + 1}`]).join(' ')}`;
    });
    const events = await daemon.events();
    const forwarded = await waitFor('rsyslog to write its file', () => {
      const f = readForwarded();
      return f.length >= events.length ? f : undefined;
    }, 20_000);
    const probes = events.filter((e) => e.service === 'probe').length;
    expect(probes).toBeGreaterThanOrEqual(1);
    expect(events).toHaveLength(N + probes);
    expect(forwarded).toHaveLength(N + probes);
    // exactly what rsyslog forwarded, once each (a trailing LF is transport and stripped)
    expect(events.map((e) => e.message_raw).sort()).toEqual(forwarded.map((f) => f.replace(/\n+$/, '')).sort());
    for (const token of tokens) expect(events.filter((e) => e.message_raw.includes(token)), token).toHaveLength(1);
    const multi = events.find((e) => e.message_raw.includes(tokens[7]!))!;
    expect(multi.message_raw).toContain('\n  continued line');
    expect(events.every((e) => e.parse_error === null)).toBe(true);
    expect(events.find((e) => e.message_raw.includes(tokens[3]!))!.structured_fields).toMatchObject({ 'ex@32473': { n: '3' } });
  }, 120_000);
});
