// Digest composition: pick the candidates worth an operator's attention and render them.
// Pure: candidates and the store's hourly counts in, a Digest out.
import { ATTENTION_ORDER } from '../signals/score.js';
import type { CandidateRecord } from '../store/types.js';

export interface DigestItem {
  signatureKey: string;
  title: string;
  summary: string;
  attentionBand: string;
  decisionBand: string;
  score: number;
  count: number;
  hosts: string[];
  firstSeen: string;
  lastSeen: string;
}

export interface Digest {
  name: string;
  generatedAt: string;
  lookbackMs: number;
  items: DigestItem[];
}

export interface ComposeOptions {
  name: string;
  minAttention: string;
  maxItems: number;
  lookbackMs: number;
}

export const attentionRank = (band: string): number => ATTENTION_ORDER.indexOf(band);

export function composeDigest(candidates: CandidateRecord[], opts: ComposeOptions, now: number): Digest {
  const min = attentionRank(opts.minAttention);
  const items = candidates
    .filter((c) => attentionRank(c.attentionBand) >= min)
    .sort((a, b) => b.scoreTotal - a.scoreTotal)
    .slice(0, opts.maxItems)
    .map((c) => ({
      signatureKey: c.signatureKey,
      title: c.title,
      summary: c.summary,
      attentionBand: c.attentionBand,
      decisionBand: c.decisionBand,
      score: c.scoreTotal,
      count: Number(c.metadata.window_count ?? 0),
      hosts: (c.metadata.hosts as string[] | undefined) ?? [],
      firstSeen: String(c.metadata.first_seen ?? ''),
      lastSeen: String(c.metadata.last_seen ?? ''),
    }));
  return { name: opts.name, generatedAt: new Date(now).toISOString(), lookbackMs: opts.lookbackMs, items };
}

/** The digest as readable text (stdout receiver, `brainstem digest`). */
export function renderText(d: Digest): string {
  const hours = Math.round(d.lookbackMs / 3_600_000);
  const head = `brainstem digest "${d.name}" — ${d.generatedAt} — last ${hours}h — ${d.items.length} item${d.items.length === 1 ? '' : 's'}`;
  if (d.items.length === 0) return `${head}\nNothing above the attention threshold.\n`;
  const lines = [head, ''];
  d.items.forEach((it, i) => {
    lines.push(`${i + 1}. [${it.attentionBand}] ${it.title}  (score ${it.score.toFixed(2)})`);
    lines.push(`   ${it.summary}`);
    lines.push(`   signature ${it.signatureKey}`);
  });
  return `${lines.join('\n')}\n`;
}

/** The digest in the wire format (snake_case). */
export function digestToWire(d: Digest): Record<string, unknown> {
  return {
    name: d.name,
    generated_at: d.generatedAt,
    lookback_seconds: Math.round(d.lookbackMs / 1000),
    items: d.items.map((it) => ({
      signature_key: it.signatureKey, title: it.title, summary: it.summary, attention_band: it.attentionBand,
      decision_band: it.decisionBand, score_total: it.score, count: it.count, hosts: it.hosts,
      first_seen: it.firstSeen, last_seen: it.lastSeen,
    })),
  };
}
