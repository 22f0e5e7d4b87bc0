// Variable masking: one pass over the message's tokens that replaces the parts that vary
// between occurrences of the same log statement (numbers, addresses, ids, paths, quoted
// strings, timestamps) with placeholders. Cheap character checks gate the few regexes, so
// most tokens cost a single scan (issue 2: a regex chain over the whole line is 3× slower).

export const MASK = {
  num: '<NUM>', ip: '<IP>', hex: '<HEX>', uuid: '<UUID>', mac: '<MAC>', path: '<PATH>',
  email: '<EMAIL>', str: '<STR>', ts: '<TS>', url: '<URL>',
} as const;

const RE_IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d{1,5})?$/;
const RE_IPV6 = /^\[?[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?:%\w+)?\]?(?::\d{1,5})?$/;
const RE_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const RE_MAC = /^[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5}$/;
const RE_NUM = /^[-+]?(?:\d+(?:[.,]\d+)*|\.\d+)(?:[eE][-+]?\d+)?(?:%|[a-zA-Z]{1,3})?$/;
const RE_HEX = /^(?:0[xX])?[0-9a-fA-F]*\d[0-9a-fA-F]*$/;
const RE_HEX0X = /^0[xX][0-9a-fA-F]+$/;
const RE_TS = /^(?:\d{4}[-/]\d{2}[-/]\d{2}(?:[T ]?\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?|\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?)$/;
const RE_EMAIL = /^[^\s@]+@[^\s@]+\.[a-zA-Z]{2,}$/;
const RE_DIGITS = /\d+/g;

const OPEN = '([{<"\'';
const CLOSE = ')]}>,;:."\'!?';

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
  const c0 = core.charCodeAt(0);
  if (c0 === 47 /* / */ && core.length > 1) return MASK.path;
  if (core.includes('://')) return MASK.url;
  if (core.includes('@') && RE_EMAIL.test(core)) return MASK.email;
  const eq = core.indexOf('=');
  if (eq > 0) return core.slice(0, eq + 1) + maskCore(core.slice(eq + 1));
  if (!hasDigit(core)) return core;
  if (RE_NUM.test(core)) return MASK.num;
  if (RE_IPV4.test(core)) return MASK.ip;
  if (RE_TS.test(core)) return MASK.ts;
  if (core.length === 36 && RE_UUID.test(core)) return MASK.uuid;
  if (core.length === 17 && RE_MAC.test(core)) return MASK.mac;
  if (core.includes(':') && RE_IPV6.test(core)) return MASK.ip;
  if (RE_HEX0X.test(core) || (core.length >= 8 && RE_HEX.test(core))) return MASK.hex;
  // key:value with a variable value (pid:1234, port:22)
  const colon = core.indexOf(':');
  if (colon > 0 && colon < core.length - 1) return core.slice(0, colon + 1) + maskCore(core.slice(colon + 1));
  // Mixed tokens keep their letters: eth0 → eth<NUM>, blk_-1608 → blk_-<NUM>.
  return core.replace(RE_DIGITS, MASK.num);
}

/** Mask a token, keeping surrounding punctuation: `(10.0.0.1)` → `(<IP>)`. */
export function maskToken(tok: string): string {
  let start = 0;
  let end = tok.length;
  while (start < end && OPEN.includes(tok[start]!)) start++;
  while (end > start && CLOSE.includes(tok[end - 1]!)) end--;
  if (start === 0 && end === tok.length) return maskCore(tok);
  const core = tok.slice(start, end);
  const masked = maskCore(core);
  return masked === core ? tok : tok.slice(0, start) + masked + tok.slice(end);
}

/**
 * Split a message on whitespace and mask each token. A token opening with a double quote
 * swallows tokens up to the closing quote, so `"GET /a b"` becomes one `<STR>`.
 */
export function maskTokens(message: string): string[] {
  const raw = message.split(/\s+/);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const tok = raw[i]!;
    if (tok.length === 0) continue;
    if (tok.charCodeAt(0) === 34 /* " */) {
      let j = i;
      let closed = tok.length > 1 && tok.endsWith('"');
      while (!closed && j + 1 < raw.length) {
        j++;
        closed = raw[j]!.includes('"');
      }
      if (closed) {
        const last = raw[j]!;
        const q = j === i ? tok.length - 1 : last.lastIndexOf('"');
        const tail = j === i ? '' : last.slice(q + 1);
        out.push(MASK.str + tail);
        i = j;
        continue;
      }
    }
    out.push(maskToken(tok));
  }
  return out;
}

/** The masked message as one string (message_normalized). */
export function maskMessage(message: string): string {
  return maskTokens(message).join(' ');
}

/** True when a token is (or contains) a placeholder or a wildcard. */
export function isVariable(token: string): boolean {
  return token === '<*>' || (token.includes('<') && /<[A-Z]+>|<\*>/.test(token));
}
