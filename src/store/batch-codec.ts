// The form a batch crosses to the writer thread in, and the only form the store writes: columns
// of primitives instead of one object per event. Strings that repeat across events (hosts,
// services, severities, signature keys, sources) cross once per batch, in a dictionary; the rare
// per-event extras (a body that is not a suffix of the raw text, a parse error, stored fields, a
// state change) cross as sparse lists. Structured clone then copies little more than the raw
// lines, and the writer binds columns without rebuilding event objects.
import type { CanonicalEvent } from '../pipeline/event.js';
import { fieldsColumn } from '../pipeline/canonicalize.js';
import type { WriteBatch } from './types.js';
import { alertStateChange, type Polarity } from '../signals/state.js';

/** Per event, the dictionary references in `refs`, in this order (-1: none). */
export const REF = { host: 0, service: 1, severity: 2, facility: 3, assetId: 4, signature: 5, source: 6 } as const;
export const REF_W = 7;
/** In `states`: the event states no change (and its text is not to be read for one). */
export const NO_CHANGE = 0;

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
  /**
   * Events with a body of their own, a parse error or stored fields, as parallel columns: the
   * event's index (ascending), its body, parse error and fields JSON (null where it has none).
   * Columns, not a small array per event: a syslog stream has fields on every event, and a
   * batch's arrays lived long enough to be copied by the young-generation GC.
   */
  extras: { at: number[]; body: Array<string | null>; parseError: Array<string | null>; fields: Array<string | null> };
  /**
   * Events whose state change (the state_minutes aggregate) is already decided, ascending:
   * [index, subject, polarity or NO_CHANGE]. The writer detects the others' from their text.
   */
  states: Array<[number, string, Polarity | typeof NO_CHANGE]>;
  rest: Omit<WriteBatch, 'events'>;
}

/** The events table's `fields` column of an event: canonicalize's, or built the same way for an event made elsewhere. */
function fieldsJson(e: CanonicalEvent): string | null {
  if (e.fieldsJson !== undefined) return e.fieldsJson;
  return fieldsColumn(e.structuredFields, e.correlationKeys, e.metadata, e.ingestMetadata, e.derived ?? 0);
}

/** Body offset into the raw text when the body is its suffix (it is, after a header parse), else -1. */
function bodyOffset(raw: string, body: string): number {
  const offset = raw.length - body.length;
  return offset >= 0 && raw.endsWith(body) ? offset : -1;
}

/**
 * Builds an EncodedBatch event by event, so that the pipeline encodes each event as soon as it is
 * fingerprinted and the event object dies young: a batch of thousands of event objects held
 * until the batch was complete survived young-generation collections and was copied and promoted,
 * which cost more than making the objects.
 */
export class BatchEncoder {
  n = 0;
  private readonly dict: string[] = [];
  private readonly dictIndex = new Map<string, number>();
  private readonly sources: EventSource[] = [];
  private readonly sourceIndex = new Map<string, number>();
  private lastSource = -1;
  private refs: Int32Array;
  private ts: Float64Array;
  private receivedAt: Float64Array;
  private raw: string[] = [];
  private offset: Int32Array;
  private derived: Uint8Array;
  private readonly extras: EncodedBatch['extras'] = { at: [], body: [], parseError: [], fields: [] };
  private readonly states: EncodedBatch['states'] = [];

  /** `capacity`: the expected number of events (the columns grow past it when needed). */
  constructor(private capacity: number) {
    this.refs = new Int32Array(capacity * REF_W);
    this.ts = new Float64Array(capacity);
    this.receivedAt = new Float64Array(capacity);
    this.offset = new Int32Array(capacity);
    this.derived = new Uint8Array(capacity);
  }

  private ref(s: string | undefined): number {
    if (s === undefined) return -1;
    let i = this.dictIndex.get(s);
    if (i === undefined) {
      i = this.dict.length;
      this.dict.push(s);
      this.dictIndex.set(s, i);
    }
    return i;
  }

  private grow(): void {
    const cap = Math.max(16, this.capacity * 2);
    const more = <T extends Int32Array | Float64Array | Uint8Array>(a: T, w = 1): T => {
      const b = new (a.constructor as new (n: number) => T)(cap * w);
      b.set(a);
      return b;
    };
    this.refs = more(this.refs, REF_W);
    this.ts = more(this.ts);
    this.receivedAt = more(this.receivedAt);
    this.offset = more(this.offset);
    this.derived = more(this.derived);
    this.capacity = cap;
  }

  add(e: CanonicalEvent): void {
    if (this.n === this.capacity) this.grow();
    const i = this.n++;
    const { refs } = this;
    const b = i * REF_W;
    refs[b + REF.host] = this.ref(e.host);
    refs[b + REF.service] = this.ref(e.service);
    refs[b + REF.severity] = this.ref(e.severity);
    refs[b + REF.facility] = this.ref(e.facility);
    refs[b + REF.assetId] = this.ref(e.assetId);
    refs[b + REF.signature] = this.ref(e.signatureKey);
    const path = e.sourcePath ?? '';
    const last = this.lastSource < 0 ? undefined : this.sources[this.lastSource]!;
    // consecutive events nearly always share their source: compare before building a lookup key
    if (!last || last[3] !== path || last[1] !== e.connector || last[0] !== e.tenantId || last[2] !== e.sourceType) {
      // NUL cannot occur in a name from the config; the parts are joined only to find the source
      const sk = `${e.tenantId}\u0000${e.connector}\u0000${e.sourceType}\u0000${path}`;
      let si = this.sourceIndex.get(sk);
      if (si === undefined) {
        si = this.sources.length;
        this.sources.push([e.tenantId, e.connector, e.sourceType, path]);
        this.sourceIndex.set(sk, si);
      }
      this.lastSource = si;
    }
    refs[b + REF.source] = this.lastSource;
    this.ts[i] = e.ts;
    this.receivedAt[i] = e.receivedAt;
    this.raw.push(e.messageRaw);
    const off = bodyOffset(e.messageRaw, e.message);
    this.offset[i] = off;
    this.derived[i] = e.derived ?? 0;
    const fields = fieldsJson(e);
    if (off < 0 || e.parseError !== undefined || fields !== null) {
      const x = this.extras;
      x.at.push(i);
      x.body.push(off < 0 ? e.message : null);
      x.parseError.push(e.parseError ?? null);
      x.fields.push(fields);
    }
    // A change the text states is found by the writer thread as it folds the event in (the parsing
    // thread is the busier one); one set by the connector or an alert's state is decided here.
    const change = e.stateChange !== undefined ? e.stateChange : alertStateChange(e.metadata, e.correlationKeys);
    if (change !== undefined) this.states.push([i, change?.subject ?? '', change?.polarity ?? NO_CHANGE]);
  }

  /** The batch so far, with the rest of what commits with it. The encoder is not used after. */
  finish(rest: Omit<WriteBatch, 'events'>): EncodedBatch {
    const { n } = this;
    // exact columns (structured clone would copy all of a view's buffer, not just its range)
    const cut = <T extends Int32Array | Float64Array | Uint8Array>(a: T, w = 1): T => (a.length === n * w ? a : (a.slice(0, n * w) as T));
    return {
      n, dict: this.dict, refs: cut(this.refs, REF_W), sources: this.sources, ts: cut(this.ts), receivedAt: cut(this.receivedAt),
      raw: this.raw, offset: cut(this.offset), derived: cut(this.derived), extras: this.extras, states: this.states, rest,
    };
  }
}

export function encodeBatch(batch: WriteBatch): EncodedBatch {
  const enc = new BatchEncoder(batch.events.length);
  for (const e of batch.events) enc.add(e);
  const { events: _events, ...rest } = batch;
  return enc.finish(rest);
}
