// Line → RawEnvelope for the three formats. `syslog` and `plain` leave the header to the
// pipeline (messageFormat tells it how to read the line); `json` is mapped here because
// only the connector knows the configured field names.
import type { RawEnvelope } from '../../src/plugin/contract.js';
import type { LineEvent } from './lines.js';
import type { FileOptions, JsonFields } from './options.js';

export interface EnvelopeOptions {
  format: FileOptions['format'];
  jsonFields: JsonFields;
  host?: string;
  service?: string;
}

export function toEnvelope(ev: LineEvent, sourcePath: string, opts: EnvelopeOptions): RawEnvelope {
  const env: RawEnvelope =
    opts.format === 'json'
      ? fromJson(ev.text, opts.jsonFields)
      : { messageRaw: ev.text, messageFormat: opts.format === 'syslog' ? 'syslog' : 'message' };
  env.sourceType = 'file';
  env.sourcePath = sourcePath;
  if (opts.host !== undefined) env.host = opts.host;
  if (opts.service !== undefined) env.service = opts.service;
  if (ev.truncated) env.metadata = { ...env.metadata, truncated: true, original_bytes: ev.originalBytes };
  return env;
}

// pino/bunyan numeric levels → syslog severity names
const NUMERIC_LEVELS: Array<[number, string]> = [[60, 'crit'], [50, 'err'], [40, 'warning'], [30, 'info'], [0, 'debug']];

function names(f: string | string[]): string[] {
  return Array.isArray(f) ? f : [f];
}

function pick(obj: Record<string, unknown>, keys: string[], used: Set<string>): unknown {
  for (const k of keys) {
    if (obj[k] !== undefined && obj[k] !== null) {
      used.add(k);
      return obj[k];
    }
  }
  return undefined;
}

/** One JSON object per line; a line that is not one is kept raw with `parseError` set. */
export function fromJson(line: string, fields: JsonFields): RawEnvelope {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (e) {
    return { messageRaw: line, messageFormat: 'message', parseError: `not JSON: ${(e as Error).message}` };
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
    return { messageRaw: line, messageFormat: 'message', parseError: 'not a JSON object' };
  }
  const o = obj as Record<string, unknown>;
  const used = new Set<string>();
  const message = pick(o, names(fields.message), used);
  const timestamp = pick(o, names(fields.timestamp), used);
  const host = pick(o, names(fields.host), used);
  const service = pick(o, names(fields.service), used);
  const severity = pick(o, names(fields.severity), used);
  const env: RawEnvelope = {
    messageRaw: line,
    message: message === undefined ? line : typeof message === 'string' ? message : JSON.stringify(message),
    messageFormat: 'message',
  };
  if (typeof timestamp === 'string' || typeof timestamp === 'number') env.timestamp = timestamp;
  if (host !== undefined) env.host = String(host);
  if (service !== undefined) env.service = String(service);
  if (typeof severity === 'string') env.severity = severity;
  else if (typeof severity === 'number') {
    env.severity = severity <= 7 ? severity : NUMERIC_LEVELS.find(([min]) => severity >= min)![1];
  }
  const rest: Record<string, unknown> = {};
  let any = false;
  for (const k in o) {
    if (!used.has(k)) {
      rest[k] = o[k];
      any = true;
    }
  }
  if (any) env.structuredFields = rest;
  return env;
}
