// The recovery dimension: failure/recovery pairing. A subject (link, tunnel, unit, LogicMonitor
// datapoint) on a host that fails and recovers within the pairing window completes one cycle;
// every signature that took part in a subject's cycles shares them, so flapping scores high.
import { CYCLE, FAIL, RECOVER } from './state.js';
import type { TransitionRow } from './history.js';

export interface RecoveryEvidence {
  /** Completed fail → recover cycles of the subjects this signature took part in. */
  cycles: number;
  failures: number;
  recoveries: number;
  subjects: string[];
  hosts: string[];
  /** Every `host subject` that completed a cycle (groups a pattern's signatures). */
  pairs: string[];
}

/** Cycles at which recovery saturates to 1: a subject that flapped this often is flapping. */
export const RECOVERY_SATURATION = 6;

export function recoveryScore(cycles: number): number {
  return cycles <= 0 ? 0 : Math.min(1, Math.log2(1 + cycles) / Math.log2(1 + RECOVERY_SATURATION));
}

/** Pair the state changes of each (host, subject); rows ordered by host, subject, minute. */
export function pairRecoveries(rows: TransitionRow[], pairWindowMinutes: number): Map<string, RecoveryEvidence> {
  const out = new Map<string, RecoveryEvidence>();
  let i = 0;
  while (i < rows.length) {
    const host = rows[i]!.host;
    const subject = rows[i]!.subject;
    let j = i;
    let cycles = 0;
    let failures = 0;
    let recoveries = 0;
    let failedAt: number | undefined;
    const sigs = new Set<string>();
    for (; j < rows.length && rows[j]!.host === host && rows[j]!.subject === subject; j++) {
      const r = rows[j]!;
      sigs.add(r.signature_key);
      if (r.polarity === FAIL) {
        failures += r.count;
        failedAt ??= r.minute;
      } else if (r.polarity === RECOVER) {
        recoveries += r.count;
        if (failedAt !== undefined && r.minute - failedAt <= pairWindowMinutes) cycles++;
        failedAt = undefined;
      } else if (r.polarity !== CYCLE) continue;
    }
    if (cycles > 0) {
      for (const key of sigs) {
        let ev = out.get(key);
        if (!ev) out.set(key, (ev = { cycles: 0, failures: 0, recoveries: 0, subjects: [], hosts: [], pairs: [] }));
        ev.cycles += cycles;
        ev.failures += failures;
        ev.recoveries += recoveries;
        if (ev.subjects.length < 5 && !ev.subjects.includes(subject)) ev.subjects.push(subject);
        if (ev.hosts.length < 20 && !ev.hosts.includes(host)) ev.hosts.push(host);
        ev.pairs.push(`${host}\u0000${subject}`);
      }
    }
    i = j;
  }
  return out;
}
