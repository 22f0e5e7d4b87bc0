// Byte stream → lines, for one tailed file: splits on \n, tracks the byte offset after each
// line (what the checkpoint may advance to), truncates over-long lines without buffering
// them whole, and joins multiline events. Pure: no I/O, the tailer feeds it the bytes it read.

/** A complete line (or a joined multiline event) and the file offset just past it. */
export interface LineEvent {
  text: string;
  /** Byte offset right after the line's newline: where reading resumes once this line is committed. */
  end: number;
  /** Set when the line was longer than `max_line_bytes`; `originalBytes` is its full length. */
  truncated?: boolean;
  originalBytes?: number;
}

/**
 * Splits bytes into lines. Keeps at most `maxLineBytes` of the unfinished last line: the rest
 * of an over-long line is counted and skipped, so memory stays bounded whatever the input.
 */
export class LineSplitter {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** Bytes of the unfinished line so far, including the ones skipped past the limit. */
  private lineBytes = 0;

  /** @param pos the file offset of the next byte that will be pushed */
  constructor(private readonly maxLineBytes: number, public pos: number) {}

  /** True while an unfinished line (no newline yet) is held. */
  get hasPartial(): boolean {
    return this.lineBytes > 0;
  }

  /** File offset where the held partial line starts (= pos when there is none). */
  get partialStart(): number {
    return this.pos - this.lineBytes;
  }

  /** Split `buf[start, end)`, which continues the file at `pos`; complete lines go to `out`. */
  push(buf: Buffer, start: number, end: number, out: LineEvent[]): void {
    let i = start;
    while (i < end) {
      let nl = buf.indexOf(10, i);
      if (nl >= end) nl = -1;
      if (nl === -1) {
        this.hold(buf, i, end);
        this.pos += end - i;
        return;
      }
      this.pos += nl + 1 - i;
      if (this.lineBytes === 0) {
        // fast path: the whole line is inside this chunk
        const len = nl - i;
        if (len <= this.maxLineBytes) out.push({ text: stripCr(buf.toString('utf8', i, nl)), end: this.pos });
        else out.push({ text: buf.toString('utf8', i, i + this.maxLineBytes), end: this.pos, truncated: true, originalBytes: len });
      } else {
        this.hold(buf, i, nl);
        out.push(this.takeHeld());
      }
      i = nl + 1;
    }
  }

  /** Emit the held partial line as a line of its own (timeout, rotation, deletion, truncation). */
  flushPartial(out: LineEvent[]): void {
    if (this.lineBytes > 0) out.push(this.takeHeld());
  }

  /** Forget everything held and continue at `pos` (the file was truncated or replaced). */
  reset(pos: number): void {
    this.carry = [];
    this.carryBytes = 0;
    this.lineBytes = 0;
    this.pos = pos;
  }

  private hold(buf: Buffer, from: number, to: number): void {
    const len = to - from;
    this.lineBytes += len;
    const room = this.maxLineBytes - this.carryBytes;
    if (room <= 0 || len === 0) return;
    const take = Math.min(room, len);
    // copy: the caller reuses its read buffer
    this.carry.push(Buffer.from(buf.subarray(from, from + take)));
    this.carryBytes += take;
  }

  private takeHeld(): LineEvent {
    const total = this.lineBytes;
    const text = (this.carry.length === 1 ? this.carry[0]! : Buffer.concat(this.carry)).toString('utf8');
    this.carry = [];
    this.carryBytes = 0;
    this.lineBytes = 0;
    // `pos` may already include the newline (push) or not (flushPartial); either way the line ends here
    if (total > this.maxLineBytes) return { text, end: this.pos, truncated: true, originalBytes: total };
    return { text: stripCr(text), end: this.pos };
  }
}

function stripCr(s: string): string {
  return s.length > 0 && s.charCodeAt(s.length - 1) === 13 ? s.slice(0, -1) : s;
}

export interface MultilineOptions {
  /** A line matching this starts a new event; other lines continue the previous one. */
  start: RegExp;
  /** Lines per event before it is cut. */
  maxLines: number;
  /** Bytes (UTF-16 units, close enough for a cap) per joined event before it is truncated. */
  maxBytes: number;
}

/** Joins continuation lines (stack traces) to the line that started them. */
export class MultilineJoiner {
  private lines: string[] = [];
  private count = 0;
  private bytes = 0;
  private end = 0;
  private truncated = false;
  private originalBytes = 0;

  constructor(private readonly opts: MultilineOptions) {}

  /** True while an event is being collected (it is not emitted, so the checkpoint stays before it). */
  get pending(): boolean {
    return this.count > 0;
  }

  add(line: LineEvent, out: LineEvent[]): void {
    if (this.count > 0 && this.opts.start.test(line.text)) this.flush(out);
    if (line.truncated) this.truncated = true;
    this.originalBytes += (line.originalBytes ?? line.text.length) + (this.count > 0 ? 1 : 0);
    const room = this.opts.maxBytes - this.bytes;
    if (room > 0) {
      const text = line.text.length > room ? line.text.slice(0, room) : line.text;
      if (text.length < line.text.length) this.truncated = true;
      this.lines.push(text);
      this.bytes += text.length + 1;
    } else {
      this.truncated = true;
    }
    this.count++;
    this.end = line.end;
    if (this.count >= this.opts.maxLines) this.flush(out);
  }

  flush(out: LineEvent[]): void {
    if (this.count === 0) return;
    const text = this.lines.length === 1 ? this.lines[0]! : this.lines.join('\n');
    out.push(this.truncated ? { text, end: this.end, truncated: true, originalBytes: this.originalBytes } : { text, end: this.end });
    this.lines = [];
    this.count = 0;
    this.bytes = 0;
    this.truncated = false;
    this.originalBytes = 0;
  }
}
