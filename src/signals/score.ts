// Scoring: each signature seen in the lookback window becomes a candidate whose seven
// dimensions lie in [0,1] and are explained in its metadata (docs/scoring.md has the formulas).
// Pure functions of the evidence (read from the store's aggregates by `collectEvidence`) and a clock.
import { SEVERITIES } from '../pipeline/classify.js';
import { HOUR_MS, type SqliteStore } from '../store/sqlite.js';
import type { CandidateRecord, ScoreBreakdown, SignatureWindowRow } from '../store/types.js';
import { MINUTE_MS, minuteActivity, stateTransitions } from './history.js';
import { listIncidents, memoryMatches, type MemoryMatch } from './memory.js';
import { computePrecursors, effectiveSeverity, severityName, type PrecursorEvidence } from './precursor.js';
import { pairRecoveries, recoveryScore, type RecoveryEvidence } from './recovery.js';

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
  /** A failure and a recovery of the same subject this close form one cycle (recovery). */
  pairWindowMs?: number;
  /** How soon after a signature something worse must follow to count (precursor). */
  horizonMs?: number;
}

export const DEFAULT_PAIR_WINDOW_MS = 30 * 60_000;
export const DEFAULT_HORIZON_MS = 30 * 60_000;

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
  /** Hosts of this signature that it was not seen on before the window's second half. */
  newHosts: number;
  /** Earliest first_seen of any signature: how far back the store's observation goes. */
  observedSince: number;
  recentEventIds: number[];
  /** Most severe level the signature declares or its words imply, 0 (emerg) … 7 (debug). */
  severity: number;
  recovery?: RecoveryEvidence;
  precursor?: PrecursorEvidence;
  memory?: MemoryMatch;
}

const clamp = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);
const round = (x: number) => Math.round(x * 1000) / 1000;

const FAMILY_IMPACT: Record<string, number> = {
  security: 0.9, failure: 0.8, resource: 0.75, auth: 0.6, network: 0.6, service_lifecycle: 0.5, generic: 0.2,
};
const SIGNAL_WORDS = /\b(critical|fatal|panic|down|denied|fail\w*|error|timeout|timed out|unreachable|corrupt\w*|oom|killed|refused|lost|invalid|exhausted|read-only)\b/i;
/** Routine words that lower impact: a session opened, a clock adjusted, a lease renewed. */
const ROUTINE_WORDS = /\b(session opened|session closed|accepted|dhcpack|dhcprequest|adjusting|synchroni[sz]ed|started session|new session|removed session|cmd|logrotate)\b/i;

export function scoreEvidence(ev: Evidence, opts: ScoringOptions, now: number): { breakdown: ScoreBreakdown; metadata: Record<string, unknown> } {
  const { sig } = ev;
  const n = sig.windowCount;
  const windowHours = Math.max(1, opts.lookbackMs / HOUR_MS);

  // recurrence: log-scaled count (1,000 in the window saturates) and burstiness — how unevenly
  // the count is spread over the window's hours (0 for a steady trickle, 1 when all in one hour)
  const logCount = clamp(Math.log10(1 + n) / 3);
  const active = ev.hourly.filter((c) => c > 0);
  const mean = n / Math.max(1, ev.hourly.length);
  const peak = Math.max(0, ...ev.hourly);
  const burstiness = mean > 0 && ev.hourly.length > 1 ? clamp((peak / mean - 1) / (ev.hourly.length - 1)) : 0;
  const concentration = n > 0 ? clamp(1 - active.length / ev.hourly.length) : 0;
  // evidence: a handful of lines is too few to call bursty or new (saturates at 10)
  const evidence = clamp(Math.log10(1 + n) / Math.log10(11));
  const recurrence = clamp(0.6 * logCount + 0.4 * evidence * Math.sqrt(burstiness * concentration));

  // spread: hosts in the window relative to all hosts seen, in absolute terms, and growth (hosts
  // it reached only in the window's second half)
  const h = sig.hosts.length;
  const H = Math.max(ev.hostsSeen, h);
  const share = h <= 1 ? 0 : (h - 1) / Math.max(1, H - 1);
  const breadth = h <= 1 ? 0 : Math.log2(h) / 5;
  const growth = h <= 1 ? 0 : ev.newHosts / h;
  const spread = clamp(0.35 * share + 0.35 * breadth + 0.3 * growth);

  // novelty: appeared late in what the store has observed (capped at a week), or a rate well
  // above the signature's own baseline. A fresh store sees everything as "first seen today";
  // measuring against the observed span keeps day-one noise from looking new.
  const ageMs = now - sig.firstSeen;
  const span = Math.min(Math.max(1, now - ev.observedSince), 7 * 24 * HOUR_MS);
  const newness = clamp(1 - ageMs / span);
  const windowRate = n / windowHours;
  const baselineRate = ev.baselineHours > 0 ? ev.baselineCount / ev.baselineHours : 0;
  const rateRatio = baselineRate > 0 ? windowRate / baselineRate : undefined;
  // the last quarter of the window against the rest: a pattern ramping up inside the window
  // (only over the hours the signature and the store existed: a young store is not a ramp)
  const lifeStart = Math.floor(Math.max(sig.firstSeen, ev.observedSince) / HOUR_MS) - Math.floor((now - opts.lookbackMs) / HOUR_MS);
  const life = ev.hourly.slice(Math.max(0, Math.min(ev.hourly.length - 1, lifeStart)));
  const quarter = Math.max(1, Math.floor(life.length / 4));
  const recent = life.slice(-quarter).reduce((a, b) => a + b, 0) / quarter;
  const earlier = life.length > quarter ? life.slice(0, -quarter).reduce((a, b) => a + b, 0) / (life.length - quarter) : 0;
  const ramp = earlier > 0 ? recent / earlier : 1;
  const rateChange = Math.max(
    rateRatio !== undefined ? clamp(Math.log2(Math.max(1, rateRatio)) / 4) : 0,
    Number.isFinite(ramp) ? clamp(Math.log2(Math.max(1, ramp)) / 5) : 1,
  );
  const novelty = evidence * Math.max(newness, rateChange);

  // impact: most severe level declared or implied by the words, event family, signal words
  const sevScore = clamp((6 - ev.severity) / 4);
  const famScore = FAMILY_IMPACT[sig.eventFamily] ?? 0.2;
  const words = SIGNAL_WORDS.exec(sig.template);
  const routine = ROUTINE_WORDS.test(sig.template);
  const impact = clamp(0.45 * sevScore + 0.35 * famScore + (words ? 0.2 : 0) - (routine ? 0.3 : 0));

  const recovery = recoveryScore(ev.recovery?.cycles ?? 0);
  const precursor = clamp(ev.precursor?.score ?? 0);
  const memoryWeight = clamp(ev.memory?.weight ?? 0);

  const breakdown: ScoreBreakdown = {
    recurrence: round(recurrence), recovery: round(recovery), spread: round(spread), novelty: round(novelty), impact: round(impact),
    precursor: round(precursor), memory_weight: round(memoryWeight),
  };
  const metadata = {
    window_count: n,
    burstiness: round(burstiness),
    active_hours: active.length,
    peak_hour_count: peak,
    hosts: sig.hosts.slice(0, 20).map((x) => x.host),
    host_count: h,
    hosts_seen: H,
    new_hosts: ev.newHosts,
    first_seen: new Date(sig.firstSeen).toISOString(),
    last_seen: new Date(sig.lastSeen).toISOString(),
    newness: round(newness),
    baseline_rate_per_hour: round(baselineRate),
    window_rate_per_hour: round(windowRate),
    rate_ratio: rateRatio === undefined ? null : round(rateRatio),
    ramp_ratio: Number.isFinite(ramp) ? round(ramp) : null,
    most_severe: SEVERITIES[sig.minSeverity] ?? 'info',
    effective_severity: severityName(ev.severity),
    event_family: sig.eventFamily,
    signal_word: words?.[1] ?? null,
    routine: routine,
    recovery_cycles: ev.recovery?.cycles ?? 0,
    recovery_failures: ev.recovery?.failures ?? 0,
    recovery_recoveries: ev.recovery?.recoveries ?? 0,
    recovery_subjects: ev.recovery?.subjects ?? [],
    precursor_occurrences: ev.precursor?.occurrences ?? 0,
    precursor_followed: ev.precursor?.followed ?? 0,
    precursor_base_rate: round(ev.precursor?.baseRate ?? 0),
    precursor_incident_followers: ev.precursor?.incidentFollowers ?? [],
    memory: ev.memory
      ? { incident_id: ev.memory.incidentId, title: ev.memory.title, role: ev.memory.role, similarity: round(ev.memory.similarity), recurrence_count: ev.memory.recurrenceCount }
      : null,
    template: sig.template,
    service: sig.service ?? null,
  };
  return { breakdown, metadata };
}

/** Exponent of the weighted power mean that forms score_total (see docs/scoring.md). */
export const SCORE_POWER = 2;

/**
 * The weighted quadratic mean of the dimensions: with an arithmetic mean a pattern that is
 * strong on the three dimensions that apply to it (a flapping link has no spread and no
 * memory) would be drowned by the four that do not.
 */
export function totalScore(b: ScoreBreakdown, w: Weights): number {
  let sum = 0;
  let wsum = 0;
  for (const k of Object.keys(w) as Array<keyof ScoreBreakdown>) {
    sum += (b[k] ?? 0) ** SCORE_POWER * w[k];
    wsum += w[k];
  }
  return wsum > 0 ? round((sum / wsum) ** (1 / SCORE_POWER)) : 0;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function ago(ms: number): string {
  if (ms < 90_000) return `${Math.max(0, Math.round(ms / 1000))}s ago`;
  if (ms < 90 * 60_000) return `${Math.round(ms / 60_000)}m ago`;
  if (ms < 48 * HOUR_MS) return `${Math.round(ms / HOUR_MS)}h ago`;
  return `${Math.round(ms / 86_400_000)}d ago`;
}

/** Title and summary written from the evidence: counts, hosts, first/last seen, service, rate change, cycles, memory. */
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
  // "new" only for a pattern that appeared after the store had been watching for a while: on a
  // fresh store everything is first seen today, and calling steady noise new would mislead.
  const appearedLate = sig.firstSeen - ev.observedSince > HOUR_MS;
  lines.push(firstAge <= opts.lookbackMs
    ? `${appearedLate ? 'new: ' : ''}first seen ${ago(firstAge)}`
    : `first seen ${ago(firstAge)}, last seen ${ago(now - sig.lastSeen)}`);
  if (ev.newHosts > 0 && hosts.length > 1) lines.push(`spreading: reached ${plural(ev.newHosts, 'new host')} recently`);
  if (ev.baselineCount > 0 && b.novelty > 0.2) {
    const ratio = (sig.windowCount / Math.max(1, opts.lookbackMs / HOUR_MS)) / (ev.baselineCount / ev.baselineHours);
    if (ratio >= 1.5) lines.push(`rate ×${ratio.toFixed(1)} its usual`);
  }
  if (ev.recovery && ev.recovery.cycles > 0) {
    lines.push(`${ev.recovery.cycles >= 3 ? 'flapping: ' : ''}${plural(ev.recovery.cycles, 'failure/recovery cycle')} on ${ev.recovery.hosts.slice(0, 3).join(', ')}`);
  }
  if (ev.precursor && b.precursor >= 0.3) {
    lines.push(`followed by worse events within ${Math.round((opts.horizonMs ?? DEFAULT_HORIZON_MS) / 60_000)}m in ${ev.precursor.followed} of ${ev.precursor.occurrences} occurrences`);
  }
  if (ev.memory) {
    const role = ev.memory.role === 'primary' ? '' : ev.memory.role === 'similar' ? ' (similar signature)' : ` (its ${ev.memory.role})`;
    const rec = ev.memory.recurrenceCount > 0 ? `, recurred ${plural(ev.memory.recurrenceCount, 'time')}` : '';
    lines.push(`resembles incident #${ev.memory.incidentId} "${ev.memory.title}"${role}${rec}`);
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
  const active = store.signatureWindow(since);

  const severity = new Map<string, number>();
  for (const s of active) severity.set(s.signatureKey, effectiveSeverity(s.template, s.minSeverity));
  const severityOf = (k: string) => severity.get(k) ?? 6;
  const incidents = listIncidents(store);
  const incidentKeys = new Set<string>();
  for (const inc of incidents) {
    for (const s of inc.metadata.signatures ?? []) if (s.role !== 'precursor') incidentKeys.add(s.key);
    if (!inc.metadata.signatures) for (const k of inc.signatureKeys) incidentKeys.add(k);
  }
  const fromMinute = Math.floor(since / MINUTE_MS);
  const toMinute = Math.floor(now / MINUTE_MS);
  const pairMinutes = Math.round((opts.pairWindowMs ?? DEFAULT_PAIR_WINDOW_MS) / MINUTE_MS);
  const horizonMinutes = Math.round((opts.horizonMs ?? DEFAULT_HORIZON_MS) / MINUTE_MS);
  const minuteRows = minuteActivity(store, fromMinute, toMinute);
  const precursors = computePrecursors(minuteRows, severityOf, incidentKeys, horizonMinutes);
  const recoveries = pairRecoveries(stateTransitions(store, fromMinute - pairMinutes, toMinute), pairMinutes);
  const memory = memoryMatches(incidents, active.map((s) => ({ key: s.signatureKey, template: s.template })));
  // a host is new for a signature when the signature reached it only in the second half of its
  // observed life in the window (so that a young store's hosts are not all "new")
  const observedFrom = Math.max(since, observedSince);
  const firstOnHost = store.stmt('SELECT host, first_seen FROM signature_hosts WHERE signature_key = ? AND last_seen >= ?');

  const out: Evidence[] = [];
  for (const sig of active) {
    if (sig.windowCount < opts.minOccurrences) continue;
    const buckets = store.bucketCounts(sig.signatureKey, fromBucket - baselineHours, toBucket);
    const hourly: number[] = [];
    for (let b = fromBucket; b <= toBucket; b++) hourly.push(buckets.get(b) ?? 0);
    let baselineCount = 0;
    for (const [b, c] of buckets) if (b < fromBucket) baselineCount += c;
    // the baseline only counts hours the signature could have been seen (it existed)
    const firstBucket = Math.floor(sig.firstSeen / HOUR_MS);
    const effectiveBaseline = Math.max(0, Math.min(baselineHours, fromBucket - firstBucket));
    let newHosts = 0;
    if (sig.hosts.length > 1) {
      const midpoint = Math.max(observedFrom, sig.firstSeen) + (now - Math.max(observedFrom, sig.firstSeen)) / 2;
      for (const r of firstOnHost.all(sig.signatureKey, since) as Array<{ host: string; first_seen: number }>) if (r.first_seen >= midpoint) newHosts++;
    }
    out.push({
      sig, hourly, baselineCount, baselineHours: effectiveBaseline, hostsSeen, newHosts, observedSince,
      recentEventIds: store.recentEventIds(sig.signatureKey, 10), severity: severityOf(sig.signatureKey),
      recovery: recoveries.get(sig.signatureKey), precursor: precursors.get(sig.signatureKey), memory: memory.get(sig.signatureKey),
    });
  }
  return out;
}

/**
 * Signatures that fail and recover together (they share a failure/recovery subject on a host)
 * are one pattern: the best-scoring one stands for the group, the others join its signatures.
 */
function groupBySubject(cands: Array<CandidateRecord & { subjects: string[] }>): CandidateRecord[] {
  const leaderOf = new Map<string, CandidateRecord>();
  const out: CandidateRecord[] = [];
  for (const c of cands) {
    const leader = c.subjects.map((s) => leaderOf.get(s)).find((l) => l !== undefined);
    const { subjects, ...cand } = c;
    if (leader) {
      leader.sourceSignatureIds.push(c.signatureKey);
      (leader.metadata.grouped_templates as string[]).push(c.title);
      for (const s of subjects) if (!leaderOf.has(s)) leaderOf.set(s, leader);
      continue;
    }
    cand.metadata.grouped_templates = [];
    for (const s of subjects) leaderOf.set(s, cand);
    out.push(cand);
  }
  for (const c of out) {
    const n = c.sourceSignatureIds.length - 1;
    if (n > 0) c.summary = `${c.summary.slice(0, -1)}; with ${n} related signature${n === 1 ? '' : 's'} of the same subject.`;
  }
  return out;
}

/** Candidates for all signatures active in the window, best first. */
export function computeCandidates(store: SqliteStore, opts: ScoringOptions, now: number): CandidateRecord[] {
  const scored = collectEvidence(store, opts, now)
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
        metadata: metadata as Record<string, unknown>,
        subjects: ev.recovery ? ev.recovery.pairs : [],
      };
    })
    .sort((a, b) => b.scoreTotal - a.scoreTotal || a.signatureKey.localeCompare(b.signatureKey));
  return groupBySubject(scored);
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
