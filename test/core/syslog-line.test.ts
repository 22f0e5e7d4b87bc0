import { describe, expect, it } from 'vitest';
import { inferYear, parsePri, parseSyslogLine } from '../../src/pipeline/syslog-line.js';

describe('syslog line parser', () => {
  const now = new Date(Date.UTC(2026, 11, 3, 16, 0, 0));

  it('parses a traditional line with host, tag and pid', () => {
    const p = parseSyslogLine('Dec  3 15:47:10 web-1 sshd[4242]: Failed password for root', { now, utc: true })!;
    expect(new Date(p.ts).toISOString()).toBe('2026-12-03T15:47:10.000Z');
    expect(p).toMatchObject({ host: 'web-1', service: 'sshd', pid: '4242', message: 'Failed password for root' });
  });

  it('parses RFC 3339 high-precision timestamps with an offset', () => {
    const p = parseSyslogLine('2026-12-03T15:47:10.123456+01:00 db-1 postgres[77]: checkpoint complete', { now })!;
    expect(new Date(p.ts).toISOString()).toBe('2026-12-03T14:47:10.123Z');
    expect(p).toMatchObject({ host: 'db-1', service: 'postgres', pid: '77', message: 'checkpoint complete' });
  });

  it('reads <PRI> as facility and severity', () => {
    expect(parsePri('<34>Oct 11 22:14:15 mymachine su: x')?.slice(0, 2)).toEqual(['auth', 'crit']);
    const p = parseSyslogLine('<13>Dec  3 15:47:10 host kernel: boom', { now, utc: true })!;
    expect(p).toMatchObject({ facility: 'user', severity: 'notice', service: 'kernel' });
  });

  it('handles a line without hostname', () => {
    const p = parseSyslogLine('Dec  3 15:47:10 sshd[1]: hello', { now, utc: true })!;
    expect(p.host).toBeUndefined();
    expect(p).toMatchObject({ service: 'sshd', pid: '1', message: 'hello' });
  });

  it('infers last year for a December line read in January', () => {
    const jan = new Date(Date.UTC(2027, 0, 2, 10));
    expect(inferYear(11, 31, jan, 0, false)).toBe(2026);
    expect(inferYear(0, 2, jan, 0, false)).toBe(2027);
    const p = parseSyslogLine('Dec 31 23:59:59 h p: x', { now: jan, utc: true })!;
    expect(new Date(p.ts).toISOString()).toBe('2026-12-31T23:59:59.000Z');
  });

  it('returns undefined for text without a header', () => {
    expect(parseSyslogLine('just some text', { now })).toBeUndefined();
    expect(parseSyslogLine('Foo  3 15:47:10 h p: x', { now })).toBeUndefined();
  });

  it('keeps the header rules at their limits (one or two spaces before the day, fraction, tag and pid lengths)', () => {
    const at = (line: string) => parseSyslogLine(line, { now, utc: true });
    expect(at('Dec 3 15:47:10 h p: x')).toMatchObject({ timestampText: 'Dec 3 15:47:10', host: 'h', message: 'x' });
    expect(new Date(at('Dec  2 15:47:10.123456 h p: x')!.ts).toISOString()).toBe('2026-12-02T15:47:10.123Z');
    expect(new Date(at('Dec 2 15:47:10.5 h p: x')!.ts).toISOString()).toBe('2026-12-02T15:47:10.500Z');
    expect(at('Dec 13 15:47:10.1234567 h p: x')).toBeUndefined(); // seven fraction digits: not this form
    expect(at('Dec 13 15:47:10. h p: x')).toBeUndefined();
    expect(at('Dec   3 15:47:10 h p: x')).toBeUndefined(); // three spaces
    expect(at('Dec 3 5:47:10 h p: x')).toBeUndefined(); // one-digit hour
    expect(at('Dex 13 15:47:10 h p: x')).toBeUndefined();
    const tag64 = 'a'.repeat(64);
    expect(at(`Dec 3 15:47:10 h ${tag64}: x`)).toMatchObject({ service: tag64, message: 'x' });
    expect(at(`Dec 3 15:47:10 h ${tag64}a: x`)).toMatchObject({ service: undefined, message: `${tag64}a: x` });
    const pid32 = '1'.repeat(32);
    expect(at(`Dec 3 15:47:10 h p[${pid32}]: x`)).toMatchObject({ service: 'p', pid: pid32, message: 'x' });
    expect(at(`Dec 3 15:47:10 h p[${pid32}1]: x`)).toMatchObject({ service: undefined, message: `p[${pid32}1]: x` });
    expect(at('Dec 3 15:47:10 h p[]: x')).toMatchObject({ service: undefined, message: 'p[]: x' });
    expect(at('Dec 3 15:47:10 h p[1]x: y')).toMatchObject({ service: undefined, message: 'p[1]x: y' });
    expect(at('Dec 3 15:47:10 h p:x')).toMatchObject({ service: 'p', message: 'x' });
    expect(at('Dec 3 15:47:10 h p:  x')).toMatchObject({ service: 'p', message: ' x' });
    expect(at('Dec 3 15:47:10 h')).toMatchObject({ host: 'h', service: undefined, message: '' });
    expect(at('Dec 3 15:47:10  x')).toMatchObject({ host: undefined, message: ' x' });
    expect(at('<-1>Dec 3 15:47:10 h p: x')).toBeUndefined(); // not a PRI, and then not a header either
  });
});
