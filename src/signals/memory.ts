// Incident memory: incidents an operator (or the promote band) declared, with the signatures that
// made them up — the primary one, its companions and the precursors that ran ahead of it on the
// same hosts. Scoring asks how much a signature resembles them (memory_weight); each refresh
// counts a remembered incident's signatures coming back after a quiet gap as a recurrence.
import type { SqliteStore } from '../store/sqlite.js';
import { MINUTE_MS, hasSignalAggregates } from './history.js';

export type IncidentRole = 'primary' | 'companion' | 'precursor';

export interface IncidentSignature {
  key: string;
  role: IncidentRole;
  template: string;
}

export interface Incident {
  id: number;
  title: string;
  summary: string;
  incidentType: string;
  sourceCandidateIds: number[];
  signatureKeys: string[];
  recurrenceCount: number;
  confidence: number;
  metadata: { signatures?: IncidentSignature[]; last_activity_at?: number; last_recurrence_at?: number; hosts?: string[]; auto?: boolean } & Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface MemoryMatch {
  weight: number;
  incidentId: number;
  title: string;
  role: IncidentRole | 'similar';
  /** Token overlap with the remembered template (1 for the same signature). */
  similarity: number;
  recurrenceCount: number;
}

const ROLE_WEIGHT: Record<IncidentRole, number> = { primary: 1, companion: 0.9, precursor: 0.8 };
/** Templates sharing this much of their tokens resemble each other even under different keys. */
const SIMILAR_TEMPLATE = 0.6;

/** An incident_memory row; a JSON column that does not parse reads as empty rather than failing the listing. */
export function rowToIncident(r: any): Incident {
  const json = <T>(s: string, fallback: T): T => {
    try {
      return JSON.parse(s) as T;
    } catch {
      return fallback;
    }
  };
  return {
    id: r.id, title: r.title, summary: r.summary, incidentType: r.incident_type,
    sourceCandidateIds: json(r.source_candidate_ids, []), signatureKeys: json(r.signature_keys, []),
    recurrenceCount: r.recurrence_count, confidence: r.confidence, metadata: json(r.metadata, {}),
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

export function listIncidents(store: SqliteStore): Incident[] {
  return (store.stmt('SELECT * FROM incident_memory ORDER BY id').all() as any[]).map(rowToIncident);
}

export function incidentToWire(i: Incident): Record<string, unknown> {
  return {
    id: i.id, title: i.title, summary: i.summary, incident_type: i.incidentType, source_candidate_ids: i.sourceCandidateIds,
    signature_keys: i.signatureKeys, recurrence_count: i.recurrenceCount, confidence: i.confidence, metadata: i.metadata,
    created_at: new Date(i.createdAt).toISOString(), updated_at: new Date(i.updatedAt).toISOString(),
  };
}

export function forgetIncident(store: SqliteStore, id: number): boolean {
  return store.stmt('DELETE FROM incident_memory WHERE id = ?').run(id).changes > 0;
}

const tokens = (t: string) => new Set(t.toLowerCase().split(/\s+/).filter((x) => x && x !== '<*>'));

function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  const union = a.size + b.size - inter;
  return union > 0 ? inter / union : 0;
}

/** How much each signature resembles remembered incidents: the strongest match per signature. */
export function memoryMatches(incidents: Incident[], signatures: Array<{ key: string; template: string }>): Map<string, MemoryMatch> {
  const out = new Map<string, MemoryMatch>();
  if (incidents.length === 0) return out;
  const byKey = new Map<string, { inc: Incident; role: IncidentRole }>();
  const remembered: Array<{ inc: Incident; tokens: Set<string> }> = [];
  for (const inc of incidents) {
    for (const s of inc.metadata.signatures ?? inc.signatureKeys.map((key) => ({ key, role: 'primary' as const, template: '' }))) {
      const prev = byKey.get(s.key);
      if (!prev || ROLE_WEIGHT[s.role] > ROLE_WEIGHT[prev.role]) byKey.set(s.key, { inc, role: s.role });
      if (s.template) remembered.push({ inc, tokens: tokens(s.template) });
    }
  }
  for (const sig of signatures) {
    const exact = byKey.get(sig.key);
    if (exact) {
      out.set(sig.key, { weight: ROLE_WEIGHT[exact.role], incidentId: exact.inc.id, title: exact.inc.title, role: exact.role, similarity: 1, recurrenceCount: exact.inc.recurrenceCount });
      continue;
    }
    const mine = tokens(sig.template);
    let best: MemoryMatch | undefined;
    for (const r of remembered) {
      const sim = jaccard(mine, r.tokens);
      if (sim >= SIMILAR_TEMPLATE && (!best || sim > best.similarity)) {
        best = { weight: 0.7 * sim, incidentId: r.inc.id, title: r.inc.title, role: 'similar', similarity: sim, recurrenceCount: r.inc.recurrenceCount };
      }
    }
    if (best) out.set(sig.key, best);
  }
  return out;
}

export interface PromoteInput {
  signatureKey: string;
  title?: string;
  summary?: string;
  incidentType?: string;
  sourceCandidateIds?: number[];
  confidence?: number;
  auto?: boolean;
}

export interface PromoteOptions {
  /** How far ahead of the incident a signature may run to count as its precursor. */
  horizonMs: number;
  /** How far back to look for the incident's episodes. */
  historyMs: number;
}

export const DEFAULT_PROMOTE_OPTIONS: PromoteOptions = { horizonMs: 30 * 60_000, historyMs: 7 * 86_400_000 };

/**
 * The signatures around an incident signature's episodes on its hosts: those concentrated in
 * the horizon before an episode starts (precursors) or within it (companions). "Concentrated":
 * at least half of the signature's activity on those hosts falls in these windows, so steady
 * background chatter is not remembered as part of the incident.
 */
export function discoverRelated(store: SqliteStore, key: string, now: number, opts: PromoteOptions = DEFAULT_PROMOTE_OPTIONS): IncidentSignature[] {
  if (!hasSignalAggregates(store)) return [];
  const H = Math.round(opts.horizonMs / MINUTE_MS);
  const from = Math.floor((now - opts.historyMs) / MINUTE_MS);
  const to = Math.floor(now / MINUTE_MS);
  const own = store.stmt('SELECT minute, host FROM signature_host_slots WHERE minute BETWEEN ? AND ? AND signature_key = ? AND host != \'\' ORDER BY host, minute')
    .all(from, to, key) as Array<{ minute: number; host: string }>;
  // episode starts: the first minute of the incident signature on a host after a quiet horizon
  const episodes = new Map<string, number[]>();
  let lastHost = '';
  let lastMinute = -Infinity;
  for (const r of own) {
    if (r.host !== lastHost) { lastHost = r.host; lastMinute = -Infinity; }
    if (r.minute - lastMinute > H) {
      let list = episodes.get(r.host);
      if (!list) episodes.set(r.host, (list = []));
      list.push(r.minute);
    }
    lastMinute = r.minute;
  }
  const near = new Map<string, { inWindow: number; before: number; total: number }>();
  const hostRows = store.stmt('SELECT minute, signature_key, count FROM signature_host_slots WHERE minute BETWEEN ? AND ? AND host = ?');
  for (const [host, starts] of episodes) {
    for (const r of hostRows.all(from, to, host) as Array<{ minute: number; signature_key: string; count: number }>) {
      if (r.signature_key === key) continue;
      let n = near.get(r.signature_key);
      if (!n) near.set(r.signature_key, (n = { inWindow: 0, before: 0, total: 0 }));
      n.total++;
      for (const m of starts) {
        if (r.minute >= m - H && r.minute <= m + H) {
          n.inWindow++;
          if (r.minute < m) n.before++;
          break;
        }
      }
    }
  }
  const related: IncidentSignature[] = [];
  const ranked = [...near].filter(([, n]) => n.inWindow > 0 && n.inWindow / n.total >= 0.5).sort((a, b) => b[1].inWindow - a[1].inWindow);
  for (const [k, n] of ranked.slice(0, 8)) {
    const sig = store.getSignature(k);
    if (sig) related.push({ key: k, role: n.before * 2 >= n.inWindow ? 'precursor' : 'companion', template: sig.template });
  }
  return related;
}

/** Record an incident around a signature (by hand, or when a candidate reaches the promote band). */
export function promoteIncident(store: SqliteStore, input: PromoteInput, now: number, opts: PromoteOptions = DEFAULT_PROMOTE_OPTIONS): Incident {
  const sig = store.getSignature(input.signatureKey);
  if (!sig) throw Object.assign(new Error(`no signature ${input.signatureKey} in the store`), { code: 'NOT_FOUND' });
  const signatures: IncidentSignature[] = [{ key: sig.signatureKey, role: 'primary', template: sig.template }, ...discoverRelated(store, sig.signatureKey, now, opts)];
  const lastActivity = Math.max(...signatures.map((s) => store.getSignature(s.key)?.lastSeen ?? 0));
  const hosts = (store.stmt('SELECT host FROM signature_hosts WHERE signature_key = ? ORDER BY count DESC LIMIT 20').all(sig.signatureKey) as Array<{ host: string }>).map((r) => r.host);
  const metadata = { signatures, last_activity_at: lastActivity, hosts, auto: input.auto ?? false, service: sig.service ?? null };
  const summary = input.summary ?? `${sig.template} — ${sig.occurrenceCount} occurrences on ${hosts.length} host${hosts.length === 1 ? '' : 's'}`
    + `${signatures.length > 1 ? `, with ${signatures.length - 1} related signature${signatures.length > 2 ? 's' : ''}` : ''}`;
  const r = store.stmt(`INSERT INTO incident_memory (title, summary, incident_type, source_candidate_ids, signature_keys,
    recurrence_count, confidence, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?) RETURNING id`)
    .get(input.title ?? sig.template, summary, input.incidentType ?? sig.eventFamily, JSON.stringify(input.sourceCandidateIds ?? []),
      JSON.stringify(signatures.map((s) => s.key)), input.confidence ?? 1, JSON.stringify(metadata), now, now) as { id: number };
  return listIncidents(store).find((i) => i.id === r.id)!;
}

/**
 * Count recurrences: a remembered incident's signatures active again after at least `quietGapMs`
 * of silence since their last known activity. Returns the incidents whose count went up.
 */
export function trackRecurrences(store: SqliteStore, now: number, quietGapMs: number): number[] {
  const bumped: number[] = [];
  const update = store.stmt('UPDATE incident_memory SET recurrence_count = ?, metadata = ?, updated_at = ? WHERE id = ?');
  for (const inc of listIncidents(store)) {
    const keys = inc.signatureKeys;
    const last = inc.metadata.last_activity_at ?? inc.createdAt;
    let latest = 0;
    for (const k of keys) latest = Math.max(latest, store.getSignature(k)?.lastSeen ?? 0);
    if (latest <= last) continue;
    const firstNew = hasSignalAggregates(store)
      ? (store.stmt(`SELECT min(minute) AS m FROM signature_slots WHERE minute > ? AND minute <= ?
          AND signature_key IN (${keys.map(() => '?').join(',')})`).get(Math.floor(last / MINUTE_MS), Math.floor(now / MINUTE_MS), ...keys) as { m: number | null }).m
      : null;
    const startedAt = firstNew !== null ? firstNew * MINUTE_MS : latest;
    const meta = { ...inc.metadata, last_activity_at: latest };
    let count = inc.recurrenceCount;
    if (startedAt - last >= quietGapMs) {
      count++;
      meta.last_recurrence_at = startedAt;
      bumped.push(inc.id);
    }
    update.run(count, JSON.stringify(meta), now, inc.id);
  }
  return bumped;
}
