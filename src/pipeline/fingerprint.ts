// Fingerprint: give each prepared event its signature key through the template miner, and
// collect the signatures a batch created or generalized so the store persists them with it.
import { classifyFamily } from './classify.js';
import type { PreparedEvent } from './canonicalize.js';
import type { CanonicalEvent } from './event.js';
import { TemplateMiner, type ClusterRecord } from './miner.js';
import type { SignatureChange, SignatureRow } from '../store/types.js';

export class Fingerprinter {
  private changes = new Map<string, SignatureChange>();

  constructor(private miner: TemplateMiner) {}

  /** Assign the event's signature key; returns the completed event. */
  assign(p: PreparedEvent): CanonicalEvent {
    const service = p.event.service ?? '';
    const { cluster, created, changed } = this.miner.match(service, p.tokens, p.event.messageNormalized);
    if (created || changed) {
      const template = cluster.tokens.join(' ');
      const prev = this.changes.get(cluster.key);
      if (prev) prev.template = template;
      else {
        this.changes.set(cluster.key, {
          key: cluster.key, service, template, firstTemplate: template,
          family: created ? classifyFamily(template, service) : 'generic',
        });
      }
    }
    p.event.signatureKey = cluster.key;
    return p.event as CanonicalEvent;
  }

  /** The signature changes since the last call. */
  takeChanges(): SignatureChange[] {
    const out = [...this.changes.values()];
    this.changes.clear();
    return out;
  }

  /** Forget unpersisted state after a failed write: rebuild the miner from what the store holds. */
  reset(records: ClusterRecord[], miner: TemplateMiner): void {
    this.changes.clear();
    this.miner = miner;
    miner.load(records);
  }
}

/** A stored signature in the wire format of design.md §4 (CLI `--json` and the HTTP API). */
export function signatureToWire(s: SignatureRow): Record<string, unknown> {
  const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : '');
  return {
    signature_key: s.signatureKey, event_family: s.eventFamily, normalized_pattern: s.template, service: s.service ?? null,
    metadata: { ...s.metadata, first_template: s.firstTemplate }, occurrence_count: s.occurrenceCount,
    first_seen: iso(s.firstSeen), last_seen: iso(s.lastSeen),
  };
}
