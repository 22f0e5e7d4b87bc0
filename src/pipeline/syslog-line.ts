// Parser for syslog-formatted lines as they appear in files and simple streams:
//   [<PRI>]Dec  3 15:47:10 host prog[pid]: message          (traditional, RFC 3164 style)
//   [<PRI>]2026-12-03T15:47:10.123456+01:00 host prog[pid]: message   (rsyslog high precision)
// The network receiver (plugins/syslog) has its own full RFC 3164/5424 parser; this one is the
// pipeline's fallback for lines whose connector did not split the header.
import { SEVERITIES } from './classify.js';

export const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv',
  'ftp', 'ntp', 'security', 'console', 'solaris-cron', 'local0', 'local1', 'local2', 'local3',
  'local4', 'local5', 'local6', 'local7',
] as const;

const MONTHS: Record<string, number> = {
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
};

export interface SyslogLine {
  /** Epoch milliseconds. */
  ts: number;
  /** The timestamp text as written. */
  timestampText: string;
  host?: string;
  service?: string;
  pid?: string;
  facility?: string;
  severity?: string;
  /** The message after `prog[pid]: `. */
  message: string;
}

const RE_ISO = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?) /;

/**
 * Infer the year of a year-less timestamp: the latest year in which the date is not more than
 * a day in the future of `now` (a December line read in January belongs to last year).
 */
export function inferYear(month: number, day: number, now: Date, timeOfDayMs: number, local = true): number {
  const year = local ? now.getFullYear() : now.getUTCFullYear();
  const candidate = local ? new Date(year, month, day).getTime() + timeOfDayMs : Date.UTC(year, month, day) + timeOfDayMs;
  return candidate - now.getTime() > 86_400_000 ? year - 1 : year;
}

/**
 * Midnight of the inferred year's `month`/`day`, in the local zone or UTC. Lines of a batch share
 * `now` and mostly their date, so the last answer is kept: building local-time Dates per line was
 * a tenth of the header parse.
 */
let memo = { now: NaN, month: -1, day: -1, local: false, thisYear: 0, lastYear: 0 };
function dayStart(month: number, day: number, now: Date, timeOfDayMs: number, local: boolean): number {
  const t = now.getTime();
  if (memo.now !== t || memo.month !== month || memo.day !== day || memo.local !== local) {
    const year = local ? now.getFullYear() : now.getUTCFullYear();
    const at = (y: number) => (local ? new Date(y, month, day).getTime() : Date.UTC(y, month, day));
    memo = { now: t, month, day, local, thisYear: at(year), lastYear: at(year - 1) };
  }
  // inferYear's rule: not more than a day in the future of now
  return memo.thisYear + timeOfDayMs - t > 86_400_000 ? memo.lastYear : memo.thisYear;
}

/** The PRI value of a `<PRI>` at the start of a line, or -1; its end (after `>`) in `priEnd`. */
let priEnd = 0;
function scanPri(line: string): number {
  if (line.charCodeAt(0) !== 60 /* < */) return -1;
  const close = line.indexOf('>');
  if (close < 2 || close > 4) return -1;
  const pri = Number(line.slice(1, close));
  if (!Number.isInteger(pri) || pri < 0 || pri > 191) return -1;
  priEnd = close + 1;
  return pri;
}

/** Parse `<PRI>` at the start of a line: [facility, severity, rest] or undefined. */
export function parsePri(line: string): [string, string, string] | undefined {
  const pri = scanPri(line);
  return pri < 0 ? undefined : [FACILITIES[pri >> 3]!, SEVERITIES[pri & 7]!, line.slice(priEnd)];
}

export interface SyslogLineOptions {
  /** Reference time for year inference; default now. */
  now?: Date;
  /** Interpret year-less timestamps in UTC instead of the local zone. */
  utc?: boolean;
}

/** Month index by the three character codes of its name (`Dec` → 11). */
const MONTH_CODES = new Map(Object.entries(MONTHS).map(([name, i]) => [(name.charCodeAt(0) << 16) | (name.charCodeAt(1) << 8) | name.charCodeAt(2), i]));

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** `\s` of a regular expression. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a)
    || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Two digits at `i` as a number, or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i);
  const b = s.charCodeAt(i + 1);
  return isDigit(a) && isDigit(b) ? (a - 48) * 10 + (b - 48) : -1;
}

/** Where a header field ends, and what it held: written by the scanners below (no allocation per line). */
const scan = { end: 0, month: 0, day: 0, tod: 0 };

/**
 * `Mmm dd hh:mm:ss[.ffffff] ` at `i` (the RE_BSD form: one or two spaces before the day, up to six
 * fraction digits, a space after): fills `scan` and returns true. Scanned by hand: the regular
 * expression and its captures were most of the header parse's time and allocation.
 */
function scanBsdTime(s: string, i: number): boolean {
  const c0 = s.charCodeAt(i);
  const c1 = s.charCodeAt(i + 1);
  const c2 = s.charCodeAt(i + 2);
  if (!(c0 >= 65 && c0 <= 90 && c1 >= 97 && c1 <= 122 && c2 >= 97 && c2 <= 122) || s.charCodeAt(i + 3) !== 32) return false;
  const month = MONTH_CODES.get((c0 << 16) | (c1 << 8) | c2);
  if (month === undefined) return false;
  let j = i + 4;
  if (s.charCodeAt(j) === 32) j++;
  if (!isDigit(s.charCodeAt(j))) return false;
  let day = s.charCodeAt(j++) - 48;
  if (isDigit(s.charCodeAt(j))) day = day * 10 + s.charCodeAt(j++) - 48;
  if (s.charCodeAt(j) !== 32) return false;
  const h = twoDigits(s, j + 1);
  const m = s.charCodeAt(j + 3) === 58 ? twoDigits(s, j + 4) : -1;
  const sec = s.charCodeAt(j + 6) === 58 ? twoDigits(s, j + 7) : -1;
  if (h < 0 || m < 0 || sec < 0) return false;
  j += 9;
  let ms = 0;
  if (s.charCodeAt(j) === 46 /* . */) {
    let k = j + 1;
    let scale = 100;
    while (k - j <= 6 && isDigit(s.charCodeAt(k))) {
      ms += (s.charCodeAt(k) - 48) * scale;
      scale /= 10;
      k++;
    }
    if (k === j + 1 || k - j > 7) return false;
    ms = Math.floor(ms);
    j = k;
  }
  if (s.charCodeAt(j) !== 32) return false;
  scan.end = j;
  scan.month = month;
  scan.day = day;
  scan.tod = ((h * 60 + m) * 60 + sec) * 1000 + ms;
  return true;
}

/** Parse a syslog-formatted line; undefined when it has no recognizable header. */
export function parseSyslogLine(line: string, opts: SyslogLineOptions = {}): SyslogLine | undefined {
  let pos = 0;
  let facility: string | undefined;
  let severity: string | undefined;
  const pri = scanPri(line);
  if (pri >= 0) {
    facility = FACILITIES[pri >> 3];
    severity = SEVERITIES[pri & 7];
    pos = priEnd;
  }
  let ts: number;
  let timestampText: string;
  if (scanBsdTime(line, pos)) {
    ts = dayStart(scan.month, scan.day, opts.now ?? new Date(), scan.tod, !opts.utc) + scan.tod;
    timestampText = line.slice(pos, scan.end);
    pos = scan.end + 1;
  } else {
    const m = RE_ISO.exec(pos === 0 ? line : line.slice(pos));
    if (!m) return undefined;
    timestampText = m[1]!;
    ts = Date.parse(timestampText.replace(' ', 'T'));
    if (Number.isNaN(ts)) return undefined;
    pos += m[0].length;
  }
  // host: the next token, unless it already looks like the tag (`prog[pid]:` / `prog:`)
  let host: string | undefined;
  let sp = line.indexOf(' ', pos);
  if (sp < 0) sp = line.length;
  if (sp > pos) {
    const last = line.charCodeAt(sp - 1);
    if (last !== 58 /* : */ && last !== 93 /* ] */) {
      host = line.slice(pos, sp);
      pos = Math.min(sp + 1, line.length);
    }
  }
  // tag: prog[pid]: or prog: (RE_TAG: 1–64 characters other than space, `:`, `[`, `]`; a pid of 1–32)
  let service: string | undefined;
  let pid: string | undefined;
  let j = pos;
  for (let c = line.charCodeAt(j); j < line.length && j - pos <= 64 && !(isSpace(c) || c === 58 || c === 91 || c === 93); c = line.charCodeAt(++j));
  if (j > pos && j - pos <= 64) {
    let k = j;
    let pidEnd = -1;
    if (line.charCodeAt(k) === 91 /* [ */) {
      k++;
      for (let c = line.charCodeAt(k); k < line.length && k - j <= 33 && c !== 93 && !isSpace(c); c = line.charCodeAt(++k));
      if (k > j + 1 && k - j <= 33 && line.charCodeAt(k) === 93) {
        pidEnd = k;
        k++;
      } else k = -1;
    }
    if (k >= 0 && line.charCodeAt(k) === 58 /* : */) {
      service = line.slice(pos, j);
      if (pidEnd >= 0) pid = line.slice(j + 1, pidEnd);
      pos = line.charCodeAt(k + 1) === 32 ? k + 2 : k + 1;
    }
  }
  return { ts, timestampText, host, service, pid, facility, severity, message: pos === 0 ? line : line.slice(pos) };
}
