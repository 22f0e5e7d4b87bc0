// The pure parts of the file connector: line splitting with offsets, truncation, multiline
// joining, JSON field mapping and glob roots.
import { describe, expect, it } from 'vitest';
import { fromJson, toEnvelope } from '../../plugins/file/envelope.js';
import { LineSplitter, MultilineJoiner, type LineEvent } from '../../plugins/file/lines.js';
import { jsonFieldsSchema } from '../../plugins/file/options.js';
import { PathMatcher } from '../../plugins/file/paths.js';

function split(chunks: string[], max = 1000, start = 0): { lines: LineEvent[]; s: LineSplitter } {
  const s = new LineSplitter(max, start);
  const lines: LineEvent[] = [];
  for (const c of chunks) {
    const b = Buffer.from(c);
    s.push(b, 0, b.length, lines);
  }
  return { lines, s };
}

describe('LineSplitter', () => {
  it('gives each line the offset just past its newline, across chunk boundaries', () => {
    const { lines, s } = split(['ab\ncd', 'e\n\nf\r\n', 'gh'], 1000, 10);
    expect(lines).toEqual([
      { text: 'ab', end: 13 },
      { text: 'cde', end: 17 },
      { text: '', end: 18 },
      { text: 'f', end: 21 },
    ]);
    expect(s.hasPartial).toBe(true);
    expect(s.partialStart).toBe(21);
    expect(s.pos).toBe(23);
    const out: LineEvent[] = [];
    s.flushPartial(out);
    expect(out).toEqual([{ text: 'gh', end: 23 }]);
  });

  it('keeps only max bytes of an over-long line, split over many chunks, and flags it', () => {
    const { lines } = split(['0123456789', 'abcdefghij', 'XYZ\nok\n'], 16);
    expect(lines[0]).toEqual({ text: '0123456789abcdef', end: 24, truncated: true, originalBytes: 23 });
    expect(lines[1]).toEqual({ text: 'ok', end: 27 });
  });

  it('only looks at the pushed range of a reused buffer', () => {
    const s = new LineSplitter(100, 0);
    const buf = Buffer.from('abc\nSTALE\n');
    const out: LineEvent[] = [];
    s.push(buf, 0, 6, out);
    expect(out).toEqual([{ text: 'abc', end: 4 }]);
    expect(s.pos).toBe(6);
  });
});

describe('MultilineJoiner', () => {
  it('appends continuation lines to the event they follow and keeps the last end offset', () => {
    const j = new MultilineJoiner({ start: /^\S/, maxLines: 10, maxBytes: 1000 });
    const out: LineEvent[] = [];
    for (const [text, end] of [['Error: x', 9], ['  at a', 16], ['  at b', 23], ['next', 28]] as const) j.add({ text, end }, out);
    expect(out).toEqual([{ text: 'Error: x\n  at a\n  at b', end: 23 }]);
    expect(j.pending).toBe(true);
    j.flush(out);
    expect(out[1]).toEqual({ text: 'next', end: 28 });
  });

  it('cuts an event that grows past max bytes and flags it', () => {
    const j = new MultilineJoiner({ start: /^E/, maxLines: 100, maxBytes: 10 });
    const out: LineEvent[] = [];
    j.add({ text: 'E12345', end: 7 }, out);
    j.add({ text: ' 678901234', end: 18 }, out);
    j.flush(out);
    expect(out[0]!.truncated).toBe(true);
    expect(out[0]!.text.length).toBeLessThanOrEqual(11);
    expect(out[0]!.end).toBe(18);
  });
});

describe('JSON lines', () => {
  const fields = jsonFieldsSchema.parse({});
  it('maps message, timestamp, host, service and severity, and keeps the rest as structured fields', () => {
    const env = fromJson('{"time":"2026-01-02T03:04:05Z","msg":"disk full","hostname":"db1","app":"pg","level":50,"dev":"/dev/sda"}', fields);
    expect(env).toMatchObject({
      message: 'disk full', timestamp: '2026-01-02T03:04:05Z', host: 'db1', service: 'pg', severity: 'err',
      structuredFields: { dev: '/dev/sda' }, messageFormat: 'message',
    });
  });

  it('uses the configured field names', () => {
    const custom = jsonFieldsSchema.parse({ message: 'text', severity: 'prio' });
    expect(fromJson('{"text":"hi","prio":"warning","message":"other"}', custom)).toMatchObject({
      message: 'hi', severity: 'warning', structuredFields: { message: 'other' },
    });
  });

  it('keeps a line that is not a JSON object, with a parse error', () => {
    expect(fromJson('not json', fields)).toMatchObject({ messageRaw: 'not json', parseError: expect.stringContaining('not JSON') });
    expect(fromJson('[1,2]', fields).parseError).toBe('not a JSON object');
  });

  it('overrides host and service and flags truncation in metadata', () => {
    const env = toEnvelope({ text: 'x', end: 2, truncated: true, originalBytes: 99 }, '/l/a.log', { format: 'syslog', jsonFields: fields, host: 'h', service: 's' });
    expect(env).toEqual({ messageRaw: 'x', messageFormat: 'syslog', sourceType: 'file', sourcePath: '/l/a.log', host: 'h', service: 's', metadata: { truncated: true, original_bytes: 99 } });
  });
});

describe('PathMatcher', () => {
  it('watches the static base of each glob, as deep as the glob reaches', () => {
    const m = new PathMatcher(['/var/log/*.log', '/srv/**/app.log', '/var/log/syslog'], ['/var/log/debug*.log']);
    expect(m.roots.map((r) => [r.dir, r.depth])).toEqual([['/var/log', 0], ['/srv', undefined], ['/var/log', 0]]);
    expect(m.matches('/var/log/kern.log')).toBe(true);
    expect(m.matches('/var/log/debug1.log')).toBe(false);
    expect(m.matches('/srv/a/b/app.log')).toBe(true);
    expect(m.matches('/var/log/syslog')).toBe(true);
    expect(m.matches('/var/log/syslog.1')).toBe(false);
    expect(m.watchDepth).toBeUndefined();
  });
});
