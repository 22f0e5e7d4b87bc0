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
      if (parsed.pid !== undefined) structured = { ...structured, pid: parsed.pid };
      if (Number.isNaN(ts)) {
        ts = parsed.ts;
        ingest.original_timestamp = parsed.timestampText;
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
      if (severity) ingest.severity_inferred = true;
    }
  }
  if (parseError) ingest.parse_error = parseError;

  const tokens = maskTokens(message);
  return {
    tokens,
    event: {
      tenantId: env.tenantId ?? ctx.tenantId,
      connector: ctx.connector,
      sourceType: env.sourceType ?? ctx.sourceType,
      ts,
      timestamp: new Date(ts).toISOString(),
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
    },
  };
}
