import { describe, expect, it } from 'vitest';
import { FrameBatch, FrameDecoder, FrameList, type Frame, type Framing } from '../../plugins/syslog/framing.js';

function decode(mode: Framing, max: number, chunks: Array<string | Buffer>, end = false): Frame[] {
  const d = new FrameDecoder(mode, max);
  const out = new FrameList();
  for (const c of chunks) d.push(typeof c === 'string' ? Buffer.from(c) : c, out);
  if (end) d.end(out);
  return out.frames;
}
const texts = (frames: Frame[]) => frames.map((f) => f.data.toString());
const octet = (s: string) => `${Buffer.byteLength(s)} ${s}`;

describe('TCP framing (RFC 6587)', () => {
  it('octet-counted frames keep their newlines: one frame, one event', () => {
    const msg = '<13>1 - h a - - - line one\nline two\n';
    expect(texts(decode('auto', 1000, [octet(msg) + octet('<13>x: second')]))).toEqual([msg, '<13>x: second']);
  });

  it('newline frames, CRLF and empty lines', () => {
    expect(texts(decode('auto', 1000, ['<13>a: one\r\n<13>b: two\n\n<13>c: three\n']))).toEqual(['<13>a: one', '<13>b: two', '<13>c: three']);
  });

  it('auto decides per frame: octet-counted and newline frames mixed', () => {
    expect(texts(decode('auto', 1000, [`${octet('<13>a: one')}<13>b: two\n${octet('<13>c: three')}`]))).toEqual(['<13>a: one', '<13>b: two', '<13>c: three']);
  });

  it('a frame split at every byte boundary decodes the same', () => {
    const stream = Buffer.from(octet('<13>a: héllo\nworld') + '<13>b: two\n' + octet('<13>c: three'));
    const chunks = [...stream].map((b) => Buffer.from([b]));
    expect(texts(decode('auto', 1000, chunks))).toEqual(['<13>a: héllo\nworld', '<13>b: two', '<13>c: three']);
  });

  it('an oversized octet-counted frame is cut and flagged, and the next frame is still in sync', () => {
    const big = '<13>a: ' + 'x'.repeat(5000);
    const frames = decode('auto', 1000, [octet(big).slice(0, 700), octet(big).slice(700) + octet('<13>b: next')]);
    expect(frames).toHaveLength(2);
    expect(frames[0]!.data.length).toBe(1000);
    expect(frames[0]!.originalLength).toBe(big.length);
    expect(frames[1]!.data.toString()).toBe('<13>b: next');
    expect(frames[1]!.originalLength).toBeUndefined();
  });

  it('a huge declared length is honoured by skipping, not buffering', () => {
    const d = new FrameDecoder('octet-counting', 100);
    const list = new FrameList();
    d.push(Buffer.from('999999999 ' + 'y'.repeat(150)), list);
    const out = list.frames;
    expect(out).toHaveLength(1);
    expect(out[0]!.originalLength).toBe(999_999_999);
    expect(d.buffered).toBe(0);
  });

  it('an oversized newline frame is cut and the rest of the line discarded', () => {
    const frames = decode('newline', 100, ['<13>a: ' + 'z'.repeat(150), 'z'.repeat(200) + '\n<13>b: ok\n']);
    expect(frames.map((f) => [f.data.length, f.originalLength])).toEqual([[100, -1], [9, undefined]]);
    const complete = decode('newline', 100, ['<13>a: ' + 'z'.repeat(150) + '\n<13>b: ok\n']);
    expect(complete.map((f) => f.originalLength)).toEqual([157, undefined]);
  });

  it('newline mode does not read digits as a count', () => {
    expect(texts(decode('newline', 1000, ['12 apples\n']))).toEqual(['12 apples']);
  });

  it('auto: a line starting with digits but no count is a newline frame', () => {
    expect(texts(decode('auto', 1000, ['2026-12-03T10:00:00Z h a: m\n']))).toEqual(['2026-12-03T10:00:00Z h a: m']);
    expect(texts(decode('auto', 1000, ['12345678901234 too many digits\n']))).toEqual(['12345678901234 too many digits']);
  });

  it('strict octet-counting: a frame without a count is a protocol error', () => {
    const d = new FrameDecoder('octet-counting', 1000);
    const list = new FrameList();
    d.push(Buffer.from(octet('<13>a: ok') + 'garbage here\n'), list);
    const out = list.frames;
    expect(out.map((f) => f.error === undefined)).toEqual([true, false]);
    expect(d.protocolError).toMatch(/octet-counting expected/);
    expect(out[1]!.data.toString()).toBe('garbage here\n');
  });

  it('an incomplete frame at the end of the stream is returned, flagged', () => {
    const frames = decode('auto', 1000, ['50 <13>a: cut short'], true);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.error).toMatch(/incomplete/);
    expect(frames[0]!.data.toString()).toBe('50 <13>a: cut short');
  });

  it('NUL bytes inside frames are content', () => {
    expect(decode('auto', 1000, [octet('<13>a: x\u0000y')])[0]!.data).toEqual(Buffer.from('<13>a: x\u0000y'));
  });

  it('a FrameBatch holds the same frames as offsets into the one buffer they came in', () => {
    const stream = octet('<13>a: one\ntwo') + '<13>b: plain\n' + octet('<13>c: ' + 'x'.repeat(50)) + octet('<13>d: last');
    const list = new FrameList();
    const batch = new FrameBatch();
    new FrameDecoder('auto', 30).push(Buffer.from(stream), list);
    new FrameDecoder('auto', 30).push(Buffer.from(stream), batch);
    expect(batch.length).toBe(list.frames.length);
    const fromBatch = Array.from({ length: batch.length }, (_, i) => ({
      data: batch.buf!.subarray(batch.bounds[2 * i], batch.bounds[2 * i + 1]), ...batch.flags?.get(i),
    }));
    expect(fromBatch).toEqual(list.frames);
    expect([...batch.flags!.keys()]).toEqual([2]);
    expect(() => batch.frame(Buffer.from('other'), 0, 5)).toThrow(/more than one buffer/);
  });
});
