// Alert → envelope (pure). A raised alert and, later, its clear become two events linked by
// the same correlation keys, so the recovery signal can pair failure and recovery.
import type { RawEnvelope } from '../../src/plugin/contract.js';

export type Alert = Record<string, unknown>;
export type AlertState = 'raised' | 'cleared';

/** LogicMonitor severities (spec §3.4) → brainstem severity names. */
export const SEVERITY: Record<number, string> = { 2: 'warning', 3: 'error', 4: 'critical' };

const MAX_DETAIL_CHARS = 500;

function str(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

/** The alert's own rendered message (`detailMessage`, only with needMessage=true), on one line. */
function detailText(alert: Alert): string | undefined {
  const d = alert.detailMessage;
  const text = typeof d === 'string' ? d : d && typeof d === 'object' ? str((d as Record<string, unknown>).body) ?? str((d as Record<string, unknown>).subject) : undefined;
  if (!text) return undefined;
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_DETAIL_CHARS ? `${flat.slice(0, MAX_DETAIL_CHARS)}…` : flat;
}

/** Keys shared by an alert's raise and clear events. */
export function correlationKeys(alert: Alert): Record<string, string> {
  const keys: Record<string, string> = {};
  const put = (k: string, v: unknown) => {
    const s = str(v);
    if (s !== undefined) keys[k] = s;
  };
  put('alert_id', alert.id);
  put('device', alert.monitorObjectName);
  put('instance', alert.instanceName);
  put('datapoint', alert.dataPointName);
  return keys;
}

function subject(alert: Alert): string {
  const parts = [str(alert.resourceTemplateName), str(alert.instanceName)].filter(Boolean);
  return parts.length ? parts.join(' ') : str(alert.type) ?? 'alert';
}

/** "CPUBusyPercent = 93.5 (threshold > 90)" when the alert has a datapoint, else undefined. */
function measurement(alert: Alert, value: unknown): string | undefined {
  const dp = str(alert.dataPointName);
  if (!dp) return undefined;
  const v = str(value);
  const th = str(alert.threshold);
  return `${dp}${v !== undefined ? ` = ${v}` : ''}${th ? ` (threshold ${th})` : ''}`;
}

export function alertToEnvelope(alert: Alert, state: AlertState, nowMs: number): RawEnvelope {
  const host = str(alert.monitorObjectName);
  const severityNumber = typeof alert.severity === 'number' ? alert.severity : Number(alert.severity);
  const severityName = SEVERITY[severityNumber];
  const start = Number(alert.startEpoch);
  const end = Number(alert.endEpoch);
  const on = host ? ` on ${host}` : '';
  const detail = detailText(alert);
  let message: string;
  let timestamp: number;
  if (state === 'raised') {
    const m = measurement(alert, alert.alertValue);
    message = `LogicMonitor ${severityName ?? 'alert'} alert raised${on}: ${subject(alert)}${m ? ` ${m}` : ''}${detail ? ` - ${detail}` : ''}`;
    timestamp = Number.isFinite(start) && start > 0 ? start * 1000 : nowMs;
  } else {
    const m = measurement(alert, alert.clearValue);
    const was = str(alert.alertValue);
    message = `LogicMonitor alert cleared${on}: ${subject(alert)}${m ? ` ${m}` : ''}${was !== undefined && m ? `, was ${was}` : ''}${detail ? ` - cleared: ${detail}` : ''}`;
    timestamp = Number.isFinite(end) && end > 0 ? end * 1000 : nowMs;
  }
  const envelope: RawEnvelope = {
    messageRaw: message,
    messageFormat: 'message',
    sourceType: 'logicmonitor',
    timestamp,
    severity: state === 'raised' ? severityName : 'notice',
    structuredFields: alert,
    correlationKeys: correlationKeys(alert),
    metadata: {
      alert_state: state,
      alert_type: str(alert.type),
      lm_severity: Number.isFinite(severityNumber) ? severityNumber : undefined,
      internal_id: str(alert.internalId),
      ...(state === 'cleared' ? { recovery: true, duration_s: Number.isFinite(start) && end > 0 ? end - start : undefined } : {}),
    },
  };
  if (host) envelope.host = host;
  const service = str(alert.resourceTemplateName) ?? str(alert.type);
  if (service) envelope.service = service;
  const assetId = str(alert.monitorObjectId);
  if (assetId) envelope.assetId = assetId;
  return envelope;
}
