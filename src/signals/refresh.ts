// The daemon's periodic signal refresh: score the window, store the candidates, promote those
// in the promote band to incident memory, and count remembered incidents recurring.
import type { SqliteStore } from '../store/sqlite.js';
import { listIncidents, promoteIncident, trackRecurrences } from './memory.js';
import { computeCandidates, type ScoringOptions } from './score.js';

/** Quiet time after which a remembered incident's signatures coming back count as a recurrence. */
export const DEFAULT_RECURRENCE_GAP_MS = 6 * 3_600_000;

export interface RefreshResult {
  candidates: number;
  promoted: number[];
  recurred: number[];
}

export function refreshSignals(store: SqliteStore, opts: ScoringOptions, now: number, recurrenceGapMs = DEFAULT_RECURRENCE_GAP_MS): RefreshResult {
  const recurred = trackRecurrences(store, now, recurrenceGapMs);
  const cands = computeCandidates(store, opts, now);
  const ids = store.saveCandidates(cands, now);
  const remembered = new Set(listIncidents(store).flatMap((i) => i.signatureKeys));
  const promoted: number[] = [];
  cands.forEach((c, i) => {
    if (c.decisionBand !== 'promote_to_incident_memory' || remembered.has(c.signatureKey)) return;
    const inc = promoteIncident(store, {
      signatureKey: c.signatureKey, title: c.title, summary: c.summary, sourceCandidateIds: [ids[i]!], confidence: c.confidence, auto: true,
    }, now, { horizonMs: opts.horizonMs ?? 30 * 60_000, historyMs: opts.lookbackMs });
    for (const k of inc.signatureKeys) remembered.add(k);
    promoted.push(inc.id);
  });
  return { candidates: cands.length, promoted, recurred };
}
