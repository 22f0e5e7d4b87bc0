// Builders for digest tests: candidates as the scoring engine shapes them, hourly series, and a
// composed digest of any size.
import { composeDigest, HOUR_MS, type Digest, type HistoryEntry, type SignatureSeries } from '../../src/digest/compose.js';
import type { CandidateRecord } from '../../src/store/types.js';

export const NOW = Date.UTC(2026, 11, 3, 9, 30);
export const DAY = 24 * HOUR_MS;

const SCORE_OF_BAND: Record<string, number> = { ignore_fast: 0.1, background: 0.3, watch: 0.5, investigate: 0.7, promote: 0.9 };
const DECISION_OF_BAND: Record<string, string> = {
  ignore_fast: 'ignore', background: 'watch', watch: 'review', investigate: 'urgent_human_review', promote: 'promote_to_incident_memory',
};

export function candidate(key: string, o: { band?: string; score?: number; count?: number; hosts?: string[]; title?: string } = {}): CandidateRecord {
  const band = o.band ?? 'watch';
  const hosts = o.hosts ?? ['db-01'];
  return {
    candidateType: 'signature', signatureKey: key, title: o.title ?? `sshd: Failed password for <*> (${key})`,
    summary: `${o.count ?? 10} occurrences in the last 24h`, scoreTotal: o.score ?? SCORE_OF_BAND[band]!,
    scoreBreakdown: { recurrence: 0.5, recovery: 0, spread: 0, novelty: 0, impact: 0.5, precursor: 0, memory_weight: 0 },
    decisionBand: DECISION_OF_BAND[band]!, attentionBand: band, sourceSignatureIds: [key], sourceEventIds: [],
    confidence: 0.5,
    metadata: {
      window_count: o.count ?? 10, hosts, host_count: hosts.length,
      first_seen: new Date(NOW - 3 * DAY).toISOString(), last_seen: new Date(NOW - 60_000).toISOString(),
    },
  };
}

/** Hourly buckets: `counts[i]` occurrences in the hour that starts `i` hours before the current one. */
export function series(counts: number[], lastSeen?: number): SignatureSeries {
  const cur = Math.floor(NOW / HOUR_MS);
  const buckets = new Map<number, number>();
  counts.forEach((c, i) => { if (c) buckets.set(cur - i, c); });
  return { buckets, ...(lastSeen !== undefined ? { lastSeen } : {}) };
}

export function history(key: string, o: Partial<HistoryEntry> = {}): HistoryEntry {
  return { signatureKey: key, attentionBand: 'watch', count: 10, hosts: 1, sentAt: NOW - DAY, ...o };
}

/** A digest with `n` items, each title `titleLen` characters long. */
export function bigDigest(n: number, titleLen = 60): Digest {
  const cands = Array.from({ length: n }, (_, i) => candidate(`sig${String(i).padStart(3, '0')}`, {
    band: 'investigate', score: 0.7 - i / 10_000, title: `${'x'.repeat(titleLen)} <!channel> & ${i}`,
  }));
  return composeDigest({ candidates: cands, series: new Map(), history: [], id: 'dg_test' }, {
    name: 'big', minAttention: 'watch', maxItems: 100, lookbackMs: DAY,
  }, NOW);
}
