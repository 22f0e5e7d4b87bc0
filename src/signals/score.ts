// Scoring: each signature seen in the lookback window becomes a candidate whose seven
// dimensions lie in [0,1] and are explained in its metadata. Pure functions of the evidence
// (read from the store's aggregates by `collectEvidence`) and a clock.
import { SEVERITIES } from '../pipeline/classify.js';
import { HOUR_MS, type SqliteStore } from '../store/sqlite.js';
import type { CandidateRecord, ScoreBreakdown, SignatureWindowRow } from '../store/types.js';

export const DECISION_BANDS = [
  [0.85, 'promote_to_incident_memory'],
  [0.65, 'urgent_human_review'],
  [0.45, 'review'],
  [0.25, 'watch'],
  [0, 'ignore'],
] as const;

export const ATTENTION_OF: Record<string, string> = {
  ignore: 'ignore_fast',
  watch: 'background',
  review: 'watch',
  urgent_human_review: 'investigate',
  promote_to_incident_memory: 'promote',
};

export const ATTENTION_ORDER = ['ignore_fast', 'background', 'watch', 'investigate', 'promote'];

export function decisionBand(score: number): string {
  for (const [min, band] of DECISION_BANDS) if (score >= min) return band;
  return 'ignore';
}

export function attentionBand(decision: string): string {
  return ATTENTION_OF[decision] ?? 'ignore_fast';
}

export type Weights = ScoreBreakdown;

export interface ScoringOptions {
  lookbackMs: number;
  minOccurrences: number;
  weights: Weights;
  /** Hours of history before the window used as the baseline rate. */
  baselineHours?: number;
}

/** What the store knows about one signature, for scoring. */
export interface Evidence {
  sig: SignatureWindowRow;
  /** Counts per hour over the window, oldest first. */
  hourly: number[];
  /** Occurrences in the baseline period before the window, and its length in hours. */
  baselineCount: number;
  baselineHours: number;
  /** Distinct hosts seen (by any signature) in the window. */
  hostsSeen: number;
  /** Earliest first_seen of any signature: how far back the store's observation goes. */
  observedSince: number;
  recentEventIds: number[];
}

const clamp = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);
const round = (x: number) => Math.round(x * 1000) / 1000;

const FAMILY_IMPACT: Record<string, number> = {
  security: 0.9, failure: 0.8, resource: 0.75, auth: 0.6, network: 0.6, service_lifecycle: 0.5, generic: 0.2,
};
const SIGNAL_WORDS = /\b(critical|fatal|panic|down|denied|fail\w*|error|timeout|timed out|unreachable|corrupt\w*|oom|killed|refused|lost)\b/i;

export function scoreEvidence(ev: Evidence, opts: ScoringOptions, now: number): { breakdown: ScoreBreakdown; metadata: Record<string, unknown> } {
  const { sig } = ev;
  const n = sig.windowCount;
  const windowHours = Math.max(1, opts.lookbackMs / HOUR_MS);

  // recurrence: log-scaled count (1,000 in the window saturates) plus burstiness (peak hour vs mean hour)
  const logCount = Math.log10(1 + n) / 3;
  const active = ev.hourly.filter((c) => c > 0);
  const mean = n / Math.max(1, ev.hourly.length);
  const peak = Math.max(0, ...ev.hourly);
  const burstiness = mean > 0 ? clamp((peak / mean - 1) / (ev.hourly.length - 1 || 1)) : 0;
  const recurrence = clamp(0.8 * logCount + 0.2 * burstiness);

  // spread: hosts in the window, relative to all hosts seen, and in absolute terms
  const h = sig.hosts.length;
  const H = Math.max(ev.hostsSeen, h);
  const spread = h <= 1 ? 0 : clamp(0.5 * ((h - 1) / Math.max(1, H - 1)) + 0.5 * (Math.log2(h) / 5));

  // novelty: appeared late in what the store has observed (capped at a week), or a rate well
  // above the signature's own baseline. A fresh store sees everything as "first seen today";
  // measuring against the observed span keeps day-one noise from looking new.
  const ageMs = now - sig.firstSeen;
  const span = Math.min(Math.max(1, now - ev.observedSince), 7 * 24 * HOUR_MS);
  const newness = clamp(1 - ageMs / span);
  const windowRate = n / windowHours;
  const baselineRate = ev.baselineHours > 0 ? ev.baselineCount / ev.baselineHours : 0;
  const rateRatio = baselineRate > 0 ? windowRate / baselineRate : undefined;
  const rateChange = rateRatio !== undefined ? clamp(Math.log2(Math.max(1, rateRatio)) / 4) : 0;
  const novelty = Math.max(newness, rateChange);

  // impact: most severe level seen, event family, signal words in the template
  const sevScore = clamp((7 - sig.minSeverity) / 7);
  const famScore = FAMILY_IMPACT[sig.eventFamily] ?? 0.2;
  const words = SIGNAL_WORDS.exec(sig.template);
  const impact = clamp(0.45 * sevScore + 0.4 * famScore + (words ? 0.15 : 0));

  const breakdown: ScoreBreakdown = {
    recurrence: round(recurrence), recovery: 0, spread: round(spread), novelty: round(novelty), impact: round(impact),
    precursor: 0, memory_weight: 0,
  };
  const metadata = {
    window_count: n,
    newness: round(newness),
    active_hours: active.length,
    peak_hour_count: peak,
    hosts: sig.hosts.slice(0, 20).map((x) => x.host),
    host_count: h,
    hosts_seen: H,
    first_seen: new Date(sig.firstSeen).toISOString(),
    last_seen: new Date(sig.lastSeen).toISOString(),
    baseline_rate_per_hour: round(baselineRate),
    window_rate_per_hour: round(windowRate),
    rate_ratio: rateRatio === undefined ? null : round(rateRatio),
    most_severe: SEVERITIES[sig.minSeverity] ?? 'info',
    event_family: sig.eventFamily,
    signal_word: words?.[1] ?? null,
    template: sig.template,
    service: sig.service ?? null,
    // The core computes four dimensions; these three are fixed at 0 until the signal-quality work replaces them.
    constant_dimensions: ['recovery', 'precursor', 'memory_weight'],
  };
  return { breakdown, metadata };
}

export function totalScore(b: ScoreBreakdown, w: Weights): number {
  let sum = 0;
  let wsum = 0;
  for (const k of Object.keys(w) as Array<keyof ScoreBreakdown>) {
    sum += (b[k] ?? 0) * w[k];
    wsum += w[k];
  }
  return wsum > 0 ? round(sum / wsum) : 0;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function ago(ms: number): string {
  if (ms < 90_000) return `${Math.max(0, Math.round(ms / 1000))}s ago`;
  if (ms < 90 * 60_000) return `${Math.round(ms / 60_000)}m ago`;
  if (ms < 48 * HOUR_MS) return `${Math.round(ms / HOUR_MS)}h ago`;
  return `${Math.round(ms / 86_400_000)}d ago`;
}

/** Title and summary written from the evidence: counts, hosts, first/last seen, service, rate change. */
export function describe(ev: Evidence, b: ScoreBreakdown, opts: ScoringOptions, now: number): { title: string; summary: string } {
  const { sig } = ev;
  const tpl = sig.template.length > 90 ? `${sig.template.slice(0, 87)}…` : sig.template;
  const who = sig.service ? `${sig.service}: ` : '';
  const hosts = sig.hosts.map((x) => x.host);
  const window = `${Math.round(opts.lookbackMs / HOUR_MS)}h`;
  const title = `${who}${tpl}`;
  const parts = [`${plural(sig.windowCount, 'occurrence')} in the last ${window}`];
  if (hosts.length > 0) {
    const shown = hosts.slice(0, 5).join(', ');
    parts.push(`on ${plural(hosts.length, 'host')} (${shown}${hosts.length > 5 ? ', …' : ''})`);
  }
  const lines = [parts.join(' ')];
  const firstAge = now - sig.firstSeen;
  lines.push(firstAge <= opts.lookbackMs ? `new: first seen ${ago(firstAge)}` : `first seen ${ago(firstAge)}, last seen ${ago(now - sig.lastSeen)}`);
  if (ev.baselineCount > 0 && b.novelty > 0.2) {
    const ratio = (sig.windowCount / Math.max(1, opts.lookbackMs / HOUR_MS)) / (ev.baselineCount / ev.baselineHours);
    lines.push(`rate ×${ratio.toFixed(1)} its usual`);
  }
  return { title, summary: `${lines.join('; ')}.` };
}

/** Read the evidence for every signature active in the window. */
export function collectEvidence(store: SqliteStore, opts: ScoringOptions, now: number): Evidence[] {
  const since = now - opts.lookbackMs;
  const fromBucket = Math.floor(since / HOUR_MS);
  const toBucket = Math.floor(now / HOUR_MS);
  const baselineHours = opts.baselineHours ?? 7 * 24;
  const hostsSeen = store.hostsSeen(since);
  const observedSince = store.observedSince() ?? since;
  const out: Evidence[] = [];
  for (const sig of store.signatureWindow(since)) {
    if (sig.windowCount < opts.minOccurrences) continue;
    const buckets = store.bucketCounts(sig.signatureKey, fromBucket - baselineHours, toBucket);
    const hourly: number[] = [];
    for (let b = fromBucket; b <= toBucket; b++) hourly.push(buckets.get(b) ?? 0);
    let baselineCount = 0;
    for (const [b, c] of buckets) if (b < fromBucket) baselineCount += c;
    // the baseline only counts hours the signature could have been seen (it existed)
    const firstBucket = Math.floor(sig.firstSeen / HOUR_MS);
    const effectiveBaseline = Math.max(0, Math.min(baselineHours, fromBucket - firstBucket));
    out.push({ sig, hourly, baselineCount, baselineHours: effectiveBaseline, hostsSeen, observedSince, recentEventIds: store.recentEventIds(sig.signatureKey, 10) });
  }
  return out;
}

/** Candidates for all signatures active in the window, best first. */
export function computeCandidates(store: SqliteStore, opts: ScoringOptions, now: number): CandidateRecord[] {
  return collectEvidence(store, opts, now)
    .map((ev) => {
      const { breakdown, metadata } = scoreEvidence(ev, opts, now);
      const score = totalScore(breakdown, opts.weights);
      const band = decisionBand(score);
      const { title, summary } = describe(ev, breakdown, opts, now);
      return {
        candidateType: 'signature',
        signatureKey: ev.sig.signatureKey,
        title,
        summary,
        scoreTotal: score,
        scoreBreakdown: breakdown,
        decisionBand: band,
        attentionBand: attentionBand(band),
        sourceSignatureIds: [ev.sig.signatureKey],
        sourceEventIds: ev.recentEventIds,
        // more evidence, more confidence: saturates around 50 occurrences
        confidence: round(clamp(Math.log10(1 + ev.sig.windowCount) / Math.log10(51))),
        metadata,
      } satisfies CandidateRecord;
    })
    .sort((a, b) => b.scoreTotal - a.scoreTotal || a.signatureKey.localeCompare(b.signatureKey));
}

/** The wire form of a candidate (design.md §4). */
export function candidateToWire(c: CandidateRecord & { id?: number }): Record<string, unknown> {
  return {
    ...(c.id !== undefined ? { id: c.id } : {}),
    candidate_type: c.candidateType,
    title: c.title,
    summary: c.summary,
    score_total: c.scoreTotal,
    score_breakdown: c.scoreBreakdown,
    decision_band: c.decisionBand,
    attention_band: c.attentionBand,
    source_signature_ids: c.sourceSignatureIds,
    source_event_ids: c.sourceEventIds,
    confidence: c.confidence,
    metadata: c.metadata,
  };
}
