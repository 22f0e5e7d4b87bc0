// Variable masking: one pass over the message's tokens that replaces the parts that vary
// between occurrences of the same log statement (numbers, addresses, ids, paths, quoted
// strings, timestamps, sizes and durations) with placeholders, and collapses a run of masked
// tokens into one, so values of varying length (`5 bytes` / `1234 bytes (1.2 KB)`, a list of
// block ids) leave the same token sequence. Cheap character checks gate the few regexes, so
// most tokens cost a single scan (issue 2: a regex chain over the whole line is 3× slower).

/** A template position the miner generalized (it saw different tokens there). */
export const WILDCARD = '<*>';

export const MASK = {
  num: '<NUM>', ip: '<IP>', hex: '<HEX>', uuid: '<UUID>', mac: '<MAC>', path: '<PATH>',
  email: '<EMAIL>', str: '<STR>', ts: '<TS>', url: '<URL>', host: '<HOST>',
} as const;

const RE_IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d{1,5})?$/;
const RE_IPV6 = /^\[?[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?:%\w+)?\]?(?::\d{1,5})?$/;
const RE_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const RE_MAC = /^[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5}$/;
const RE_NUM = /^[-+]?(?:\d+(?:[.,]\d+)*|\.\d+)(?:[eE][-+]?\d+)?(?:%|[a-zA-Z]{1,3})?$/;
const RE_HEX = /^(?:0[xX])?[0-9a-fA-F]*\d[0-9a-fA-F]*$/;
const RE_HEX0X = /^0[xX][0-9a-fA-F]+$/;
const RE_TS = /^(?:\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:[T ]?\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?|\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)$/;
const RE_HOSTPORT = /^[\w-]+(?:\.[\w-]+)+:\d{1,5}$/;
/** A dotted name of three or more parts: a host or a property name (`proxy.cse.cuhk.edu.hk`). */
const RE_DOTTED = /^[A-Za-z_][\w-]*(?:\.[\w-]+){2,}$/;
const RE_EMAIL = /^[^\s@]+@[^\s@]+\.[a-zA-Z]{2,}$/;
const RE_DIGITS = /\d+/g;
/** Units that belong to the number before them (`1.20 KB`, `5 ms`, `<1 sec`). */
const UNITS = new Set([
  'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'kib', 'mib', 'gib', 'tib', 'bytes', 'byte',
  'ns', 'us', 'µs', 'ms', 's', 'sec', 'secs', 'min', 'mins',
]);
/** Day and month names next to a number are part of a timestamp (`Sun Dec 04 04:47:44 2005`). */
const DATE_INITIALS = 'MTWFSJAONDmtwfsjaond';
const DATE_WORDS = new Set([
  'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun',
  'jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec',
]);

/** `key="first word` of a quoted value that goes on in the next tokens. */
const RE_KEYED_QUOTE = /^([A-Za-z_][\w.-]*=)(["'])[^"']*$/;
const QUOTED_ONE = /^(["'])[^"']*\1[,;:.)\]]*$/;
/** Whitespace (what `\s` matches) and `|` separate tokens (`time|component|pid|message` logs). */
function isSeparator(c: number): boolean {
  if (c === 32 || c === 124 || (c >= 9 && c <= 13)) return true;
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f
    || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Per ASCII code: 1 for what keeps a token from being a plain word (a digit or one of `/ @ = . * <`). */
const NOT_PLAIN = new Uint8Array(128);
for (const c of '0123456789/@=.*<') NOT_PLAIN[c.charCodeAt(0)] = 1;

/**
 * Per token of the last splitTokens call: 1 when it is not a plain word. A plain word (no digit,
 * none of `/ @ = . * <`) is left as it is by maskToken and holds no placeholder.
 */
let notPlain = new Uint8Array(64);

/**
 * The message's tokens: `message.split(/[\s|]+/)` without its empty strings, by hand: the regex
 * split was a fifth of the masking time. The same scan notes which tokens are plain words in
 * `notPlain`, so that they need no scan of their own.
 */
function splitTokens(message: string): string[] {
  const out: string[] = [];
  let start = -1;
  let dirty = 0;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (isSeparator(c)) {
      if (start >= 0) {
        endToken(out, message.slice(start, i), dirty);
        start = -1;
      }
    } else {
      if (start < 0) {
        start = i;
        dirty = 0;
      }
      if (c < 128) dirty |= NOT_PLAIN[c]!;
    }
  }
  if (start >= 0) endToken(out, message.slice(start), dirty);
  return out;
}

function endToken(out: string[], tok: string, dirty: number): void {
  if (out.length === notPlain.length) {
    const more = new Uint8Array(notPlain.length * 2);
    more.set(notPlain);
    notPlain = more;
  }
  notPlain[out.length] = dirty;
  out.push(tok);
}
const OPEN = '([{<"\'';
const EMPTY_PAIRS = new Set(['()', '[]', '{}', '""', "''", '<>']);
const CLOSE = ')]}>,;:."\'!?';
/** Per ASCII code: 1 when it opens (OPEN), 2 when it closes (CLOSE) a token's surrounding punctuation. */
const EDGE = new Uint8Array(128);
for (const c of OPEN) EDGE[c.charCodeAt(0)]! |= 1;
for (const c of CLOSE) EDGE[c.charCodeAt(0)]! |= 2;
const opens = (c: number): boolean => c < 128 && (EDGE[c]! & 1) !== 0;
const closes = (c: number): boolean => c < 128 && (EDGE[c]! & 2) !== 0;

function hasWordChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127) return true;
  }
  return false;
}

function hasDigit(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

/** Mask one bare token (no surrounding punctuation). */
function maskCore(core: string): string {
  if (core.length === 0) return core;
  // One scan for the characters that decide which checks can apply; most words have none.
  let digits = 0;
  let special = false;
  for (let i = 0; i < core.length; i++) {
    const c = core.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 47 || c === 64 || c === 61 || c === 46 || c === 42) special = true; // / @ = . *
  }
  if (digits === core.length) return MASK.num;
  const digit = digits > 0;
  if (!digit && !special) return core;
  if (core.charCodeAt(0) === 47 /* / */ && core.length > 1) return MASK.path;
  if (core.includes('://')) return MASK.url;
  if (core.includes('@') && RE_EMAIL.test(core)) return MASK.email;
  const eq = core.indexOf('=');
  if (eq > 0) return core.slice(0, eq + 1) + maskCore(core.slice(eq + 1));
  if (core === '*') return MASK.str; // a literal `<*>` must not pass for the miner's wildcard
  if (!digit) return core.includes('.') && RE_DOTTED.test(core) ? MASK.host : core;
  if (RE_IPV4.test(core)) return MASK.ip;
  if (RE_NUM.test(core)) return MASK.num;
  if (RE_TS.test(core)) return MASK.ts;
  if (core.length === 36 && RE_UUID.test(core)) return MASK.uuid;
  if (core.length === 17 && RE_MAC.test(core)) return MASK.mac;
  if (core.includes(':')) {
    if (RE_IPV6.test(core)) return MASK.ip;
    if (RE_HOSTPORT.test(core)) return MASK.host;
  }
  if (RE_HEX0X.test(core) || (core.length >= 8 && RE_HEX.test(core))) return MASK.hex;
  // key:value with a variable value (pid:1234, port:22); other colon compounds mask per part
  // (`10.0.0.1:50010:Got` → `<IP>:<NUM>:Got`).
  const colon = core.indexOf(':');
  if (colon > 0 && colon < core.length - 1) {
    if (!hasDigit(core.slice(0, colon))) return core.slice(0, colon + 1) + maskCore(core.slice(colon + 1));
    return core.split(':').map(maskCore).join(':');
  }
  // Mixed tokens keep their letters: eth0 → eth<NUM>, blk_-1608 → blk_-<NUM>.
  return core.replace(RE_DIGITS, MASK.num);
}

/** Where a token's core starts and ends, inside its surrounding punctuation (OPEN before, CLOSE after). */
function coreBounds(tok: string): [number, number] {
  let start = 0;
  let end = tok.length;
  while (start < end && opens(tok.charCodeAt(start))) start++;
  while (end > start && closes(tok.charCodeAt(end - 1))) end--;
  return [start, end];
}

/** Mask a token, keeping surrounding punctuation: `(10.0.0.1)` → `(<IP>)`. */
export function maskToken(tok: string): string {
  const [start, end] = coreBounds(tok);
  if (start === 0 && end === tok.length) return maskCore(tok);
  const core = tok.slice(start, end);
  const masked = maskCore(core);
  return masked === core ? tok : tok.slice(0, start) + masked + tok.slice(end);
}

/** `key="…` or `key='…`: a quoted value that may go on over the next tokens. */
function isKeyedQuoteStart(tok: string): boolean {
  const eq = tok.indexOf('=');
  if (eq <= 0 || eq + 1 >= tok.length) return false;
  const q = tok.charCodeAt(eq + 1);
  return q === 34 || q === 39;
}

/** A day or month name is a timestamp's when a number or another such name (`Fri Jun 17`) follows. */
function startsDate(raw: string[], next: number): boolean {
  const tok = raw[next]!;
  if (hasDigit(tok)) return true;
  return tok.length <= 4 && DATE_WORDS.has(bareWord(tok)) && next + 1 < raw.length && hasDigit(raw[next + 1]!);
}

/** A day or month name, with or without surrounding punctuation (`Dec`, `(Fri`). */
function isDateWord(tok: string): boolean {
  const [start, end] = coreBounds(tok);
  // every one is three letters: only then is the lower-cased copy worth making
  return end - start === 3 && DATE_WORDS.has(tok.slice(start, end).toLowerCase());
}

/** The token without its surrounding punctuation, lower-cased (for the unit and date-word sets). */
function bareWord(tok: string): string {
  const [start, end] = coreBounds(tok);
  return tok.slice(start, end).toLowerCase();
}

/**
 * Split a message on whitespace and mask each token. A quoted single token is a `<STR>`. A unit after a
 * number joins it, a day or month name before a number is a timestamp, and a run of masked
 * tokens collapses into its first one.
 */
export function maskTokens(message: string): string[] {
  const raw = splitTokens(message);
  const out: string[] = [];
  let prevSlot = false;
  let prevNumber = false;
  for (let i = 0; i < raw.length; i++) {
    const tok = raw[i]!;
    if (tok.length === 0) continue;
    let masked: string | undefined;
    // A quoted value of one token is a string value; a quoted phrase is masked word by word,
    // since its first words are often the constant part (`"GET /v2/… HTTP/1.1"`).
    // A quoted phrase given as a keyed value (`tag="View Lock",`) is one value.
    const c0 = tok.charCodeAt(0);
    // most tokens are words with nothing to mask: one scan settles that and skips the checks below
    const plain = tok.length > 3 && c0 !== 34 && c0 !== 39 && notPlain[i] === 0;
    if (plain) {
      // masked below
    } else if ((c0 === 34 || c0 === 39) && tok.length > 2 && QUOTED_ONE.test(tok)) masked = MASK.str + tok.slice(tok.lastIndexOf(tok[0]!) + 1);
    else if (isKeyedQuoteStart(tok)) {
      const m = RE_KEYED_QUOTE.exec(tok);
      if (m) {
        const q = m[2]!;
        let j = i;
        while (j + 1 < raw.length && !raw[j + 1]!.includes(q)) j++;
        if (j + 1 < raw.length) {
          const last = raw[j + 1]!;
          masked = m[1]! + MASK.str + last.slice(last.lastIndexOf(q) + 1);
          i = j + 1;
        }
      }
    }
    if (masked === undefined) {
      if (plain) masked = tok;
      else {
        // An empty value (`()`, `[]`, `""`) is left out, as if the value were absent.
        if (tok.length === 2 && EMPTY_PAIRS.has(tok)) continue;
        // A short token without a letter or digit (`-`, `:`, `-]`) separates; it is left out.
        if (tok.length <= 3 && !hasWordChar(tok)) continue;
        masked = maskToken(tok);
      }
      if (masked === tok) {
        if (prevNumber && tok.length <= 6 && UNITS.has(bareWord(tok))) {
          // `1.20 KB)` → the number absorbs the unit (and its closing punctuation).
          prevNumber = false;
          continue;
        }
        if (tok.length >= 3 && tok.length <= 5 && DATE_INITIALS.includes(tok[opens(c0) ? 1 : 0]!) && i + 1 < raw.length &&
            isDateWord(tok) && startsDate(raw, i + 1)) masked = MASK.ts;
      }
    }
    const slot = plain && masked === tok ? false : isPlaceholder(masked);
    if (slot && prevSlot) {
      prevNumber = masked.includes(MASK.num);
      continue;
    }
    out.push(masked);
    prevSlot = slot;
    prevNumber = slot && masked.includes(MASK.num);
  }
  return out;
}

/** The masked message as one string (message_normalized). */
export function maskMessage(message: string): string {
  return maskTokens(message).join(' ');
}

const RE_PLACEHOLDER = /<[A-Z]+>|<\*>/;

/** True when a token is (or contains) a placeholder or a wildcard. */
export function isVariable(token: string): boolean {
  return token === WILDCARD || (token.includes('<') && RE_PLACEHOLDER.test(token));
}

/**
 * True when a masked token stands for a value as a whole (`<NUM>`, `(<IP>)`, `blk_<NUM>`,
 * `eth<NUM>`): the miner treats two such tokens as equal. A keyed value (`uid=<NUM>`,
 * `port:<NUM>`) is not: its key is constant text. The miner's wildcard `<*>` is not either.
 */
export function isPlaceholder(token: string): boolean {
  if (token.length < 3 || token.indexOf('<') < 0 || token === WILDCARD) return false;
  return keyPrefixLength(token) === 0 && containsPlaceholder(token);
}

/**
 * Length of a leading `key=` / `key:` (after at most one opening bracket or quote) that has a
 * value after it: `uid=0` → 4, `(uid=<NUM>)` → 5; 0 when the token is not a keyed value.
 */
export function keyPrefixLength(token: string): number {
  let i = token.length > 0 && OPEN.includes(token[0]!) && token[0] !== '<' ? 1 : 0;
  if (!isKeyStart(token.charCodeAt(i))) return 0;
  do i++; while (i < token.length && isKeyPart(token.charCodeAt(i)));
  const c = token.charCodeAt(i);
  return (c === 61 /* = */ || c === 58 /* : */) && i + 1 < token.length ? i + 1 : 0;
}

/** True when the token holds a `<UPPER>` mask placeholder. */
export function containsPlaceholder(token: string): boolean {
  for (let p = token.indexOf('<'); p >= 0 && p < token.length - 2; p = token.indexOf('<', p + 1)) {
    let j = p + 1;
    while (j < token.length && token.charCodeAt(j) >= 65 && token.charCodeAt(j) <= 90) j++;
    if (j > p + 1 && token.charCodeAt(j) === 62 /* > */) return true;
  }
  return false;
}

function isKeyStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isKeyPart(c: number): boolean {
  return isKeyStart(c) || (c >= 48 && c <= 57) || c === 46 || c === 45;
}
