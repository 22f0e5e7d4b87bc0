// Digest composition: pick the candidates worth an operator's attention, leave out what an
// earlier digest already said (unless it escalated), list what has gone quiet, and render it.
// Pure: candidates, hourly counts and the digest's history in, a Digest out; no store, no clock.
import { ATTENTION_ORDER } from '../signals/score.js';
import type { HistoryRow } from '../store/outbox.js';
import type { CandidateRecord } from '../store/types.js';

export const HOUR_MS = 3_600_000;
export const SPARK_SLOTS = 24;
const SPARK_CHARS = '▁▂▃▄▅▆▇█';

export interface DigestItem {
  signatureKey: string;
  title: string;
  summary: string;
  attentionBand: string;
  decisionBand: string;
  score: number;
  /** Occurrences in the lookback window, and in the window before it. */
  count: number;
  previousCount: number;
  /** Hosts affected (capped at `hostCap`), and how many there are in all. */
  hosts: string[];
  hostCount: number;
  firstSeen: string;
  lastSeen: string;
  /** Counts over the lookback in 24 equal slots, oldest first, and as ▁▂▃▄▅▆▇█. */
  series: number[];
  sparkline: string;
  /** Set when an earlier digest already reported this item and it has grown since: why it is back. */
  escalated?: string;
}

/** A pattern an earlier digest reported that had no occurrence in this lookback. */
export interface QuietItem {
  signatureKey: string;
  title: string;
  lastSeen: string;
}

export interface Digest {
  /** Unique per composed digest; delivery ids derive from it. */
  id: string;
  name: string;
  generatedAt: string;
  lookbackMs: number;
  items: DigestItem[];
  goneQuiet: QuietItem[];
  /** Items still active and already reported by an earlier digest, left out (no repetition). */
  repeatsSuppressed: number;
  /** Items worth reporting beyond max_items, left out. */
  notShown: number;
}

/** What an earlier digest of the same name recorded about a signature (table digest_history). */
export type HistoryEntry = HistoryRow;

/** Store-derived facts about a signature that the candidate does not carry. */
export interface SignatureSeries {
  /** Hourly counts, keyed by hour bucket (floor(ts / 1h)). */
  buckets: Map<number, number>;
  lastSeen?: number;
  title?: string;
}

export interface ComposeOptions {
  name: string;
  minAttention: string;
  maxItems: number;
  lookbackMs: number;
  /** Count or host growth (×) that makes an already-reported item worth repeating. */
  escalationFactor?: number;
  /** Most host names listed per item. */
  hostCap?: number;
}

export interface ComposeInput {
  candidates: CandidateRecord[];
  /** Hourly counts per signature key, covering two lookbacks before `now` (for the change). */
  series: Map<string, SignatureSeries>;
  history: HistoryEntry[];
  /** Unique id for this digest (the caller makes it, so composition stays deterministic). */
  id: string;
}

export const attentionRank = (band: string): number => ATTENTION_ORDER.indexOf(band);

/** Sum of hourly counts whose hour starts in [from, to). */
export function countBetween(buckets: Map<number, number>, fromMs: number, toMs: number): number {
  let n = 0;
  for (const [b, c] of buckets) {
    const t = b * HOUR_MS;
    if (t >= fromMs && t < toMs) n += c;
  }
  return n;
}

/**
 * Counts in 24 equal slots over the lookback (at least 24 h, so a slot is never shorter than
 * the store's hourly buckets), oldest first; the last slot ends at the current hour.
 */
export function sparkSeries(buckets: Map<number, number>, lookbackMs: number, now: number): number[] {
  const slots = new Array<number>(SPARK_SLOTS).fill(0);
  const end = (Math.floor(now / HOUR_MS) + 1) * HOUR_MS;
  const span = Math.max(lookbackMs, SPARK_SLOTS * HOUR_MS);
  const slotMs = span / SPARK_SLOTS;
  const start = end - span;
  for (const [b, c] of buckets) {
    const t = b * HOUR_MS;
    if (t < start || t >= end) continue;
    slots[Math.min(SPARK_SLOTS - 1, Math.floor((t - start) / slotMs))]! += c;
  }
  return slots;
}

/** ▁ for no occurrence, ▂…█ scaled to the busiest slot (so one occurrence is visible). */
export function sparkline(series: number[]): string {
  const max = Math.max(0, ...series);
  if (max === 0) return SPARK_CHARS[0]!.repeat(series.length);
  return series.map((n) => (n === 0 ? SPARK_CHARS[0]! : SPARK_CHARS[1 + Math.min(6, Math.floor(((n - 1) / max) * 7))]!)).join('');
}

/** Why an already-reported item deserves to be repeated, or undefined when it has not grown enough. */
export function escalation(prev: HistoryEntry, band: string, count: number, hosts: number, factor: number): string | undefined {
  const reasons: string[] = [];
  if (attentionRank(band) > attentionRank(prev.attentionBand)) reasons.push(`attention ${prev.attentionBand} → ${band}`);
  if (count > prev.count && count >= prev.count * factor) reasons.push(`count ${prev.count} → ${count}`);
  if (hosts > prev.hosts && hosts >= prev.hosts * factor) reasons.push(`hosts ${prev.hosts} → ${hosts}`);
  return reasons.length ? `escalated since the last digest: ${reasons.join(', ')}` : undefined;
}

/**
 * Compose a digest. A bare candidate list (the first form of this function) is still accepted:
 * no history, no counts beyond the candidates' own; prefer `composeFromStore` (run.ts).
 */
export function composeDigest(input: ComposeInput | CandidateRecord[], opts: ComposeOptions, now: number): Digest {
  if (Array.isArray(input)) input = { candidates: input, series: new Map(), history: [], id: `dg_${now.toString(36)}` };
  const min = attentionRank(opts.minAttention);
  const factor = opts.escalationFactor ?? 2;
  const hostCap = opts.hostCap ?? 5;
  const history = new Map(input.history.map((h) => [h.signatureKey, h]));
  const windowStart = now - opts.lookbackMs;
  let repeatsSuppressed = 0;
  let notShown = 0;
  const items: DigestItem[] = [];
  const ranked = input.candidates
    .filter((c) => attentionRank(c.attentionBand) >= min)
    .sort((a, b) => b.scoreTotal - a.scoreTotal || a.signatureKey.localeCompare(b.signatureKey));
  for (const c of ranked) {
    const buckets = input.series.get(c.signatureKey)?.buckets ?? new Map<number, number>();
    const count = Number(c.metadata.window_count ?? countBetween(buckets, windowStart, now + HOUR_MS));
    const allHosts = (c.metadata.hosts as string[] | undefined) ?? [];
    const hostCount = Number(c.metadata.host_count ?? allHosts.length);
    const prev = history.get(c.signatureKey);
    let escalated: string | undefined;
    if (prev) {
      escalated = escalation(prev, c.attentionBand, count, hostCount, factor);
      if (!escalated) {
        repeatsSuppressed++;
        continue;
      }
    }
    if (items.length >= opts.maxItems) {
      notShown++;
      continue;
    }
    const series = sparkSeries(buckets, opts.lookbackMs, now);
    items.push({
      signatureKey: c.signatureKey,
      title: c.title,
      summary: c.summary,
      attentionBand: c.attentionBand,
      decisionBand: c.decisionBand,
      score: c.scoreTotal,
      count,
      previousCount: countBetween(buckets, windowStart - opts.lookbackMs, windowStart),
      hosts: allHosts.slice(0, hostCap),
      hostCount,
      firstSeen: String(c.metadata.first_seen ?? ''),
      lastSeen: String(c.metadata.last_seen ?? ''),
      series,
      sparkline: sparkline(series),
      ...(escalated ? { escalated } : {}),
    });
  }
  // Gone quiet: reported before, and not one occurrence in this lookback.
  const goneQuiet: QuietItem[] = [];
  const candidateKeys = new Set(input.candidates.map((c) => c.signatureKey)); // a candidate is active by definition
  for (const h of input.history) {
    if (candidateKeys.has(h.signatureKey)) continue;
    const s = input.series.get(h.signatureKey);
    const active = s?.lastSeen !== undefined
      ? s.lastSeen >= windowStart
      : countBetween(s?.buckets ?? new Map(), Math.ceil(windowStart / HOUR_MS) * HOUR_MS, now + HOUR_MS) > 0;
    if (active) continue;
    goneQuiet.push({
      signatureKey: h.signatureKey,
      title: s?.title ?? h.title ?? h.signatureKey,
      lastSeen: s?.lastSeen ? new Date(s.lastSeen).toISOString() : '',
    });
  }
  goneQuiet.sort((a, b) => a.signatureKey.localeCompare(b.signatureKey));
  return {
    id: input.id, name: opts.name, generatedAt: new Date(now).toISOString(), lookbackMs: opts.lookbackMs,
    items, goneQuiet, repeatsSuppressed, notShown,
  };
}

/** True when there is nothing to tell: no items and nothing gone quiet. */
export const isEmptyDigest = (d: Digest): boolean => d.items.length === 0 && d.goneQuiet.length === 0;

/** The history rows this digest leaves behind: items upserted, gone-quiet patterns forgotten. */
export function historyUpdate(d: Digest, sentAt: number): { upsert: HistoryEntry[]; remove: string[] } {
  return {
    upsert: d.items.map((it) => ({
      signatureKey: it.signatureKey, attentionBand: it.attentionBand, count: it.count, hosts: it.hostCount, sentAt, title: it.title,
    })),
    remove: d.goneQuiet.map((q) => q.signatureKey),
  };
}

export function formatWindow(ms: number): string {
  if (ms % 86_400_000 === 0 && ms >= 2 * 86_400_000) return `${ms / 86_400_000}d`;
  if (ms % HOUR_MS === 0) return `${ms / HOUR_MS}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/** "14 (was 3, +367%)", "14 (new)", "14 (was 20, −30%)", "14 (unchanged)". */
export function formatChange(count: number, previous: number): string {
  if (previous === 0) return `${count} (none in the period before)`;
  if (count === previous) return `${count} (unchanged)`;
  const pct = Math.round(((count - previous) / previous) * 100);
  return `${count} (was ${previous}, ${pct > 0 ? '+' : '−'}${Math.abs(pct)}%)`;
}

/** "2026-12-03 09:12 UTC" */
export function shortTime(iso: string): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '?';
}

export function hostList(it: Pick<DigestItem, 'hosts' | 'hostCount'>): string {
  if (it.hostCount === 0) return 'no host recorded';
  const more = it.hostCount - it.hosts.length;
  return `${it.hostCount} host${it.hostCount === 1 ? '' : 's'}: ${it.hosts.join(', ')}${more > 0 ? ` +${more} more` : ''}`;
}

export function headline(d: Digest): string {
  const n = d.items.length;
  const parts = [`${n} item${n === 1 ? '' : 's'} worth attention`];
  if (d.goneQuiet.length) parts.push(`${d.goneQuiet.length} gone quiet`);
  return `brainstem digest "${d.name}": ${parts.join(', ')} (last ${formatWindow(d.lookbackMs)})`;
}

/** The digest as readable text (stdout receiver, `brainstem digest`). */
export function renderText(d: Digest): string {
  const lines = [headline(d), `${shortTime(d.generatedAt)} · digest ${d.id}`, ''];
  if (d.items.length === 0) lines.push('Nothing new above the attention threshold.');
  d.items.forEach((it, i) => {
    lines.push(`${i + 1}. [${it.attentionBand}] ${it.title}`);
    if (it.escalated) lines.push(`   ↑ ${it.escalated}`);
    lines.push(`   ${it.summary}`);
    lines.push(`   ${formatChange(it.count, it.previousCount)} · ${hostList(it)}`);
    lines.push(`   ${it.sparkline}  first ${shortTime(it.firstSeen)} · last ${shortTime(it.lastSeen)}`);
    lines.push(`   signature ${it.signatureKey} · score ${it.score.toFixed(2)}`);
  });
  if (d.notShown > 0) lines.push('', `${d.notShown} more item${d.notShown === 1 ? '' : 's'} above the threshold not shown (max_items).`);
  if (d.repeatsSuppressed > 0) {
    lines.push('', `${d.repeatsSuppressed} item${d.repeatsSuppressed === 1 ? '' : 's'} from earlier digests still active, not repeated (unchanged).`);
  }
  if (d.goneQuiet.length) {
    lines.push('', 'Gone quiet (reported earlier, no occurrence in this window):');
    for (const q of d.goneQuiet) lines.push(`  - ${q.title} (signature ${q.signatureKey}${q.lastSeen ? `, last seen ${shortTime(q.lastSeen)}` : ''})`);
  }
  return `${lines.join('\n')}\n`;
}

/** The digest in the wire format (snake_case). */
export function digestToWire(d: Digest): Record<string, unknown> {
  return {
    id: d.id,
    name: d.name,
    generated_at: d.generatedAt,
    lookback_seconds: Math.round(d.lookbackMs / 1000),
    items: d.items.map((it) => ({
      signature_key: it.signatureKey, title: it.title, summary: it.summary, attention_band: it.attentionBand,
      decision_band: it.decisionBand, score_total: it.score, count: it.count, previous_count: it.previousCount,
      hosts: it.hosts, host_count: it.hostCount, first_seen: it.firstSeen, last_seen: it.lastSeen,
      series: it.series, sparkline: it.sparkline, escalated: it.escalated ?? null,
    })),
    gone_quiet: d.goneQuiet.map((q) => ({ signature_key: q.signatureKey, title: q.title, last_seen: q.lastSeen || null })),
    repeats_suppressed: d.repeatsSuppressed,
    not_shown: d.notShown,
  };
}
