// TCP syslog framing (RFC 6587): octet-counting (`LEN SP MSG`) and newline-delimited frames,
// chosen per frame in `auto` mode. Pure and incremental: bytes in, frames out. Oversized frames
// are cut to maxBytes and the rest skipped by count, so the frames after them stay in sync.

export type Framing = 'auto' | 'octet-counting' | 'newline';

export interface FrameFlags {
  /** Length as sent when the frame was cut to maxBytes (-1: unknown, the line had no end yet). */
  originalLength?: number;
  /** Set when the bytes are not a well-formed frame (stream ended mid-frame, bad octet count). */
  error?: string;
}

export interface Frame extends FrameFlags {
  data: Buffer;
}

/** Where a decoder puts the frames it finds: `buf[start, end)` is one frame's bytes. */
export interface FrameSink {
  frame(buf: Buffer, start: number, end: number, flags?: FrameFlags): void;
}

/** Frames as objects, each with its own view of the bytes (tests, and anything not hot). */
export class FrameList implements FrameSink {
  readonly frames: Frame[] = [];
  frame(buf: Buffer, start: number, end: number, flags?: FrameFlags): void {
    this.frames.push({ data: buf.subarray(start, end), ...flags });
  }
}

/**
 * The frames of one read as offsets into the buffer they arrived in: no object per frame, and
 * the bytes stay outside the JS heap until they are parsed. All frames of one `push` (or `end`)
 * come from one buffer, so a batch holds one.
 */
export class FrameBatch implements FrameSink {
  buf: Buffer | undefined;
  /** start, end of frame i at [2i], [2i + 1]. */
  readonly bounds: number[] = [];
  /** Frame index → flags, for the few frames that have any. */
  flags: Map<number, FrameFlags> | undefined;

  get length(): number {
    return this.bounds.length >> 1;
  }

  frame(buf: Buffer, start: number, end: number, flags?: FrameFlags): void {
    if (this.buf === undefined) this.buf = buf;
    else if (this.buf !== buf) throw new Error('FrameBatch: frames from more than one buffer');
    if (flags) (this.flags ??= new Map()).set(this.bounds.length >> 1, flags);
    this.bounds.push(start, end);
  }
}

/** Longest MSG-LEN we read: 10 digits exceeds any sane frame; more is garbage, not a count. */
const MAX_LEN_DIGITS = 10;

export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of an oversized octet-counted frame still to skip. */
  private skip = 0;
  /** An oversized newline frame: discard up to the next LF. */
  private discardLine = false;
  /** Set once the stream cannot be framed any more (strict octet-counting saw no count). */
  protocolError: string | undefined;

  constructor(private readonly mode: Framing, private readonly maxBytes: number) {}

  /** Bytes waiting for the rest of their frame. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Feed bytes; complete frames go to `out`, all from one buffer. */
  push(chunk: Buffer, out: FrameSink): void {
    if (this.protocolError) return;
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, len - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      if (this.discardLine) {
        const lf = buf.indexOf(10, pos);
        if (lf < 0) {
          pos = len;
          break;
        }
        this.discardLine = false;
        pos = lf + 1;
        continue;
      }
      const c = buf[pos]!;
      if (c === 10 || c === 13 || (c === 0 && this.mode !== 'newline')) {
        pos++; // stray separators between frames
        continue;
      }
      const octet = this.octetHeader(buf, pos);
      if (octet === 'more') break;
      if (octet === 'error') {
        this.protocolError = `octet-counting expected (LEN SP MSG), got ${JSON.stringify(buf.subarray(pos, pos + 16).toString('latin1'))}`;
        out.frame(buf, pos, pos + Math.min(len - pos, this.maxBytes), { error: this.protocolError });
        pos = len;
        break;
      }
      if (octet) {
        const [msgLen, start] = octet;
        if (msgLen <= this.maxBytes) {
          if (start + msgLen > len) break;
          out.frame(buf, start, start + msgLen);
          pos = start + msgLen;
        } else {
          if (start + this.maxBytes > len) break;
          out.frame(buf, start, start + this.maxBytes, { originalLength: msgLen });
          this.skip = msgLen - this.maxBytes;
          pos = start + this.maxBytes;
        }
        continue;
      }
      const lf = buf.indexOf(10, pos);
      if (lf >= 0 && lf - pos <= this.maxBytes) {
        const end = lf > pos && buf[lf - 1] === 13 ? lf - 1 : lf;
        out.frame(buf, pos, end);
        pos = lf + 1;
      } else if (lf >= 0) {
        out.frame(buf, pos, pos + this.maxBytes, { originalLength: lf - pos });
        pos = lf + 1;
      } else if (len - pos > this.maxBytes) {
        out.frame(buf, pos, pos + this.maxBytes, { originalLength: -1 });
        this.discardLine = true;
        pos += this.maxBytes;
      } else {
        break;
      }
    }
    // Copy the tail: a subarray would keep the whole chunk alive.
    this.pending = pos >= len ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
  }

  /** The stream ended: whatever is left is an incomplete frame, still worth storing. */
  end(out: FrameSink): void {
    if (this.pending.length > 0 && !this.protocolError) {
      out.frame(this.pending, 0, Math.min(this.pending.length, this.maxBytes), {
        error: 'incomplete frame at end of connection',
        ...(this.pending.length > this.maxBytes ? { originalLength: -1 } : {}),
      });
    }
    this.pending = Buffer.alloc(0);
  }

  /**
   * [MSG-LEN, index of MSG] when the frame at `pos` is octet-counted; false for a newline
   * frame; 'more' when the bytes so far cannot tell; 'error' in strict mode without a count.
   */
  private octetHeader(buf: Buffer, pos: number): [number, number] | false | 'more' | 'error' {
    if (this.mode === 'newline') return false;
    const strict = this.mode === 'octet-counting';
    const first = buf[pos]!;
    if (first < 49 || first > 57) return strict ? 'error' : false;
    let n = 0;
    let i = pos;
    for (; i < buf.length && i - pos <= MAX_LEN_DIGITS; i++) {
      const c = buf[i]!;
      if (c === 32) return i - pos <= MAX_LEN_DIGITS ? [n, i + 1] : strict ? 'error' : false;
      if (c < 48 || c > 57) return strict ? 'error' : false;
      n = n * 10 + (c - 48);
    }
    if (i - pos > MAX_LEN_DIGITS) return strict ? 'error' : false;
    return 'more';
  }
}
