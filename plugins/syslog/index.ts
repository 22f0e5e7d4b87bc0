// `type: syslog` — receives syslog over UDP, TCP and TLS (RFC 3164, RFC 5424, RFC 6587
// framing) and hands parsed envelopes to the pipeline. Options and examples: README.md here.
import { z } from 'zod';
import { defineConnector } from '../../src/plugin/contract.js';
import { SyslogReceiver, type SyslogConfig } from './receiver.js';
import { sourceFilter } from './sources.js';
import { isValidTimezone } from './zone.js';

/** `30`, `30s`, `5m`, `1h` → seconds. */
const duration = z.union([z.number().min(0), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `a duration like 30s, 5m or 1h (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
});

const listen = z.object({
  protocol: z.enum(['udp', 'tcp', 'tls']),
  address: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(5514),
  /** PEM text or a path to a PEM file (TLS only). */
  cert: z.string().optional(),
  key: z.string().optional(),
  ca: z.string().optional(),
  /** Require and verify a client certificate signed by `ca`. */
  client_auth: z.boolean().default(false),
}).strict().superRefine((l, ctx) => {
  if (l.protocol === 'tls' && (!l.cert || !l.key)) {
    ctx.addIssue({ code: 'custom', message: 'tls needs cert and key (PEM text or file path)' });
  }
  if (l.client_auth && !l.ca) ctx.addIssue({ code: 'custom', path: ['ca'], message: 'client_auth needs ca' });
  if (l.protocol !== 'tls' && (l.cert || l.key || l.ca || l.client_auth)) {
    ctx.addIssue({ code: 'custom', message: `cert/key/ca/client_auth apply to protocol tls only (got ${l.protocol})` });
  }
});

export const DEFAULT_LISTEN = [
  { protocol: 'udp' as const, address: '127.0.0.1', port: 5514, client_auth: false },
  { protocol: 'tcp' as const, address: '127.0.0.1', port: 5514, client_auth: false },
];

export const syslogSchema = z.object({
  listen: z.array(listen).min(1).default(DEFAULT_LISTEN),
  format: z.enum(['auto', 'rfc3164', 'rfc5424']).default('auto'),
  framing: z.enum(['auto', 'octet-counting', 'newline']).default('auto'),
  max_message_bytes: z.number().int().min(480).max(16 * 1024 * 1024).default(64 * 1024),
  max_connections: z.number().int().min(1).default(1000),
  idle_timeout: duration.default(300),
  allowed_sources: z.array(z.string()).default([]).superRefine((list, ctx) => {
    try {
      sourceFilter(list);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }),
  timezone: z.string().default('local').refine(isValidTimezone, 'a timezone: local, UTC, +01:00 or an IANA name like Europe/Berlin'),
  udp_receive_buffer_bytes: z.number().int().min(4096).default(8 * 1024 * 1024),
}).strict();

export default defineConnector<SyslogConfig>({
  type: 'syslog',
  description: 'Receive syslog (RFC 3164 / 5424) over UDP, TCP and TLS',
  schema: syslogSchema as unknown as z.ZodType<SyslogConfig>,
  create: (config, ctx) => new SyslogReceiver(config, ctx),
});
