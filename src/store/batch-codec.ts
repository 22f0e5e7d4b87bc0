// The form a batch crosses to the writer thread in, and the only form the store writes: columns
// of primitives instead of one object per event. Strings that repeat across events (hosts,
// services, severities, signature keys, sources) cross once per batch, in a dictionary; the rare
// per-event extras (a body that is not a suffix of the raw text, a parse error, stored fields, a
// state change) cross as sparse lists. Structured clone then copies little more than the raw
// lines, and the writer binds columns without rebuilding event objects.
import type { CanonicalEvent } from '../pipeline/event.js';
import type { WriteBatch } from './types.js';
import { eventStateChange, type Polarity } from '../signals/state.js';

/** Per event, the dictionary references in `refs`, in this order (-1: none). */
export const REF = { host: 0, service: 1, severity: 2, facility: 3, assetId: 4, signature: 5, source: 6 } as const;
export const REF_W = 7;

/** Where an event's stored rows come from: tenant, connector, source type, source path ('' for none). */
export type EventSource = [tenantId: string, connector: string, sourceType: string, sourcePath: string];

export interface EncodedBatch {
  n: number;
  /** Every distinct short string of the batch once (hosts, services, severities, facilities, assets, signature keys). */
  dict: string[];
  /** n × REF_W indexes into `dict` (`sources` for REF.source). */
  refs: Int32Array;
  sources: EventSource[];
  ts: Float64Array;
  receivedAt: Float64Array;
  raw: string[];
  /** Where the body starts in the raw text; -1 when it is not a suffix (then it is in `extras`). */
  offset: Int32Array;
  /** What the reader re-derives from the raw text (canonicalize.ts DERIVED bits). */
  derived: Uint8Array;
  /** Events with a body of their own, a parse error or stored fields: [index, body, parse error, fields JSON]. */
  extras: Array<[number, string | null, string | null, string | null]>;
  /** Events that state a failure or recovery (the state_transitions aggregate): [index, subject, polarity]. */
  states: Array<[number, string, Polarity]>;
  rest: Omit<WriteBatch, 'events'>;
}

/** The events table's `fields` column: the object fields that are not empty, as JSON. */
export function fieldsJson(e: CanonicalEvent): string | null {
  if (e.fieldsJson !== undefined) return e.fieldsJson;
  const has = e.structuredFields || e.correlationKeys || e.metadata || Object.keys(e.ingestMetadata).length > 0;
  return has
    ? JSON.stringify({ structured_fields: e.structuredFields, correlation_keys: e.correlationKeys, metadata: e.metadata, ingest_metadata: e.ingestMetadata })
    : null;
}

/** Body offset into the raw text when the body is its suffix (it is, after a header parse), else -1. */
function bodyOffset(raw: string, body: string): number {
  const offset = raw.length - body.length;
  return offset >= 0 && raw.endsWith(body) ? offset : -1;
}

export function encodeBatch(batch: WriteBatch): EncodedBatch {
  const n = batch.events.length;
  const dict: string[] = [];
  const dictIndex = new Map<string, number>();
  const sources: EventSource[] = [];
  const sourceIndex = new Map<string, number>();
  const refs = new Int32Array(n * REF_W);
  const ts = new Float64Array(n);
  const receivedAt = new Float64Array(n);
  const raw: string[] = new Array(n);
  const offset = new Int32Array(n);
  const derived = new Uint8Array(n);
  const extras: EncodedBatch['extras'] = [];
  const states: EncodedBatch['states'] = [];
  const ref = (s: string | undefined): number => {
    if (s === undefined) return -1;
    let i = dictIndex.get(s);
    if (i === undefined) {
      i = dict.length;
      dict.push(s);
      dictIndex.set(s, i);
    }
    return i;
  };
  let lastSource = -1;
  for (let i = 0; i < n; i++) {
    const e = batch.events[i]!;
    const b = i * REF_W;
    refs[b + REF.host] = ref(e.host);
    refs[b + REF.service] = ref(e.service);
    refs[b + REF.severity] = ref(e.severity);
    refs[b + REF.facility] = ref(e.facility);
    refs[b + REF.assetId] = ref(e.assetId);
    refs[b + REF.signature] = ref(e.signatureKey);
    const path = e.sourcePath ?? '';
    const last = lastSource < 0 ? undefined : sources[lastSource]!;
    // consecutive events nearly always share their source: compare before building a lookup key
    if (!last || last[3] !== path || last[1] !== e.connector || last[0] !== e.tenantId || last[2] !== e.sourceType) {
      // NUL cannot occur in a name from the config; the parts are joined only to find the source
      const sk = `${e.tenantId}\u0000${e.connector}\u0000${e.sourceType}\u0000${path}`;
      let si = sourceIndex.get(sk);
      if (si === undefined) {
        si = sources.length;
        sources.push([e.tenantId, e.connector, e.sourceType, path]);
        sourceIndex.set(sk, si);
      }
      lastSource = si;
    }
    refs[b + REF.source] = lastSource;
    ts[i] = e.ts;
    receivedAt[i] = e.receivedAt;
    raw[i] = e.messageRaw;
    const off = bodyOffset(e.messageRaw, e.message);
    offset[i] = off;
    derived[i] = e.derived ?? 0;
    const fields = fieldsJson(e);
    if (off < 0 || e.parseError !== undefined || fields !== null) extras.push([i, off < 0 ? e.message : null, e.parseError ?? null, fields]);
    const change = eventStateChange(e);
    if (change) states.push([i, change.subject, change.polarity]);
  }
  const { events: _events, ...rest } = batch;
  return { n, dict, refs, sources, ts, receivedAt, raw, offset, derived, extras, states, rest };
}
