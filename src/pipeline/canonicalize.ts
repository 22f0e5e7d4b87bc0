// Canonicalize: turn a connector's RawEnvelope into a CanonicalEvent — UTC timestamp (the
// original kept), syslog severity names, host/service/pid from a syslog header when the
// connector did not set them, masked message. Pure apart from the clock passed in.
import type { RawEnvelope } from '../plugin/contract.js';
import { normalizeSeverity } from './classify.js';
import type { CanonicalEvent } from './event.js';
import { maskTokens } from './mask.js';
import { parseSyslogLine } from './syslog-line.js';

export interface CanonicalizeContext {
  connector: string;
  tenantId: string;
  /** Default source_type (the plugin's type). */
  sourceType: string;
  /** Receipt time, epoch ms. */
  now: number;
  /** The same as a Date (year inference), made once per batch rather than per line. */
  nowDate?: Date;
  /** Year-less syslog timestamps are read in UTC instead of the local zone. */
  utc?: boolean;
}

/** A canonical event before the miner has given it a signature, with its masked tokens. */
export interface PreparedEvent {
  event: Omit<CanonicalEvent, 'signatureKey'> & { signatureKey?: string };
  tokens: string[];
}

/**
 * What an event's stored row leaves out because the reader re-derives it from message_raw
 * (CanonicalEvent.derived): the pid and the timestamp text of a syslog header parsed from it,
 * and a severity inferred from the text. Most lines of files and syslog then store no JSON.
 */
export const DERIVED = { pid: 1, originalTimestamp: 2, severityInferred: 4 } as const;

/** Put back what `derived` says the stored row left out (see DERIVED). */
export function restoreDerived(
  messageRaw: string, derived: number, structuredFields: Record<string, unknown> | undefined, ingestMetadata: Record<string, unknown>,
): { structuredFields: Record<string, unknown> | undefined; ingestMetadata: Record<string, unknown> } {
  if (derived & (DERIVED.pid | DERIVED.originalTimestamp)) {
    // the year inferred does not matter here: only the header's text is read back
    const p = parseSyslogLine(messageRaw, { now: new Date(0), utc: true });
    if (p) {
      if (derived & DERIVED.pid && p.pid !== undefined) structuredFields = { ...structuredFields, pid: p.pid };
      if (derived & DERIVED.originalTimestamp) ingestMetadata = { ...ingestMetadata, original_timestamp: p.timestampText };
    }
  }
  if (derived & DERIVED.severityInferred) ingestMetadata = { ...ingestMetadata, severity_inferred: true };
  return { structuredFields, ingestMetadata };
}

const RE_LEVEL = /\b(EMERG|ALERT|CRIT(?:ICAL)?|FATAL|ERR(?:OR)?|WARN(?:ING)?|NOTICE|INFO|DEBUG|TRACE)\b/;

function toTimestamp(value: RawEnvelope['timestamp']): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const n = Date.parse(value);
    if (!Number.isNaN(n)) return n;
    if (/^\d{9,13}(\.\d+)?$/.test(value)) return Number(value) * (value.length <= 10 ? 1000 : 1);
  }
  return Number.NaN;
}

export function canonicalize(env: RawEnvelope, ctx: CanonicalizeContext): PreparedEvent {
  const ingest: Record<string, unknown> = {};
  let parseError = env.parseError;
  let message = env.message ?? env.messageRaw;
  let host = env.host;
  let service = env.service;
  let facility = env.facility;
  let severityIn = env.severity;
  let structured = env.structuredFields;
  let ts = Number.NaN;
  let derived = 0;

  if (env.timestamp !== undefined) {
    ts = toTimestamp(env.timestamp);
    if (Number.isNaN(ts)) ingest.timestamp_error = `unparseable timestamp ${JSON.stringify(String(env.timestamp))}`;
    else if (typeof env.timestamp === 'string') ingest.original_timestamp = env.timestamp;
  }

  const format = env.message !== undefined ? 'message' : env.messageFormat ?? 'auto';
  if (format !== 'message' && !parseError) {
    const c = message.charCodeAt(0);
    // Cheap gate: a header starts with '<', a capital letter (month) or a digit (ISO date).
    const maybe = c === 60 || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
    const parsed = maybe ? parseSyslogLine(message, { now: ctx.nowDate ?? new Date(ctx.now), utc: ctx.utc }) : undefined;
    if (parsed) {
      message = parsed.message;
      host ??= parsed.host;
      service ??= parsed.service;
      facility ??= parsed.facility;
      severityIn ??= parsed.severity;
      if (parsed.pid !== undefined) {
        structured = { ...structured, pid: parsed.pid };
        derived |= DERIVED.pid;
      }
      if (Number.isNaN(ts)) {
        ts = parsed.ts;
        ingest.original_timestamp = parsed.timestampText;
        derived |= DERIVED.originalTimestamp;
      }
    } else if (format === 'syslog') {
      parseError = 'no syslog header (expected "Mmm dd hh:mm:ss host tag: msg" or an RFC 3339 timestamp)';
    }
  }
  // Date's range is ±8.64e15 ms; anything outside it (or unparsed) falls back to receipt time.
  if (!Number.isFinite(ts) || Math.abs(ts) > 8.64e15) ts = ctx.now;

  let severity = normalizeSeverity(severityIn);
  if (severityIn !== undefined && severity === undefined) ingest.original_severity = severityIn;
  if (severity === undefined) {
    const m = RE_LEVEL.exec(message.length > 200 ? message.slice(0, 200) : message);
    if (m) {
      severity = normalizeSeverity(m[1]!.toLowerCase());
      if (severity) {
        ingest.severity_inferred = true;
        derived |= DERIVED.severityInferred;
      }
    }
  }
  if (parseError) ingest.parse_error = parseError;

  const tokens = maskTokens(message);
  const metadataJson = sharedMetadataJson(env.metadata);
  return {
    tokens,
    event: {
      tenantId: env.tenantId ?? ctx.tenantId,
      connector: ctx.connector,
      sourceType: env.sourceType ?? ctx.sourceType,
      ts,
      receivedAt: ctx.now,
      messageRaw: env.messageRaw,
      message,
      messageNormalized: tokens.join(' '),
      host,
      service,
      severity,
      facility,
      assetId: env.assetId,
      sourcePath: env.sourcePath,
      structuredFields: structured,
      correlationKeys: env.correlationKeys,
      metadata: env.metadata,
      ingestMetadata: ingest,
      parseError,
      derived,
      fieldsJson: fieldsColumn(derived & DERIVED.pid ? env.structuredFields : structured, env.correlationKeys,
        metadataJson === undefined ? env.metadata : undefined, ingest, derived),
      metadataJson,
    },
  };
}

/**
 * The events table's `fields` JSON: the object fields, less what `derived` re-derives; null when
 * nothing is left. An empty `ingest_metadata` is left out (readers take a missing one for `{}`).
 */
export function fieldsColumn(
  structured: Record<string, unknown> | undefined, correlationKeys: Record<string, string> | undefined,
  metadata: Record<string, unknown> | undefined, ingest: Record<string, unknown>, derived: number,
): string | null {
  let kept: Record<string, unknown> | undefined = ingest;
  if (derived & (DERIVED.originalTimestamp | DERIVED.severityInferred)) {
    kept = undefined;
    for (const k in ingest) {
      if ((k === 'original_timestamp' && derived & DERIVED.originalTimestamp) || (k === 'severity_inferred' && derived & DERIVED.severityInferred)) continue;
      (kept ??= {})[k] = ingest[k];
    }
  } else if (Object.keys(ingest).length === 0) kept = undefined;
  if (!structured && !correlationKeys && !metadata && !kept) return null;
  // what JSON.stringify of { structured_fields, correlation_keys, metadata, ingest_metadata } gives
  let json = '{';
  if (structured) json += `"structured_fields":${JSON.stringify(structured)},`;
  if (correlationKeys) json += `"correlation_keys":${JSON.stringify(correlationKeys)},`;
  if (metadata) json += `"metadata":${objectJson(metadata)},`;
  if (kept) return `${json}"ingest_metadata":${JSON.stringify(kept)}}`;
  return `${json.slice(0, -1)}}`;
}

/**
 * JSON of an object; kept for frozen ones, which connectors share between the events of a stream
 * (the syslog receiver's per-connection metadata): serializing it per event was a tenth of a TCP
 * message's parsing cost.
 */
const frozenJson = new WeakMap<object, string>();
function objectJson(o: Record<string, unknown>): string {
  return sharedMetadataJson(o) ?? JSON.stringify(o);
}

/**
 * The JSON of metadata that a connector shares between events (a frozen object), made once; the
 * store keeps it once and the events refer to it. undefined for metadata of one event.
 */
export function sharedMetadataJson(o: Record<string, unknown> | undefined): string | undefined {
  if (o === undefined || !Object.isFrozen(o)) return undefined;
  let j = frozenJson.get(o);
  if (j === undefined) frozenJson.set(o, (j = JSON.stringify(o)));
  return j;
}

