// LogicMonitor request authentication (spec §2): LMv1 HMAC signatures, signed fresh for every
// request, or a Bearer token. Pure functions; the key never leaves this module except as a signature.
import { createHmac } from 'node:crypto';

export type LogicMonitorAuth =
  | { type: 'lmv1'; access_id: string; access_key: string }
  | { type: 'bearer'; token: string };

/**
 * The LMv1 signature: Base64 of the lower-case *hex text* of HMAC-SHA256(accessKey,
 * VERB + epochMillis + body + resourcePath), where resourcePath is the path after
 * `/santaba/rest` without the query string. (Base64 of the raw digest is a classic mistake.)
 */
export function signLmv1(accessKey: string, verb: string, epochMs: number | string, body: string, resourcePath: string): string {
  const hex = createHmac('sha256', accessKey).update(`${verb.toUpperCase()}${epochMs}${body}${resourcePath}`).digest('hex');
  return Buffer.from(hex, 'utf8').toString('base64');
}

/** The `Authorization` header value for one request. */
export function authorizationHeader(auth: LogicMonitorAuth, verb: string, resourcePath: string, body = '', nowMs = Date.now()): string {
  if (auth.type === 'bearer') return `Bearer ${auth.token}`;
  const epoch = String(Math.trunc(nowMs));
  return `LMv1 ${auth.access_id}:${signLmv1(auth.access_key, verb, epoch, body, resourcePath)}:${epoch}`;
}
