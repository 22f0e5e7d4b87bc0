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

const RE_BSD = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))? /;
const RE_ISO = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?) /;
// prog[pid]: or prog: — prog may contain / . - _ and @ (systemd units, postfix/smtpd)
const RE_TAG = /^([^\s:[\]]{1,64})(?:\[([^\]\s]{1,32})\])?: ?/;

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

/** Parse `<PRI>` at the start of a line: [facility, severity, rest] or undefined. */
export function parsePri(line: string): [string, string, string] | undefined {
  if (line.charCodeAt(0) !== 60 /* < */) return undefined;
  const close = line.indexOf('>');
  if (close < 2 || close > 4) return undefined;
  const pri = Number(line.slice(1, close));
  if (!Number.isInteger(pri) || pri > 191) return undefined;
  return [FACILITIES[pri >> 3]!, SEVERITIES[pri & 7]!, line.slice(close + 1)];
}

export interface SyslogLineOptions {
  /** Reference time for year inference; default now. */
  now?: Date;
  /** Interpret year-less timestamps in UTC instead of the local zone. */
  utc?: boolean;
}

/** Parse a syslog-formatted line; undefined when it has no recognizable header. */
export function parseSyslogLine(line: string, opts: SyslogLineOptions = {}): SyslogLine | undefined {
  let rest = line;
  let facility: string | undefined;
  let severity: string | undefined;
  const pri = parsePri(rest);
  if (pri) [facility, severity, rest] = pri;
  let ts: number;
  let timestampText: string;
  let m = RE_BSD.exec(rest);
  if (m) {
    const month = MONTHS[m[1]!];
    if (month === undefined) return undefined;
    const day = Number(m[2]);
    const tod = ((Number(m[3]) * 60 + Number(m[4])) * 60 + Number(m[5])) * 1000 + (m[6] ? Math.floor(Number(`0.${m[6]}`) * 1000) : 0);
    ts = dayStart(month, day, opts.now ?? new Date(), tod, !opts.utc) + tod;
    timestampText = m[0].trimEnd();
    rest = rest.slice(m[0].length);
  } else if ((m = RE_ISO.exec(rest))) {
    timestampText = m[1]!;
    ts = Date.parse(timestampText.replace(' ', 'T'));
    if (Number.isNaN(ts)) return undefined;
    rest = rest.slice(m[0].length);
  } else {
    return undefined;
  }
  // host: the next token, unless it already looks like the tag (`prog[pid]:` / `prog:`)
  let host: string | undefined;
  const sp = rest.indexOf(' ');
  const first = sp < 0 ? rest : rest.slice(0, sp);
  if (first && !first.endsWith(':') && !/\]:?$/.test(first)) {
    host = first;
    rest = sp < 0 ? '' : rest.slice(sp + 1);
  }
  let service: string | undefined;
  let pid: string | undefined;
  const t = RE_TAG.exec(rest);
  if (t && rest.charCodeAt(t[0].length - (t[0].endsWith(' ') ? 2 : 1)) === 58 /* : */) {
    service = t[1];
    pid = t[2];
    rest = rest.slice(t[0].length);
  }
  return { ts, timestampText, host, service, pid, facility, severity, message: rest };
}
