// Slack incoming-webhook payloads for a digest: Block Kit within Slack's limits (with the margins
// of specs/slack-webhooks.md §4.2), untrusted text escaped, a plain-text fallback, and a digest
// too large for one message split into parts that are sent in order. Pure.
import {
  formatChange, formatWindow, headline, hostList, renderText, shortTime, type Digest, type DigestItem,
} from './compose.js';

/** Our margins under Slack's limits (50 blocks, 3,000 per section, 150 per header; counted in code points). */
export const SLACK_LIMITS = { blocks: 45, section: 2900, header: 140, text: 3900, contextElements: 10 } as const;

export interface SlackMessage {
  text: string;
  blocks?: unknown[];
  unfurl_links: false;
  unfurl_media: false;
}

/** Escape the three characters mrkdwn treats as control characters — nothing else, once. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export const codePoints = (s: string): number => [...s].length;

/** Cut to at most `max` code points, ending with … when cut. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s; // UTF-16 length ≥ code points: short strings need no counting
  const cps = [...s];
  return cps.length <= max ? s : `${cps.slice(0, max - 1).join('')}…`;
}

/**
 * Untrusted text as a mrkdwn code span: escaped, backticks removed (they would end the span), so
 * `*`, `_`, `~` in log templates are not read as formatting.
 */
function code(s: string): string {
  const inner = escapeMrkdwn(s.replace(/`/g, "'")).trim();
  return inner ? `\`${inner}\`` : '';
}

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text, verbatim: true });
const section = (text: string) => ({ type: 'section', text: mrkdwn(truncate(text, SLACK_LIMITS.section)) });
const header = (text: string) => ({ type: 'header', text: { type: 'plain_text', text: truncate(text, SLACK_LIMITS.header), emoji: false } });
const context = (text: string) => ({ type: 'context', elements: [mrkdwn(truncate(text, SLACK_LIMITS.section))] });

function itemSection(it: DigestItem, index: number): unknown {
  const lines = [`*${index}. [${it.attentionBand}]* ${code(it.title) || escapeMrkdwn(it.signatureKey)}`];
  if (it.escalated) lines.push(`:arrow_up: _${escapeMrkdwn(it.escalated)}_`);
  lines.push(escapeMrkdwn(it.summary));
  lines.push(`*${escapeMrkdwn(formatChange(it.count, it.previousCount))}* · ${escapeMrkdwn(hostList(it))}`);
  lines.push(`\`${it.sparkline}\` first ${shortTime(it.firstSeen)} · last ${shortTime(it.lastSeen)}`);
  lines.push(`signature \`${escapeMrkdwn(it.signatureKey)}\` · score ${it.score.toFixed(2)}`);
  return section(lines.join('\n'));
}

/** Lines joined into as few texts of at most `max` code points as possible (a longer line is cut). */
export function packLines(lines: string[], max: number): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let len = 0;
  for (const line of lines) {
    const l = truncate(line, max);
    const n = codePoints(l);
    if (cur.length && len + 1 + n > max) {
      out.push(cur.join('\n'));
      cur = [];
      len = 0;
    }
    len += (cur.length ? 1 : 0) + n;
    cur.push(l);
  }
  if (cur.length) out.push(cur.join('\n'));
  return out.filter((t) => t.length > 0);
}

/** Lines packed into as few sections as the section limit allows. */
function packedSections(lines: string[]): unknown[] {
  return packLines(lines, SLACK_LIMITS.section).map(section);
}

/** The body blocks of a digest (no header/footer): items, then repeats, then gone quiet. */
export function digestBlocks(d: Digest): unknown[] {
  const blocks: unknown[] = [];
  if (d.items.length === 0) blocks.push(section('Nothing new above the attention threshold.'));
  d.items.forEach((it, i) => blocks.push(itemSection(it, i + 1)));
  if (d.notShown > 0) blocks.push(context(`${d.notShown} more item${d.notShown === 1 ? '' : 's'} above the threshold not shown (max_items).`));
  if (d.repeatsSuppressed > 0) {
    blocks.push(context(`${d.repeatsSuppressed} item${d.repeatsSuppressed === 1 ? '' : 's'} from earlier digests still active, not repeated (unchanged).`));
  }
  if (d.goneQuiet.length) {
    blocks.push(...packedSections([
      '*Gone quiet* (reported earlier, no occurrence in this window):',
      ...d.goneQuiet.map((q) => `• ${code(q.title) || escapeMrkdwn(q.signatureKey)}${q.lastSeen ? ` — last seen ${shortTime(q.lastSeen)}` : ''}`),
    ]));
  }
  return blocks;
}

/** Fallback/notification text: the headline and the item titles, within the text budget. */
function fallbackText(d: Digest, items: DigestItem[], part: string): string {
  const lines = [`${escapeMrkdwn(headline(d))}${part}`, ...items.map((it) => `• [${it.attentionBand}] ${escapeMrkdwn(it.title)}`)];
  return truncate(lines.join('\n'), SLACK_LIMITS.text);
}

/** The digest as one or more Slack messages, in order, each within the limits. */
export function slackMessages(d: Digest): SlackMessage[] {
  const body = digestBlocks(d);
  const perMessage = SLACK_LIMITS.blocks - 2; // room for the header and the context footer
  const chunks: unknown[][] = [];
  for (let i = 0; i < body.length; i += perMessage) chunks.push(body.slice(i, i + perMessage));
  const n = chunks.length;
  const window = formatWindow(d.lookbackMs);
  return chunks.map((blocks, k) => {
    const part = n > 1 ? ` (part ${k + 1}/${n})` : '';
    // items are the first body blocks, one each, so a chunk's items are the same slice
    const itemsHere = d.items.slice(k * perMessage, (k + 1) * perMessage);
    return {
      text: fallbackText(d, itemsHere, part),
      blocks: [
        header(`brainstem digest — ${d.name}: ${d.items.length} item${d.items.length === 1 ? '' : 's'}${part}`),
        ...blocks,
        context(`digest ${escapeMrkdwn(d.id)} · window ${window} · ${shortTime(d.generatedAt)}${part}`),
      ],
      unfurl_links: false,
      unfurl_media: false,
    };
  });
}

/**
 * Text-only messages (no blocks): what is resent once when Slack rejects the blocks
 * (`invalid_blocks`). The readable text, escaped, split on line boundaries.
 */
export function slackTextMessages(d: Digest): SlackMessage[] {
  const parts = packLines(escapeMrkdwn(renderText(d)).trimEnd().split('\n'), SLACK_LIMITS.text);
  if (parts.length === 0) parts.push(escapeMrkdwn(headline(d)));
  return parts.map((text) => ({ text, unfurl_links: false, unfurl_media: false }));
}
