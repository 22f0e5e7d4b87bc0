// Pure parser for one de-framed syslog message: RFC 5424 (strict where the RFC is
// unambiguous) and RFC 3164 with the deviations real senders make (no PRI, no hostname,
// Cisco sequence numbers and `*Mar  1 …:` timestamps, ISO timestamps, `host :` separators).
import { SEVERITIES } from '../../src/pipeline/classify.js';
import { FACILITIES } from '../../src/pipeline/syslog-line.js';
import { instantWithoutYear, type WallClock } from './zone.js';

export type SyslogFormat = 'auto' | 'rfc3164' | 'rfc5424';

/** RFC 5424 structured data: SD-ID → params; a param given more than once becomes an array. */
export type StructuredData = Record<string, Record<string, string | string[]>>;

export interface ParsedSyslog {
  /** Which grammar matched; undefined when nothing did. */
  format?: 'rfc5424' | 'rfc3164';
  facility?: string;
  severity?: string;
  /** ISO 8601 text as sent (RFC 5424, ISO in 3164) or epoch ms computed from a BSD timestamp. */
  timestamp?: string | number;
  hostname?: string;
  /** RFC 5424 APP-NAME or the RFC 3164 tag. */
  appName?: string;
  procid?: string;
  msgid?: string;
  /** RFC 3164 `tag[pid]`. */
  pid?: string;
  structuredData?: StructuredData;
  /** Cisco-style `%FAC-SEV-MNEMONIC` and sequence number, when present. */
  mnemonic?: string;
  sequence?: string;
  /** The body with the header removed (the whole text when parsing failed). */
  message: string;
  /** Why the text is not a syslog message of the expected format. */
  error?: string;
}

export interface ParseOptions {
  format: SyslogFormat;
  /** Receipt time (epoch ms), for year inference. */
  now: number;
  /** Converter for RFC 3164 wall-clock timestamps without zone. */
  wallClock: WallClock;
}

const MONTHS: Record<string, number> = {
  jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11,
};

/** `<PRI>` → [facility, severity, index after '>'], or undefined. */
function readPri(text: string): [string, string, number] | undefined {
  if (text.charCodeAt(0) !== 60 /* < */) return undefined;
  let pri = 0;
  let i = 1;
  for (; i < 5 && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 62 /* > */) break;
    if (c < 48 || c > 57) return undefined;
    pri = pri * 10 + (c - 48);
  }
  if (i === 1 || text.charCodeAt(i) !== 62 || pri > 191) return undefined;
  return [FACILITIES[pri >> 3]!, SEVERITIES[pri & 7]!, i + 1];
}

export function parseSyslog(text: string, opts: ParseOptions): ParsedSyslog {
  if (text.trim() === '') return { message: text, error: 'empty message' };
  const pri = readPri(text);
  if (opts.format !== 'rfc3164' && pri && isRfc5424Version(text, pri[2])) {
    return parseRfc5424(text, pri);
  }
  if (opts.format === 'rfc5424') {
    const why = pri ? 'no RFC 5424 VERSION after PRI' : 'no <PRI> at start';
    return { message: text, facility: pri?.[0], severity: pri?.[1], error: `not RFC 5424: ${why}` };
  }
  return parseRfc3164(text, pri, opts);
}

function isRfc5424Version(text: string, at: number): boolean {
  let i = at;
  const c0 = text.charCodeAt(i);
  if (c0 < 49 || c0 > 57) return false;
  while (i < at + 3 && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  return text.charCodeAt(i) === 32;
}

// ---------------------------------------------------------------- RFC 5424

// TIME-SECFRAC is 1*6DIGIT: RFC 5424 §6.2.3.2 names nanoseconds as its invalid example.
const RE_5424_TS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-](\d{2}):(\d{2}))$/;

function fail(text: string, pri: [string, string, number], error: string): ParsedSyslog {
  return { message: text, facility: pri[0], severity: pri[1], error: `RFC 5424: ${error}` };
}

function parseRfc5424(text: string, pri: [string, string, number]): ParsedSyslog {
  let pos = text.indexOf(' ', pri[2]) + 1; // after VERSION
  const fields: string[] = [];
  for (const name of ['TIMESTAMP', 'HOSTNAME', 'APP-NAME', 'PROCID', 'MSGID']) {
    const end = text.indexOf(' ', pos);
    if (end < 0 || end === pos) return fail(text, pri, `missing ${name}`);
    fields.push(text.slice(pos, end));
    pos = end + 1;
  }
  const [ts, hostname, appName, procid, msgid] = fields as [string, string, string, string, string];
  for (let i = 1; i < 5; i++) {
    if (!isPrintUsAscii(fields[i]!)) return fail(text, pri, `${['', 'HOSTNAME', 'APP-NAME', 'PROCID', 'MSGID'][i]} is not printable US-ASCII`);
  }
  let timestamp: string | undefined;
  if (ts !== '-') {
    const m = RE_5424_TS.exec(ts);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 12 || Number(m[3]) < 1 || Number(m[3]) > 31 || Number(m[4]) > 23
      || Number(m[5]) > 59 || Number(m[6]) > 60 || (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59))
      || Number.isNaN(Date.parse(ts))) {
      return fail(text, pri, `invalid TIMESTAMP ${JSON.stringify(ts.slice(0, 40))}`);
    }
    timestamp = ts;
  }
  let structuredData: StructuredData | undefined;
  if (text.charCodeAt(pos) === 45 /* - */ && (pos + 1 === text.length || text.charCodeAt(pos + 1) === 32)) {
    pos += 1;
  } else if (text.charCodeAt(pos) === 91 /* [ */) {
    const sd = readStructuredData(text, pos);
    if (typeof sd === 'string') return fail(text, pri, sd);
    structuredData = sd.data;
    pos = sd.end;
  } else {
    return fail(text, pri, 'missing STRUCTURED-DATA');
  }
  // A space separates SD from MSG; be lenient when a sender glued them together.
  if (text.charCodeAt(pos) === 32) pos++;
  let message = text.slice(pos);
  if (message.charCodeAt(0) === 0xfeff) message = message.slice(1); // BOM: the MSG is UTF-8
  const nil = (s: string) => (s === '-' ? undefined : s);
  return {
    format: 'rfc5424', facility: pri[0], severity: pri[1], timestamp,
    hostname: nil(hostname), appName: nil(appName), procid: nil(procid), msgid: nil(msgid),
    structuredData, message,
  };
}

/** RFC 5424 header fields are PRINTUSASCII (%d33-126). */
function isPrintUsAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/** Parse `[id k="v" …][…]` from `start`; the data and the index after it, or an error text. */
export function readStructuredData(text: string, start: number): { data: StructuredData; end: number } | string {
  const data: StructuredData = {};
  let pos = start;
  while (text.charCodeAt(pos) === 91 /* [ */) {
    pos++;
    const idEnd = scanName(text, pos);
    if (idEnd === pos) return `empty SD-ID at ${pos}`;
    const id = text.slice(pos, idEnd);
    const params: Record<string, string | string[]> = data[id] ?? {};
    data[id] = params;
    pos = idEnd;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 93 /* ] */) {
        pos++;
        break;
      }
      if (c !== 32) return `expected ' ' or ']' in SD element ${JSON.stringify(id)}`;
      pos++;
      const nameEnd = scanName(text, pos);
      if (nameEnd === pos || text.charCodeAt(nameEnd) !== 61 /* = */ || text.charCodeAt(nameEnd + 1) !== 34 /* " */) {
        return `malformed SD-PARAM in ${JSON.stringify(id)}`;
      }
      const name = text.slice(pos, nameEnd);
      pos = nameEnd + 2;
      let value = '';
      let from = pos;
      for (;;) {
        if (pos >= text.length) return `unterminated PARAM-VALUE in ${JSON.stringify(id)}`;
        const v = text.charCodeAt(pos);
        if (v === 92 /* \ */) {
          const next = text.charCodeAt(pos + 1);
          // Only \" \\ \] are escapes; any other backslash is kept as written (RFC 5424 §6.3.3).
          if (next === 34 || next === 92 || next === 93) {
            value += text.slice(from, pos);
            from = pos + 1;
            pos += 2;
            continue;
          }
        } else if (v === 34) {
          break;
        }
        pos++;
      }
      value += text.slice(from, pos);
      pos++; // closing quote
      const prev = params[name];
      params[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
  }
  return { data, end: pos };
}

/** End of an SD-NAME: printable ASCII except '=', ' ', ']', '"'. */
function scanName(text: string, pos: number): number {
  let i = pos;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c >= 127 || c === 61 || c === 93 || c === 34) break;
  }
  return i;
}

// ---------------------------------------------------------------- RFC 3164

// `Mmm dd [yyyy ]hh:mm:ss[.frac][ TZ][ yyyy][:]`, optionally led by Cisco's `*` (clock not
// synced) or `.`, or by a year (`1990 Oct 22 …`, RFC 3164's own example of a deviation).
// Groups: 1 year first, 2 month, 3 day, 4 year, 5-7 h:m:s, 8 fraction, 9 zone, 10 year last.
const RE_BSD = /^[*.]?(?:(\d{4}) )?([A-Za-z]{3}) {1,2}(\d{1,2}) (?:(\d{4}) )?(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?: (TZ[+-]\d{1,2}|UTC|GMT|[CEMP][SD]T|CES?T|EES?T|WES?T|BST|IST|JST|KST|HKT|SGT|MSK|AES?[DT]T?|NZ[SD]T))?(?: (\d{4}))?:?(?: |$)/;
const RE_ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(Z|[+-]\d{2}:?\d{2})?:?(?: |$)/;
const RE_SEQUENCE = /^(\d{1,10}): /;
// Cisco `logging origin-id`: `router1: *Mar  1 …` — a hostname before the timestamp.
const RE_ORIGIN = /^([A-Za-z0-9][\w.-]{0,254}): (?=[*.]?[A-Za-z]{3} {1,2}\d)/;
// `tag[pid]:` or `tag:` — tags contain / . - _ @ (postfix/smtpd, systemd units).
const RE_TAG = /^([^\s:[\]]{1,64})(?:\[([^\]\s]{0,64})\])?:(?: |$)/;
const RE_MNEMONIC = /^%([A-Z0-9_]+)-(\d)-([A-Z0-9_]+)/;

function parseRfc3164(text: string, pri: [string, string, number] | undefined, opts: ParseOptions): ParsedSyslog {
  let rest = pri ? text.slice(pri[2]) : text;
  const out: ParsedSyslog = { format: 'rfc3164', facility: pri?.[0], severity: pri?.[1], message: '' };
  const seq = RE_SEQUENCE.exec(rest);
  if (seq) {
    out.sequence = seq[1];
    rest = rest.slice(seq[0].length);
  }
  const origin = RE_ORIGIN.exec(rest);
  if (origin) {
    out.hostname = origin[1];
    rest = rest.slice(origin[0].length);
  }
  let hasTimestamp = false;
  let m = RE_BSD.exec(rest);
  if (m) {
    const month = MONTHS[m[2]!.toLowerCase()];
    const day = Number(m[3]);
    const [h, mi, s] = [Number(m[5]), Number(m[6]), Number(m[7])];
    if (month !== undefined && day >= 1 && day <= 31 && h <= 23 && mi <= 59 && s <= 60) {
      const msOfDay = ((h * 60 + mi) * 60 + s) * 1000 + (m[8] ? Math.floor(Number(`0.${m[8]}`) * 1000) : 0);
      const wall = zoneOf(m[9], opts.wallClock);
      const year = m[1] ?? m[4] ?? m[10];
      out.timestamp = year ? wall(Number(year), month, day, msOfDay) : instantWithoutYear(wall, month, day, msOfDay, opts.now);
      hasTimestamp = true;
      rest = rest.slice(m[0].length);
    }
  } else if ((m = RE_ISO.exec(rest))) {
    const t = m[2] ? Date.parse(m[1]! + m[2]) : isoInZone(m[1]!, opts.wallClock);
    if (!Number.isNaN(t)) {
      out.timestamp = m[2] ? m[1]! + m[2] : t;
      hasTimestamp = true;
      rest = rest.slice(m[0].length);
    }
  }
  if (!pri && !hasTimestamp) {
    return { message: text, error: 'not syslog: no <PRI> and no timestamp' };
  }
  // HOSTNAME follows TIMESTAMP, unless the sender left it out (the token is then the tag).
  if (hasTimestamp && out.hostname === undefined && rest.charCodeAt(0) !== 37 /* % */) {
    const sp = rest.indexOf(' ');
    const token = sp < 0 ? rest : rest.slice(0, sp);
    if (token && !token.endsWith(':') && !token.includes('[') && token.length <= 255 && isPrintUsAscii(token)) {
      out.hostname = token;
      rest = sp < 0 ? '' : rest.slice(sp + 1);
      if (rest.startsWith(': ')) rest = rest.slice(2); // Cisco ASA: `host : %ASA-…`
    }
  }
  // Cisco `%FAC-SEV-MNEMONIC:` looks like a tag but is part of the message.
  const mn = rest.charCodeAt(0) === 37 /* % */ ? RE_MNEMONIC.exec(rest) : null;
  if (mn) {
    out.mnemonic = mn[0].slice(1);
    out.appName = mn[1];
  } else {
    const tag = RE_TAG.exec(rest);
    if (tag) {
      out.appName = tag[1];
      if (tag[2]) out.pid = tag[2];
      rest = rest.slice(tag[0].length);
    }
  }
  out.message = rest;
  return out;
}

/** A zone written after a BSD timestamp: UTC/GMT and `TZ-6` are exact; other abbreviations are ambiguous. */
function zoneOf(zone: string | undefined, configured: WallClock): WallClock {
  if (zone === 'UTC' || zone === 'GMT') return (y, mo, d, ms) => Date.UTC(y, mo, d) + ms;
  if (zone?.startsWith('TZ')) {
    const offsetMs = Number(zone.slice(2)) * 3_600_000;
    return (y, mo, d, ms) => Date.UTC(y, mo, d) + ms - offsetMs;
  }
  return configured;
}

function isoInZone(local: string, wall: WallClock): number {
  const [date, time] = local.split('T') as [string, string];
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const [h, mi, s] = time.split(':').map(Number) as [number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s >= 61) return Number.NaN;
  return wall(y, mo - 1, d, Math.round(((h * 60 + mi) * 60 + s) * 1000));
}
