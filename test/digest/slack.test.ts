// Slack payloads, pure: the spec's escaping table, limits kept (checked by the fake's own
// validator), splitting in order, the plain-text fallback, no broadcast mentions.
import { describe, expect, it } from 'vitest';
import { composeDigest } from '../../src/digest/compose.js';
import { escapeMrkdwn, slackMessages, slackTextMessages, truncate, SLACK_LIMITS } from '../../src/digest/slack.js';
import { validateMessage } from '../fakes/slack/server.js';
import { bigDigest, candidate, DAY, NOW } from './helpers.js';

const cp = (s: string) => [...s].length;

describe('escapeMrkdwn', () => {
  it.each([
    ['a & b <c> d>e', 'a &amp; b &lt;c&gt; d&gt;e'],
    ['<!channel> ping', '&lt;!channel&gt; ping'],
    ['&amp;', '&amp;amp;'],
    ['héllo ✓', 'héllo ✓'],
  ])('escapes %j as %j (spec §4.1)', (input, out) => {
    expect(escapeMrkdwn(input)).toBe(out);
  });
});

describe('slackMessages', () => {
  it('fits a small digest in one valid message with a header, items and a footer naming the digest id', () => {
    const d = composeDigest({ candidates: [candidate('a'), candidate('b', { band: 'investigate' })], series: new Map(), history: [], id: 'dg_x' },
      { name: 'daily', minAttention: 'watch', maxItems: 10, lookbackMs: DAY }, NOW);
    const msgs = slackMessages(d);
    expect(msgs).toHaveLength(1);
    const m = msgs[0]!;
    expect(validateMessage(m)).toBeUndefined();
    expect(m.text).toContain('brainstem digest "daily": 2 items');
    expect(m.unfurl_links).toBe(false);
    expect(m).not.toHaveProperty('channel');
    expect(m).not.toHaveProperty('username');
    const blocks = m.blocks as any[];
    expect(blocks[0].type).toBe('header');
    expect(blocks[0].text.type).toBe('plain_text');
    expect(blocks.at(-1).elements[0].text).toContain('digest dg_x');
    expect(blocks[1].text.text).toContain('[investigate]');
  });

  it('splits a large digest into parts in order, each within Slack\'s limits', () => {
    const d = bigDigest(100);
    const msgs = slackMessages(d);
    expect(msgs.length).toBe(3);
    msgs.forEach((m, k) => {
      expect(validateMessage(m)).toBeUndefined();
      expect((m.blocks as unknown[]).length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
      expect(cp(m.text)).toBeLessThanOrEqual(SLACK_LIMITS.text);
      expect(m.text).toContain(`(part ${k + 1}/3)`);
    });
    // every item exactly once, in rank order
    const order = msgs.flatMap((m) => (m.blocks as any[]).map((b) => /sig\d{3}/.exec(b.text?.text ?? '')?.[0]).filter(Boolean));
    expect(order).toEqual(d.items.map((i) => i.signatureKey));
  });

  it('truncates an oversized item to the section limit with an ellipsis', () => {
    const d = bigDigest(2, 5000);
    const m = slackMessages(d)[0]!;
    expect(validateMessage(m)).toBeUndefined();
    const section = (m.blocks as any[])[1].text.text as string;
    expect(cp(section)).toBeLessThanOrEqual(SLACK_LIMITS.section);
    expect(section.endsWith('…')).toBe(true);
    expect(cp((m.blocks as any[])[0].text.text)).toBeLessThanOrEqual(SLACK_LIMITS.header);
  });

  it('never lets log text produce a mention or a link', () => {
    const msgs = slackMessages(bigDigest(3));
    const all = JSON.stringify(msgs);
    expect(all).not.toContain('<!channel>');
    expect(all).toContain('&lt;!channel&gt;');
  });

  it('has a text-only form for when Slack rejects the blocks, split within the text limit', () => {
    const parts = slackTextMessages(bigDigest(100, 200));
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(p).not.toHaveProperty('blocks');
      expect(validateMessage(p)).toBeUndefined();
      expect(cp(p.text)).toBeLessThanOrEqual(SLACK_LIMITS.text);
    }
    expect(parts.map((p) => p.text).join('\n')).toContain('sig099');
  });

  it('truncate counts code points', () => {
    expect(truncate('▁▂▃▄▅', 3)).toBe('▁▂…');
    expect(truncate('abc', 3)).toBe('abc');
  });
});
