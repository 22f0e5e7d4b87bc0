// The precursor dimension: how often a signature's occurrences on a host are followed, within a
// horizon, by something worse on the same host — an event more severe than the signature itself
// or a remembered incident's signature — compared with how often that happens after any minute
// on those hosts (the base rate), so that noise on a busy, erroring host does not look prophetic.
import { SEVERITIES } from '../pipeline/classify.js';
import type { MinuteRow } from './history.js';

export interface PrecursorEvidence {
  /** Host-minutes with this signature. */
  occurrences: number;
  /** Of those, followed within the horizon by a more severe event or an incident signature. */
  followed: number;
  /** The same fraction over all active minutes on the signature's hosts. */
  baseRate: number;
  /** Lift over the base rate, in [0,1]. */
  score: number;
  /** Incident signatures that followed it. */
  incidentFollowers: string[];
}

const CRIT_WORDS = /\b(panic|fatal|critical|emerg\w*|kernel bug|oops|shutting down filesystem)\b/i;
const ERR_WORDS = /\b(error\w*|fail\w*|failure|exception|segfault|corrupt\w*|i\/o error|oom|out of memory)\b/i;
const WARN_WORDS = /\b(warn\w*|down|lost|unreachable|timeout|timed out|refused|retry\w*|degraded|exhausted)\b/i;

/** The severity a signature effectively has: the most severe declared, or what its words say. */
export function effectiveSeverity(template: string, declaredRank: number): number {
  const inferred = CRIT_WORDS.test(template) ? 2 : ERR_WORDS.test(template) ? 3 : WARN_WORDS.test(template) ? 4 : 6;
  return Math.min(declaredRank, inferred);
}

export const severityName = (rank: number): string => SEVERITIES[rank] ?? 'info';

/** Fewer host-minutes than this give a damped score: two coincidences are not a pattern. */
const MIN_OCCURRENCES = 4;

/**
 * Precursor evidence for every signature in `rows` (ordered by host, minute).
 * `severityOf` gives each signature's effective severity rank (0 emerg … 7 debug).
 */
export function computePrecursors(
  rows: MinuteRow[], severityOf: (key: string) => number, incidentKeys: ReadonlySet<string>, horizonMinutes: number,
): Map<string, PrecursorEvidence> {
  const acc = new Map<string, { occ: number; followed: number; baseNum: number; baseDen: number; followers: Set<string> }>();
  let i = 0;
  while (i < rows.length) {
    const host = rows[i]!.host;
    // this host's active minutes: most severe rank and incident signatures in each
    const minutes: number[] = [];
    const minSev: number[] = [];
    const incidents: Array<string[] | undefined> = [];
    const start = i;
    for (; i < rows.length && rows[i]!.host === host; i++) {
      const r = rows[i]!;
      const sev = severityOf(r.signature_key);
      const last = minutes.length - 1;
      if (last < 0 || minutes[last] !== r.minute) {
        minutes.push(r.minute);
        minSev.push(sev);
        incidents.push(undefined);
      } else if (sev < minSev[last]!) minSev[last] = sev;
      if (incidentKeys.has(r.signature_key)) (incidents[minutes.length - 1] ??= []).push(r.signature_key);
    }
    if (host === '') continue; // without a host there is no "same host" to follow on
    // what lies ahead of each active minute, within the horizon
    const aheadSev = new Array<number>(minutes.length).fill(99);
    const aheadIncidents: Array<Set<string> | undefined> = new Array(minutes.length);
    for (let a = 0; a < minutes.length; a++) {
      for (let b = a + 1; b < minutes.length && minutes[b]! - minutes[a]! <= horizonMinutes; b++) {
        if (minSev[b]! < aheadSev[a]!) aheadSev[a] = minSev[b]!;
        const inc = incidents[b];
        if (inc) for (const k of inc) (aheadIncidents[a] ??= new Set()).add(k);
      }
    }
    // base rate per severity level on this host: share of active minutes followed by worse
    const baseFollowed = new Array<number>(9).fill(0);
    for (let a = 0; a < minutes.length; a++) {
      for (let s = 0; s <= 8; s++) if (aheadSev[a]! < s || aheadIncidents[a]) baseFollowed[s]!++;
    }
    let idx = 0;
    for (let r = start; r < i; r++) {
      const row = rows[r]!;
      while (minutes[idx] !== row.minute) idx++;
      const sev = severityOf(row.signature_key);
      let a = acc.get(row.signature_key);
      if (!a) acc.set(row.signature_key, (a = { occ: 0, followed: 0, baseNum: 0, baseDen: 0, followers: new Set() }));
      a.occ++;
      const inc = aheadIncidents[idx];
      let incidentAhead = false;
      if (inc) for (const k of inc) if (k !== row.signature_key) { incidentAhead = true; a.followers.add(k); }
      if (aheadSev[idx]! < sev || incidentAhead) a.followed++;
      a.baseNum += baseFollowed[Math.min(8, sev)]! / minutes.length;
      a.baseDen++;
    }
  }
  const out = new Map<string, PrecursorEvidence>();
  for (const [key, a] of acc) {
    const f = a.followed / a.occ;
    const base = a.baseDen > 0 ? a.baseNum / a.baseDen : 0;
    const lift = base < 1 ? Math.max(0, (f - base) / (1 - base)) : 0;
    const damp = Math.min(1, a.occ / MIN_OCCURRENCES);
    out.set(key, { occurrences: a.occ, followed: a.followed, baseRate: base, score: lift * damp, incidentFollowers: [...a.followers].slice(0, 5) });
  }
  return out;
}
