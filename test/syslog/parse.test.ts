import { describe, expect, it } from 'vitest';
import { parseSyslog, type ParseOptions } from '../../plugins/syslog/parse.js';
import { instantWithoutYear, wallClockIn } from '../../plugins/syslog/zone.js';
import { buildEnvelope, decodeMessage } from '../../plugins/syslog/envelope.js';
import { canonicalize } from '../../src/pipeline/canonicalize.js';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const utc: ParseOptions = { format: 'auto', now: NOW, wallClock: wallClockIn('UTC') };
const parse = (text: string, o: Partial<ParseOptions> = {}) => parseSyslog(text, { ...utc, ...o });
const BOM = '\uFEFF';

describe('RFC 5424 — the RFC\'s own examples (§6.5)', () => {
  it('example 1: no structured data, BOM before the message', () => {
    const p = parse(`<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ${BOM}'su root' failed for lonvick on /dev/pts/8`);
    expect(p).toMatchObject({
      format: 'rfc5424', facility: 'auth', severity: 'crit', timestamp: '2003-10-11T22:14:15.003Z',
      hostname: 'mymachine.example.com', appName: 'su', msgid: 'ID47',
      message: "'su root' failed for lonvick on /dev/pts/8",
    });
    expect(p.error).toBeUndefined();
    expect(p.structuredData).toBeUndefined();
  });

  it('example 2: microseconds and a negative offset, no MSGID', () => {
    const p = parse('<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It\'s time to make the do-nuts.');
    expect(p).toMatchObject({
      facility: 'local4', severity: 'notice', hostname: '192.0.2.1', appName: 'myproc', procid: '8710',
      message: "%% It's time to make the do-nuts.",
    });
    expect(p.msgid).toBeUndefined();
    expect(Date.parse(p.timestamp as string)).toBe(Date.UTC(2003, 7, 24, 12, 14, 15, 0));
  });

  it('example 3: structured data and a message', () => {
    const p = parse(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ${BOM}An application event log entry...`);
    expect(p.structuredData).toEqual({ 'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' } });
    expect(p.message).toBe('An application event log entry...');
    expect(p.appName).toBe('evntslog');
  });

  it('example 4: two SD elements and no message', () => {
    const p = parse('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]');
    expect(p.structuredData).toEqual({
      'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
      'examplePriority@32473': { class: 'high' },
    });
    expect(p.message).toBe('');
    expect(p.error).toBeUndefined();
  });

  it('accepts the valid TIMESTAMP examples of §6.2.3.1 and rejects the invalid ones of §6.2.3.2', () => {
    for (const ts of ['1985-04-12T23:20:50.52Z', '1985-04-12T19:20:50.52-04:00', '2003-10-11T22:14:15.003Z', '2003-08-24T05:14:15.000003-07:00']) {
      expect(parse(`<13>1 ${ts} h a - - - m`).error, ts).toBeUndefined();
    }
    for (const ts of ['1985-04-12T23:20:50.52', '2003-08-24T05:14:15.000000003-07:00', '2003-10-11t22:14:15.003z', '2003-13-11T22:14:15Z']) {
      const p = parse(`<13>1 ${ts} h a - - - m`);
      expect(p.error, ts).toMatch(/TIMESTAMP/);
      expect(p.message).toBe(`<13>1 ${ts} h a - - - m`);
      expect(p.severity).toBe('notice'); // the PRI is still read
    }
  });
});

describe('RFC 5424 edge cases', () => {
  it('NILVALUE everywhere', () => {
    const p = parse('<14>1 - - - - - -');
    expect(p).toMatchObject({ format: 'rfc5424', message: '' });
    expect([p.timestamp, p.hostname, p.appName, p.procid, p.msgid, p.structuredData]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(p.error).toBeUndefined();
  });

  it('unescapes \\" \\\\ and \\] in PARAM-VALUE and keeps other backslashes', () => {
    const p = parse('<14>1 - h app - - [x@1 a="q\\"uote" b="back\\\\slash" c="br\\]acket" d="C:\\path\\n"] msg');
    expect(p.structuredData).toEqual({ 'x@1': { a: 'q"uote', b: 'back\\slash', c: 'br]acket', d: 'C:\\path\\n' } });
    expect(p.message).toBe('msg');
  });

  it('a value may contain ] and spaces inside quotes; a repeated param becomes a list', () => {
    const p = parse('<14>1 - h app - - [x@1 ip="1.2.3.4" ip="5.6.7.8" t="a ] b"] m');
    expect(p.structuredData).toEqual({ 'x@1': { ip: ['1.2.3.4', '5.6.7.8'], t: 'a ] b' } });
  });

  it('malformed structured data is a parse error with the raw text kept', () => {
    for (const sd of ['[x@1 a="unterminated] m', '[x@1 a=noquote] m', '[] m', '[x@1 a="1"', 'garbage m']) {
      const text = `<14>1 - h app - - ${sd}`;
      const p = parse(text);
      expect(p.error, sd).toMatch(/RFC 5424/);
      expect(p.message).toBe(text);
    }
  });

  it('missing fields are a parse error', () => {
    expect(parse('<14>1 2003-10-11T22:14:15Z host').error).toMatch(/missing HOSTNAME/);
    expect(parse('<14>1 2003-10-11T22:14:15Z host app').error).toMatch(/missing APP-NAME/);
  });

  it('format rfc5424 rejects RFC 3164 text; rfc3164 reads a 5424 line as 3164', () => {
    expect(parse('<34>Oct 11 22:14:15 mymachine su: hi', { format: 'rfc5424' }).error).toMatch(/not RFC 5424/);
    expect(parse('<14>1 - h app - - - m', { format: 'rfc3164' }).format).toBe('rfc3164');
  });
});

describe('RFC 3164 — the RFC\'s own examples (§5.4)', () => {
  it('example 1', () => {
    const p = parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
    expect(p).toMatchObject({
      format: 'rfc3164', facility: 'auth', severity: 'crit', hostname: 'mymachine', appName: 'su',
      message: "'su root' failed for lonvick on /dev/pts/8", timestamp: Date.UTC(2026, 9, 11, 22, 14, 15),
    });
  });

  it('example 2: no PRI and no header is not syslog — kept whole, flagged', () => {
    const p = parse('Use the BFG!');
    expect(p.error).toMatch(/no <PRI>/);
    expect(p.message).toBe('Use the BFG!');
  });

  it('example 3: a zone and a year after the time', () => {
    const p = parse("<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK");
    expect(p).toMatchObject({ hostname: 'mymachine', appName: 'myproc', pid: '10', facility: 'local4', severity: 'notice' });
    expect(p.timestamp).toBe(Date.UTC(1987, 7, 24, 5, 34, 0));
    expect(p.message).toBe("%% It's time to make the do-nuts.  %%  Ingredients: Mix=OK");
  });

  it('example 4: year first and a TZ-6 zone', () => {
    const p = parse("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!");
    expect(p).toMatchObject({ facility: 'kern', severity: 'emerg', hostname: 'scapegoat.dmz.example.org' });
    expect(p.timestamp).toBe(Date.UTC(1990, 9, 22, 16, 52, 1));
    expect(p.message).toBe("10.1.2.3 sched[0]: That's All Folks!");
  });
});

describe('RFC 3164 deviations', () => {
  it('missing hostname: the token is the tag', () => {
    const p = parse('<13>Dec  3 10:00:00 sshd[42]: Accepted publickey');
    expect(p).toMatchObject({ appName: 'sshd', pid: '42', message: 'Accepted publickey' });
    expect(p.hostname).toBeUndefined();
  });

  it('tag without pid, slash and dots in tags', () => {
    expect(parse('<22>Dec  3 10:00:00 mail postfix/smtpd[77]: connect from x').appName).toBe('postfix/smtpd');
    expect(parse('<30>Dec  3 10:00:00 h systemd: Started foo.service.').appName).toBe('systemd');
  });

  it('no tag: the rest is the message', () => {
    const p = parse('<13>Dec  3 10:00:00 host just some words');
    expect(p).toMatchObject({ hostname: 'host', message: 'just some words' });
    expect(p.appName).toBeUndefined();
  });

  it('PRI and tag but no timestamp (some embedded senders)', () => {
    const p = parse('<13>myapp: started');
    expect(p).toMatchObject({ format: 'rfc3164', appName: 'myapp', message: 'started' });
    expect(p.timestamp).toBeUndefined();
  });

  it('no PRI but a header (a line from a file sent over the wire)', () => {
    const p = parse('Dec  3 10:00:00 web1 nginx: up');
    expect(p).toMatchObject({ hostname: 'web1', appName: 'nginx', message: 'up' });
    expect(p.facility).toBeUndefined();
  });

  it('Cisco IOS: sequence number, *timestamp with millis and colon, %mnemonic', () => {
    const p = parse('<189>52: *Mar  1 00:00:12.123: %LINK-3-UPDOWN: Interface FastEthernet0/0, changed state to up');
    expect(p).toMatchObject({
      facility: 'local7', severity: 'notice', sequence: '52', appName: 'LINK',
      mnemonic: 'LINK-3-UPDOWN', message: '%LINK-3-UPDOWN: Interface FastEthernet0/0, changed state to up',
    });
    expect(p.timestamp).toBe(Date.UTC(2026, 2, 1, 0, 0, 12, 123));
  });

  it('Cisco IOS with origin-id hostname and a UTC zone', () => {
    const p = parse('<187>120: core-sw1: Dec  2 23:59:59 UTC: %SYS-5-CONFIG_I: Configured from console', { wallClock: wallClockIn('+05:00') });
    expect(p).toMatchObject({ hostname: 'core-sw1', sequence: '120', appName: 'SYS' });
    expect(p.timestamp).toBe(Date.UTC(2026, 11, 2, 23, 59, 59));
  });

  it('Cisco ASA: `host : %ASA-…` with a year', () => {
    const p = parse('<166>Dec 03 2026 10:00:00 asa1 : %ASA-6-302013: Built inbound TCP connection');
    expect(p).toMatchObject({ hostname: 'asa1', appName: 'ASA', mnemonic: 'ASA-6-302013', message: '%ASA-6-302013: Built inbound TCP connection' });
    expect(p.timestamp).toBe(Date.UTC(2026, 11, 3, 10, 0, 0));
  });

  it('ISO timestamps (rsyslog high precision), with and without a zone', () => {
    const p = parse('<30>2026-12-03T10:00:00.123456+01:00 web1 app[1]: hi');
    expect(p).toMatchObject({ hostname: 'web1', appName: 'app', pid: '1', message: 'hi', timestamp: '2026-12-03T10:00:00.123456+01:00' });
    expect(parse('<30>2026-12-03T10:00:00 web1 app: hi', { wallClock: wallClockIn('+02:00') }).timestamp).toBe(Date.UTC(2026, 11, 3, 8, 0, 0));
  });

  it('an upper-case 3-letter hostname is not mistaken for a zone', () => {
    expect(parse('<13>Dec  3 10:00:00 FOO sshd: x').hostname).toBe('FOO');
  });

  it('an out-of-range PRI or a bad date is not a header', () => {
    expect(parse('<192>Dec  3 10:00:00 h a: m').error).toMatch(/no <PRI>/);
    expect(parse('<13>Foo  3 10:00:00 h a: m').timestamp).toBeUndefined();
  });

  it('empty and blank messages are parse errors', () => {
    expect(parse('').error).toBe('empty message');
    expect(parse('   ').error).toBe('empty message');
  });
});

describe('year inference and time zones', () => {
  it('a December message received in January belongs to last year', () => {
    const now = Date.UTC(2027, 0, 2, 8, 0, 0);
    expect(parse('<13>Dec 31 23:00:00 h a: m', { now }).timestamp).toBe(Date.UTC(2026, 11, 31, 23, 0, 0));
  });

  it('a January 1st message received on December 31st (sender clock ahead) belongs to next year', () => {
    const now = Date.UTC(2026, 11, 31, 23, 59, 0);
    expect(parse('<13>Jan  1 00:00:30 h a: m', { now }).timestamp).toBe(Date.UTC(2027, 0, 1, 0, 0, 30));
  });

  it('a message from earlier today stays in this year', () => {
    expect(parse('<13>Dec  3 09:00:00 h a: m').timestamp).toBe(Date.UTC(2026, 11, 3, 9, 0, 0));
  });

  it('reads wall clock in an IANA zone, across DST', () => {
    const berlin = wallClockIn('Europe/Berlin');
    expect(berlin(2026, 0, 15, 12 * 3_600_000)).toBe(Date.UTC(2026, 0, 15, 11)); // CET +1
    expect(berlin(2026, 6, 15, 12 * 3_600_000)).toBe(Date.UTC(2026, 6, 15, 10)); // CEST +2
    expect(wallClockIn('-03:30')(2026, 0, 1, 0)).toBe(Date.UTC(2026, 0, 1, 3, 30));
    expect(() => wallClockIn('Mars/Olympus')).toThrow();
  });

  it('instantWithoutYear picks the latest year not more than a day ahead', () => {
    const wall = wallClockIn('UTC');
    expect(instantWithoutYear(wall, 5, 1, 0, Date.UTC(2026, 4, 31))).toBe(Date.UTC(2026, 5, 1));
    expect(instantWithoutYear(wall, 5, 3, 0, Date.UTC(2026, 4, 31))).toBe(Date.UTC(2025, 5, 3));
  });
});

describe('envelope', () => {
  const receipt = { sender: '192.0.2.7', senderPort: 514, protocol: 'udp' as const };

  it('maps a 5424 message onto the envelope, host from the message', () => {
    const env = buildEnvelope(Buffer.from('<165>1 2003-10-11T22:14:15.003Z mymachine evntslog 99 ID47 [ex@1 a="b"] hello\n'), receipt, utc);
    expect(env).toEqual({
      messageRaw: '<165>1 2003-10-11T22:14:15.003Z mymachine evntslog 99 ID47 [ex@1 a="b"] hello',
      message: 'hello', host: 'mymachine', service: 'evntslog', severity: 'notice', facility: 'local4',
      timestamp: '2003-10-11T22:14:15.003Z',
      structuredFields: { 'ex@1': { a: 'b' }, procid: '99', msgid: 'ID47' },
      metadata: { sender: '192.0.2.7', sender_port: 514, protocol: 'udp', format: 'rfc5424' },
    });
  });

  it('host falls back to the sender address; pid goes to structured fields', () => {
    const env = buildEnvelope(Buffer.from('<13>Dec  3 10:00:00 sshd[42]: hi'), receipt, utc);
    expect(env).toMatchObject({ host: '192.0.2.7', service: 'sshd', structuredFields: { pid: '42' }, message: 'hi' });
  });

  it('unparseable text is kept raw with parseError, and without a body', () => {
    const env = buildEnvelope(Buffer.from('hello world'), receipt, utc);
    expect(env.parseError).toMatch(/not syslog/);
    expect(env.messageRaw).toBe('hello world');
    expect(env.message).toBeUndefined();
    expect(env.metadata).toMatchObject({ sender: '192.0.2.7' });
  });

  it('invalid UTF-8 is flagged and the exact bytes kept', () => {
    const bytes = Buffer.concat([Buffer.from('<13>Dec  3 10:00:00 h a: bad '), Buffer.from([0xff, 0xfe, 0x00, 0x41])]);
    const env = buildEnvelope(bytes, receipt, utc);
    expect(env.metadata).toMatchObject({ invalid_utf8: true, raw_base64: bytes.toString('base64') });
    expect(env.message).toBe('bad \uFFFD\uFFFD\u0000A');
    expect(decodeMessage(Buffer.from('ok \uFFFD literal')).invalidUtf8).toBe(false);
  });

  it('truncation and framing errors are recorded', () => {
    const env = buildEnvelope(Buffer.from('<13>Dec  3 10:00:00 h a: cut'), { ...receipt, originalLength: 99999, framingError: 'incomplete frame at end of connection' }, utc);
    expect(env.metadata).toMatchObject({ truncated: true, original_length: 99999 });
    expect(env.parseError).toBe('incomplete frame at end of connection');
  });

  it('a connection\'s messages share one frozen metadata object per format, and its JSON is stored right', () => {
    const conn = { sender: '192.0.2.8', senderPort: 40000, protocol: 'tcp' as const, persistent: true };
    const a = buildEnvelope(Buffer.from('<13>Dec  3 10:00:00 h a: one'), conn, utc);
    const b = buildEnvelope(Buffer.from('<13>Dec  3 10:00:01 h a[7]: two'), conn, utc);
    const c = buildEnvelope(Buffer.from('<165>1 2003-10-11T22:14:15.003Z h app - - - three'), conn, utc);
    expect(a.metadata).toBe(b.metadata);
    expect(Object.isFrozen(a.metadata)).toBe(true);
    expect(c.metadata).not.toBe(a.metadata);
    expect(c.metadata).toEqual({ sender: '192.0.2.8', sender_port: 40000, protocol: 'tcp', format: 'rfc5424' });
    // a truncated or undecodable message still gets its own, with what happened to it
    const cut = buildEnvelope(Buffer.from('<13>Dec  3 10:00:00 h a: cut'), { ...conn, originalLength: 99999, persistent: false }, utc);
    expect(cut.metadata).toMatchObject({ sender: '192.0.2.8', truncated: true });
    expect(a.metadata).not.toHaveProperty('truncated');
    for (const env of [a, b, c]) {
      const { event } = canonicalize(env, { connector: 's', tenantId: 't', sourceType: 'syslog', now: Date.UTC(2026, 11, 3, 16), utc: true });
      // the shared metadata is stored once, apart from the event's own fields
      expect(event.metadataJson).toBe(JSON.stringify(env.metadata));
      const ingest = JSON.parse(JSON.stringify(event.ingestMetadata));
      expect(event.fieldsJson === null ? {} : JSON.parse(event.fieldsJson!)).toEqual({
        ...(event.structuredFields && { structured_fields: event.structuredFields }),
        ...(Object.keys(ingest).length > 0 && { ingest_metadata: ingest }),
      });
    }
  });
});

describe('header fields with control or non-ASCII characters', () => {
  it('RFC 5424: a HOSTNAME with a NUL or non-ASCII is a parse error', () => {
    expect(parse('<14>1 - ho\u0000st app - - - m').error).toMatch(/HOSTNAME is not printable/);
    expect(parse('<14>1 - hôst app - - - m').error).toMatch(/HOSTNAME is not printable/);
  });

  it('RFC 3164: such a token is not taken for the hostname', () => {
    const p = parse('<13>Dec  3 10:00:00 ho\u0000st app: m');
    expect(p.hostname).toBeUndefined();
    expect(p.message).toBe('ho\u0000st app: m');
  });
});
