// Digest composition, pure: ranking, counts and change, hosts capped, sparkline, no repetition
// unless escalated, gone quiet, empty digests, text and wire forms.
import { describe, expect, it } from 'vitest';
import {
  composeDigest, digestToWire, escalation, formatChange, historyUpdate, isEmptyDigest, renderText, sparkline, sparkSeries,
  HOUR_MS, type ComposeInput,
} from '../../src/digest/compose.js';
import { candidate, DAY, history, NOW, series } from './helpers.js';

const opts = { name: 'daily', minAttention: 'watch', maxItems: 10, lookbackMs: DAY };
const input = (o: Partial<ComposeInput>): ComposeInput => ({ candidates: [], series: new Map(), history: [], id: 'dg_1', ...o });

describe('composeDigest', () => {
  it('keeps candidates at or above min_attention, best score first, at most max_items', () => {
    const d = composeDigest(input({
      candidates: [
        candidate('low', { band: 'background' }),
        candidate('mid', { band: 'watch', score: 0.5 }),
        candidate('top', { band: 'promote', score: 0.9 }),
        candidate('hi', { band: 'investigate', score: 0.7 }),
      ],
    }), { ...opts, maxItems: 2 }, NOW);
    expect(d.items.map((i) => i.signatureKey)).toEqual(['top', 'hi']);
    expect(d.notShown).toBe(1);
    expect(renderText(d)).toContain('1 more item above the threshold not shown (max_items).');
  });

  it('reports the count in the lookback and the change against the period before', () => {
    const hourly = new Array(48).fill(0);
    hourly[1] = 5; hourly[2] = 5; // in the window: 10
    hourly[30] = 4; // the day before: 4
    const d = composeDigest(input({ candidates: [candidate('a', { count: 10 })], series: new Map([['a', series(hourly)]]) }), opts, NOW);
    expect(d.items[0]!.count).toBe(10);
    expect(d.items[0]!.previousCount).toBe(4);
    expect(renderText(d)).toContain('10 (was 4, +150%)');
  });

  it('caps the listed hosts and says how many more there are', () => {
    const hosts = Array.from({ length: 8 }, (_, i) => `web-${i}`);
    const d = composeDigest(input({ candidates: [candidate('a', { hosts })] }), { ...opts, hostCap: 3 }, NOW);
    expect(d.items[0]!.hosts).toEqual(['web-0', 'web-1', 'web-2']);
    expect(d.items[0]!.hostCount).toBe(8);
    expect(renderText(d)).toContain('8 hosts: web-0, web-1, web-2 +5 more');
  });

  it('draws a 24-slot sparkline of the hourly counts, oldest first', () => {
    const hourly = new Array(24).fill(0);
    hourly[0] = 8; // current hour: the last slot, the tallest
    hourly[23] = 1; // 23 hours ago: the first slot, the smallest visible bar
    const s = sparkSeries(series(hourly).buckets, DAY, NOW);
    expect(s).toHaveLength(24);
    expect(s[0]).toBe(1);
    expect(s[23]).toBe(8);
    const line = sparkline(s);
    expect([...line]).toHaveLength(24);
    expect(line.startsWith('▂')).toBe(true);
    expect(line.endsWith('█')).toBe(true);
    expect(line.slice(1, 23)).toBe('▁'.repeat(22));
  });

  it('spreads a longer lookback over 24 slots', () => {
    const s = sparkSeries(series([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]).buckets, 2 * DAY, NOW);
    expect(s).toHaveLength(24);
    expect(s[23]).toBe(1);
    expect(s[0]).toBe(2);
  });

  it('leaves out an item an earlier digest reported, and counts it as not repeated', () => {
    const d = composeDigest(input({ candidates: [candidate('a', { count: 12 })], history: [history('a', { count: 10 })] }), opts, NOW);
    expect(d.items).toHaveLength(0);
    expect(d.repeatsSuppressed).toBe(1);
    expect(isEmptyDigest(d)).toBe(true);
    expect(renderText(d)).toContain('1 item from earlier digests still active, not repeated');
  });

  it('repeats an item that escalated, and says why', () => {
    const d = composeDigest(input({
      candidates: [
        candidate('band', { band: 'investigate', count: 10 }),
        candidate('count', { count: 25 }),
        candidate('hosts', { hosts: ['a', 'b', 'c'] }),
        candidate('same', { count: 15 }),
      ],
      history: [history('band'), history('count'), history('hosts'), history('same')],
    }), opts, NOW);
    const byKey = Object.fromEntries(d.items.map((i) => [i.signatureKey, i.escalated]));
    expect(Object.keys(byKey).sort()).toEqual(['band', 'count', 'hosts']);
    expect(byKey.band).toContain('attention watch → investigate');
    expect(byKey.count).toContain('count 10 → 25');
    expect(byKey.hosts).toContain('hosts 1 → 3');
    expect(renderText(d)).toContain('↑ escalated since the last digest');
  });

  it('uses the configured escalation factor', () => {
    expect(escalation(history('a', { count: 10 }), 'watch', 25, 1, 3)).toBeUndefined();
    expect(escalation(history('a', { count: 10 }), 'watch', 30, 1, 3)).toContain('count 10 → 30');
  });

  it('lists patterns from earlier digests that have gone quiet, and forgets them', () => {
    const quietSince = NOW - 2 * DAY;
    const d = composeDigest(input({
      history: [history('gone', { title: 'vpn: tunnel down' }), history('still')],
      series: new Map([['gone', { ...series([]), lastSeen: quietSince, title: 'vpn: tunnel <*> down' }], ['still', series([3], NOW - 1000)]]),
    }), opts, NOW);
    expect(d.goneQuiet.map((q) => q.signatureKey)).toEqual(['gone']);
    expect(d.goneQuiet[0]!.title).toBe('vpn: tunnel <*> down');
    expect(isEmptyDigest(d)).toBe(false);
    expect(renderText(d)).toContain('Gone quiet');
    expect(historyUpdate(d, NOW).remove).toEqual(['gone']);
  });

  it('records what it reported as the next digest\'s history', () => {
    const d = composeDigest(input({ candidates: [candidate('a', { count: 7, hosts: ['h1', 'h2'], band: 'investigate' })] }), opts, NOW);
    expect(historyUpdate(d, NOW).upsert).toEqual([
      expect.objectContaining({ signatureKey: 'a', attentionBand: 'investigate', count: 7, hosts: 2, sentAt: NOW }),
    ]);
  });

  it('an empty digest says so', () => {
    const d = composeDigest(input({}), opts, NOW);
    expect(isEmptyDigest(d)).toBe(true);
    expect(renderText(d)).toContain('Nothing new above the attention threshold.');
  });

  it('has a wire form with snake_case fields', () => {
    const d = composeDigest(input({ candidates: [candidate('a')] }), opts, NOW);
    const w = digestToWire(d) as any;
    expect(w).toMatchObject({ id: 'dg_1', name: 'daily', lookback_seconds: 86_400, repeats_suppressed: 0, gone_quiet: [] });
    expect(w.items[0]).toMatchObject({ signature_key: 'a', attention_band: 'watch', count: 10, host_count: 1, escalated: null });
    expect(w.items[0].series).toHaveLength(24);
  });

  it('formats the change', () => {
    expect(formatChange(5, 0)).toBe('5 (none in the period before)');
    expect(formatChange(5, 5)).toBe('5 (unchanged)');
    expect(formatChange(3, 4)).toBe('3 (was 4, −25%)');
    expect(HOUR_MS).toBe(3_600_000);
  });
});
