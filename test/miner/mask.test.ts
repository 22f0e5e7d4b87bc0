import { describe, expect, it } from 'vitest';
import { isPlaceholder, isVariable, MASK, maskMessage, maskToken, maskTokens, WILDCARD } from '../../src/pipeline/mask.js';

describe('maskToken', () => {
  it.each([
    ['42', MASK.num],
    ['-3.5', MASK.num],
    ['95%', MASK.num],
    ['10.0.0.1', MASK.ip],
    ['192.168.1.20:8080', MASK.ip],
    ['fe80::1ff:fe23:4567:890a', MASK.ip],
    ['2001:db8::1', MASK.ip],
    ['0x7f3a', MASK.hex],
    ['deadbeef01', MASK.hex],
    ['123e4567-e89b-12d3-a456-426614174000', MASK.uuid],
    ['00:1a:2b:3c:4d:5e', MASK.mac],
    ['/var/log/syslog', MASK.path],
    ['ops@example.com', MASK.email],
    ['2026-12-03T15:47:10Z', MASK.ts],
    ['15:47:10.123', MASK.ts],
    ['https://example.com/a?b=1', MASK.url],
    ['proxy.example.com:5070', MASK.host],
    ['mail.corp.example.com', MASK.host],
  ])('masks %s as %s', (token, mask) => {
    expect(maskToken(token)).toBe(mask);
  });

  it('keeps the punctuation around a value', () => {
    expect(maskToken('(10.0.0.1)')).toBe(`(${MASK.ip})`);
    expect(maskToken('22,')).toBe(`${MASK.num},`);
  });

  it('keeps the key of a keyed value and masks the value', () => {
    expect(maskToken('uid=0')).toBe(`uid=${MASK.num}`);
    expect(maskToken('port:22')).toBe(`port:${MASK.num}`);
    expect(maskToken('rhost=10.1.2.3')).toBe(`rhost=${MASK.ip}`);
  });

  it('masks the digits of an identifier and each part of a colon compound', () => {
    expect(maskToken('eth0')).toBe(`eth${MASK.num}`);
    expect(maskToken('blk_-1608999687919862906')).toBe(`blk_-${MASK.num}`);
    expect(maskToken('10.251.30.85:50010:Got')).toBe(`${MASK.ip}:${MASK.num}:Got`);
  });

  it('leaves words alone', () => {
    for (const w of ['Failed', 'password', 'for', 'root', 'session', 'ssh', 'v.', 'e.g.']) expect(maskToken(w)).toBe(w);
  });
});

describe('maskTokens', () => {
  it('masks the variable parts of a message', () => {
    expect(maskMessage('Failed password for root from 10.0.0.1 port 22 ssh2'))
      .toBe(`Failed password for root from ${MASK.ip} port ${MASK.num}`);
    expect(maskMessage('Failed password for root from 10.0.0.1 port 22 ssh2 x')).toBe(`Failed password for root from ${MASK.ip} port ${MASK.num} x`);
  });

  it('collapses a run of values into one token, so value lists of any length look alike', () => {
    const a = maskTokens('ask 10.0.0.1:50010 to delete blk_1 blk_-2 blk_3');
    const b = maskTokens('ask 10.0.0.2:50010 to delete blk_9');
    expect(a).toEqual(['ask', MASK.ip, 'to', 'delete', `blk_${MASK.num}`]);
    expect(b).toEqual(['ask', MASK.ip, 'to', 'delete', `blk_${MASK.num}`]);
  });

  it('joins a size or duration unit to its number', () => {
    expect(maskTokens('close, 0 bytes sent, lifetime 2 sec')).toEqual(maskTokens('close, 1234 bytes (1.20 KB) sent, lifetime 10 s'));
    expect(maskMessage('lifetime <1 sec')).toBe(`lifetime <${MASK.num}`);
    expect(maskMessage('took 15 ms')).toBe(`took ${MASK.num}`);
  });

  it('treats day and month names before a number as part of a timestamp', () => {
    expect(maskMessage('connection at Fri Jun 17 07:07:00 2005')).toBe(`connection at ${MASK.ts}`);
    expect(maskMessage('Mon Dec 4 04:47:44 2005 done')).toBe(`${MASK.ts} done`);
    expect(maskMessage('see the Mon report')).toBe('see the Mon report');
  });

  it('masks a one-token quoted string and a keyed quoted phrase, and words of a bare quoted phrase', () => {
    expect(maskMessage(`user 'alice' logged in`)).toBe(`user ${MASK.str} logged in`);
    expect(maskMessage('acquire tag="View Lock", name=x')).toBe(`acquire tag=${MASK.str}, name=x`);
    expect(maskMessage('"GET /v2/servers HTTP/1.1" status: 200')).toBe(`"GET ${MASK.path} status: ${MASK.num}`);
  });

  it('leaves out empty values, so an absent value reads like a present one', () => {
    expect(maskTokens('from 1.2.3.4 () at 10:00:00')).toEqual(maskTokens('from 1.2.3.4 (host-1.example.net) at 10:00:00'));
  });

  it('never produces the miner wildcard from input text', () => {
    expect(maskTokens('literal <*> here')).not.toContain(WILDCARD);
  });

  it('splits on any whitespace and ignores empty tokens', () => {
    expect(maskTokens('  a \t b\n')).toEqual(['a', 'b']);
    expect(maskTokens('')).toEqual([]);
  });
});

describe('isPlaceholder / isVariable', () => {
  it('tells value slots from keyed values and text', () => {
    expect(isPlaceholder(MASK.num)).toBe(true);
    expect(isPlaceholder(`(${MASK.ip}),`)).toBe(true);
    expect(isPlaceholder(`blk_${MASK.num}`)).toBe(true);
    expect(isPlaceholder(`uid=${MASK.num}`)).toBe(false);
    expect(isPlaceholder(`port:${MASK.num}`)).toBe(false);
    expect(isPlaceholder(WILDCARD)).toBe(false);
    expect(isPlaceholder('root')).toBe(false);
    expect(isPlaceholder('<html>')).toBe(false);
  });

  it('marks any token holding a placeholder or the wildcard as variable', () => {
    expect(isVariable(WILDCARD)).toBe(true);
    expect(isVariable(`uid=${MASK.num}`)).toBe(true);
    expect(isVariable('root')).toBe(false);
  });
});
