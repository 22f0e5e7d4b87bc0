// The form a batch crosses to the writer thread in, and the only form the store writes: columns
// of primitives instead of one object per event. Strings that repeat across events (hosts,
// services, severities, signature keys, sources) cross once per batch, in a dictionary; the rare
// per-event extras (a body that is not a suffix of the raw text, a parse error, stored fields, a
// state change) cross as sparse lists. The raw lines and the fields JSON, a string or two per
// event, are written as UTF-8 into one buffer each and transferred, not cloned string by string;
// the writer binds columns without rebuilding event objects.
import type { CanonicalEvent } from '../pipeline/event.js';
import { fieldsColumn, sharedMetadataJson } from '../pipeline/canonicalize.js';
import type { WriteBatch } from './types.js';
import { alertStateChange, type Polarity } from '../signals/state.js';

/** Per event, the dictionary references in `refs`, in this order (-1: none). */
export const REF = { host: 0, service: 1, severity: 2, facility: 3, assetId: 4, signature: 5, source: 6, metadata: 7 } as const;
export const REF_W = 8;
/** In `states`: the event states no change (and its text is not to be read for one). */
export const NO_CHANGE = 0;

/** Where an event's stored rows come from: tenant, connector, source type, source path ('' for none). */
export type EventSource = [tenantId: string, connector: string, sourceType: string, sourcePath: string];

/**
 * Strings as UTF-8 in one buffer. String i ends at `ends[i]` and starts where the last string
 * before it ended; -1: null.
 */
export interface TextColumn {
  bytes: Uint8Array;
  ends: Int32Array;
}

/**
 * Builds a TextColumn. Each string is written as it comes, so it can die young: a batch's strings
 * held until the batch crossed to the writer survived young-generation collections (copied, then
 * promoted), and cloning thousands of them cost the parsing thread more than writing their bytes.
 */
export class TextColumnBuilder {
  private bytes: Buffer;
  private used = 0;
  private ends: Int32Array;
  private n = 0;

  /**
   * `slots`: the strings expected (the batch's events; a sparse column holds fewer); `size`: the
   * bytes to allocate per slot, which `finish()` sets to what this column took per slot (plus an
   * eighth), so that the next column of its kind is sized right: columns allocated at a guess
   * (~1.5 MB a batch, 16 batches in flight) cost the ingest ~10 MB of peak RSS.
   */
  constructor(private readonly slots: number, private readonly size: { bytesPerSlot: number } = { bytesPerSlot: 64 }) {
    this.ends = new Int32Array(Math.max(16, slots));
    // its own ArrayBuffer, never the shared pool of small Buffers: the column is transferred
    this.bytes = Buffer.allocUnsafeSlow(Math.max(1024, Math.ceil(slots * size.bytesPerSlot)));
  }

  push(s: string | null): void {
    if (this.n === this.ends.length) {
      const ends = new Int32Array(this.ends.length * 2);
      ends.set(this.ends);
      this.ends = ends;
    }
    if (s === null) {
      this.ends[this.n++] = -1;
      return;
    }
    // room for the string's UTF-8 (a write is never cut short); its exact length is counted only
    // when the longest it could take (3 bytes per UTF-16 unit) might not fit
    if (this.used + s.length * 3 > this.bytes.length && this.used + Buffer.byteLength(s) > this.bytes.length) {
      const bytes = Buffer.allocUnsafeSlow(Math.max(this.used + s.length * 3, this.bytes.length * 2));
      this.bytes.copy(bytes, 0, 0, this.used);
      this.bytes = bytes;
    }
    this.used += this.bytes.write(s, this.used);
    this.ends[this.n++] = this.used;
  }

  finish(): TextColumn {
    if (this.slots > 0) this.size.bytesPerSlot = Math.max(1, (this.used / this.slots) * 1.125);
    return { bytes: new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.used), ends: this.ends.subarray(0, this.n) };
  }
}

/** The strings of a column (on the writer thread, from the transferred bytes). */
export function readTextColumn(c: TextColumn): Array<string | null> {
  const buf = Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength);
  const out = new Array<string | null>(c.ends.length);
  let start = 0;
  for (let i = 0; i < c.ends.length; i++) {
    const end = c.ends[i]!;
    if (end < 0) out[i] = null;
    else {
      out[i] = buf.toString('utf8', start, end);
      start = end;
    }
  }
  return out;
}

/** What `postMessage` may transfer instead of copy: the buffers of the batch's columns. */
export function transferables(b: EncodedBatch): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of [b.refs, b.ts, b.receivedAt, b.offset, b.derived, b.raw.bytes, b.raw.ends, b.extras.fields.bytes, b.extras.fields.ends]) {
    out.add(a.buffer as ArrayBuffer);
  }
  return [...out];
}

export interface EncodedBatch {
  n: number;
  /**
   * Every distinct short string of the batch once (hosts, services, severities, facilities, assets,
   * signature keys, and the JSON of metadata shared by many events: CanonicalEvent.metadataJson).
   */
  dict: string[];
  /** n × REF_W indexes into `dict` (`sources` for REF.source). */
  refs: Int32Array;
  sources: EventSource[];
  ts: Float64Array;
  receivedAt: Float64Array;
  /** The raw text of each event. */
  raw: TextColumn;
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
  extras: { at: number[]; body: Array<string | null>; parseError: Array<string | null>; fields: TextColumn };
  /**
   * Events whose state change (the state_minutes aggregate) is already decided, ascending:
   * [index, subject, polarity or NO_CHANGE]. The writer detects the others' from their text.
   */
  states: Array<[number, string, Polarity | typeof NO_CHANGE]>;
  rest: Omit<WriteBatch, 'events'>;
}

/**
 * The events table's `fields` column of an event and the JSON of its shared metadata (stored apart):
 * canonicalize's, or built the same way for an event made elsewhere.
 */
function storedFields(e: CanonicalEvent): { fields: string | null; shared: string | undefined } {
  if (e.fieldsJson !== undefined) return { fields: e.fieldsJson, shared: e.metadataJson };
  const shared = sharedMetadataJson(e.metadata);
  const fields = fieldsColumn(e.structuredFields, e.correlationKeys, shared === undefined ? e.metadata : undefined, e.ingestMetadata, e.derived ?? 0);
  return { fields, shared };
}

/** Body offset into the raw text when the body is its suffix (it is, after a header parse), else -1. */
function bodyOffset(raw: string, body: string): number {
  const offset = raw.length - body.length;
  return offset >= 0 && raw.endsWith(body) ? offset : -1;
}

/**
 * Bytes per event that the last batch's raw and fields columns took (the next batch's are sized
 * from them). To start with: a raw line of ~100–200 bytes; few events of a file have fields JSON.
 */
const RAW_SIZE = { bytesPerSlot: 160 };
const FIELDS_SIZE = { bytesPerSlot: 32 };

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
  private readonly raw: TextColumnBuilder;
  private readonly fields: TextColumnBuilder;
  private offset: Int32Array;
  private derived: Uint8Array;
  private readonly extras: Omit<EncodedBatch['extras'], 'fields'> = { at: [], body: [], parseError: [] };
  private readonly states: EncodedBatch['states'] = [];

  /** `capacity`: the expected number of events (the columns grow past it when needed). */
  constructor(private capacity: number) {
    this.refs = new Int32Array(capacity * REF_W);
    this.ts = new Float64Array(capacity);
    this.receivedAt = new Float64Array(capacity);
    this.offset = new Int32Array(capacity);
    this.derived = new Uint8Array(capacity);
    this.raw = new TextColumnBuilder(capacity, RAW_SIZE);
    this.fields = new TextColumnBuilder(capacity, FIELDS_SIZE);
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
    const { fields, shared } = storedFields(e);
    refs[b + REF.metadata] = this.ref(shared);
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
    if (off < 0 || e.parseError !== undefined || fields !== null) {
      const x = this.extras;
      x.at.push(i);
      x.body.push(off < 0 ? e.message : null);
      x.parseError.push(e.parseError ?? null);
      this.fields.push(fields);
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
      raw: this.raw.finish(), offset: cut(this.offset), derived: cut(this.derived), extras: { ...this.extras, fields: this.fields.finish() },
      states: this.states, rest,
    };
  }
}

export function encodeBatch(batch: WriteBatch): EncodedBatch {
  const enc = new BatchEncoder(batch.events.length);
  for (const e of batch.events) enc.add(e);
  const { events: _events, ...rest } = batch;
  return enc.finish(rest);
}
