// The canonical event (envelope + what the pipeline derived) and its wire form (design.md §4).
import type { RawEnvelope } from '../plugin/contract.js';
import type { StateChange } from '../signals/state.js';

export interface CanonicalEvent {
  tenantId: string;
  connector: string;
  sourceType: string;
  /** Event time, epoch ms (UTC). */
  ts: number;
  receivedAt: number;
  messageRaw: string;
  /** The message body (header removed). */
  message: string;
  messageNormalized: string;
  host?: string;
  service?: string;
  severity?: string;
  facility?: string;
  assetId?: string;
  sourcePath?: string;
  structuredFields?: Record<string, unknown>;
  correlationKeys?: Record<string, string>;
  metadata?: Record<string, unknown>;
  ingestMetadata: Record<string, unknown>;
  parseError?: string;
  signatureKey: string;
  /** The store's JSON of the object fields, when already built (by canonicalize). */
  fieldsJson?: string | null;
  /**
   * JSON of `metadata` when a connector shares one frozen object between many events (a syslog TCP
   * connection's sender, port and protocol): stored once and referenced, not in `fieldsJson`.
   */
  metadataJson?: string;
  /** What the stored row leaves out for the reader to re-derive from messageRaw (canonicalize.ts DERIVED). */
  derived?: number;
  /**
   * The failure/recovery this event states when its connector decided it (null: none); else it is
   * detected from the alert state or the text (src/signals/state.ts).
   */
  stateChange?: StateChange | null;
}

/** A stored event as read back. */
export interface StoredEvent extends CanonicalEvent {
  id: number;
  /** Event time, ISO 8601 UTC (the wire form of `ts`). */
  timestamp: string;
}

/** The JSON wire form of a stored event (snake_case, design.md §4). */
export function eventToWire(e: StoredEvent): Record<string, unknown> {
  return {
    id: e.id,
    tenant_id: e.tenantId,
    source_type: e.sourceType,
    timestamp: e.timestamp,
    message_raw: e.messageRaw,
    host: e.host ?? null,
    service: e.service ?? null,
    severity: e.severity ?? null,
    asset_id: e.assetId ?? null,
    source_path: e.sourcePath ?? null,
    facility: e.facility ?? null,
    structured_fields: e.structuredFields ?? {},
    correlation_keys: e.correlationKeys ?? {},
    metadata: e.metadata ?? {},
    message_normalized: e.messageNormalized,
    signature_input: e.service ? `${e.service} ${e.messageNormalized}` : e.messageNormalized,
    ingest_metadata: e.ingestMetadata,
    signature_key: e.signatureKey,
    connector: e.connector,
    parse_error: e.parseError ?? null,
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Record<string, any> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, any>) : undefined;

/**
 * Read a RawInputEnvelope in the wire format (NDJSON ingest, HTTP POST). Throws an Error whose
 * message names the failing field when the input is not an envelope.
 */
export function envelopeFromWire(input: unknown): RawEnvelope {
  const o = obj(input);
  if (!o) throw new Error('envelope: expected a JSON object');
  const message = o.message_raw ?? o.message;
  if (typeof message !== 'string') throw new Error('message_raw: expected a string');
  for (const k of ['structured_fields', 'correlation_keys', 'metadata'] as const) {
    if (o[k] !== undefined && o[k] !== null && !obj(o[k])) throw new Error(`${k}: expected an object`);
  }
  const ts = o.timestamp;
  if (ts !== undefined && ts !== null && typeof ts !== 'string' && typeof ts !== 'number') {
    throw new Error('timestamp: expected an ISO 8601 string or epoch milliseconds');
  }
  const sev = o.severity;
  if (sev !== undefined && sev !== null && typeof sev !== 'string' && typeof sev !== 'number') {
    throw new Error('severity: expected a string or 0–7');
  }
  return {
    messageRaw: message,
    timestamp: ts ?? undefined,
    tenantId: str(o.tenant_id),
    sourceType: str(o.source_type),
    host: str(o.host),
    service: str(o.service),
    severity: sev ?? undefined,
    assetId: str(o.asset_id),
    sourcePath: str(o.source_path),
    facility: str(o.facility),
    structuredFields: obj(o.structured_fields),
    correlationKeys: obj(o.correlation_keys),
    metadata: obj(o.metadata),
    messageFormat: 'auto',
  };
}
