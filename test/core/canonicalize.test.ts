import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/pipeline/canonicalize.js';
import { normalizeSeverity, classifyFamily } from '../../src/pipeline/classify.js';

const ctx = { connector: 'c', tenantId: 't', sourceType: 'file', now: Date.UTC(2026, 11, 3, 16), utc: true };

describe('canonicalize', () => {
  it('takes host, service and pid from a syslog header the connector did not set', () => {
    const { event } = canonicalize({ messageRaw: 'Dec  3 15:47:10 web-1 sshd[42]: Failed password for root from 10.0.0.1 port 22 ssh2' }, ctx);
    expect(new Date(event.ts).toISOString()).toBe('2026-12-03T15:47:10.000Z');
    expect(event).toMatchObject({ host: 'web-1', service: 'sshd', message: 'Failed password for root from 10.0.0.1 port 22 ssh2' });
    expect(event.structuredFields).toEqual({ pid: '42' });
    expect(event.ingestMetadata.original_timestamp).toBe('Dec  3 15:47:10');
    expect(event.messageNormalized).toContain('<IP>');
  });

  it('keeps what the connector set over the header', () => {
    const { event } = canonicalize({ messageRaw: 'Dec  3 15:47:10 web-1 sshd[42]: hi', host: 'override' }, ctx);
    expect(event.host).toBe('override');
  });

  it('converts timestamps to UTC ISO 8601 and keeps the original', () => {
    const { event } = canonicalize({ messageRaw: 'x', timestamp: '2026-12-03T17:00:00+01:00' }, ctx);
    expect(new Date(event.ts).toISOString()).toBe('2026-12-03T16:00:00.000Z');
    expect(event.ingestMetadata.original_timestamp).toBe('2026-12-03T17:00:00+01:00');
  });

  it('falls back to receipt time for an unparseable timestamp and says so', () => {
    const { event } = canonicalize({ messageRaw: 'x', timestamp: 'yesterday-ish' }, ctx);
    expect(event.ts).toBe(ctx.now);
    expect(event.ingestMetadata.timestamp_error).toMatch(/unparseable/);
  });

  it('marks a line without the required syslog header as a parse error and keeps the text', () => {
    const { event } = canonicalize({ messageRaw: 'no header here', messageFormat: 'syslog' }, ctx);
    expect(event.parseError).toMatch(/no syslog header/);
    expect(event.messageRaw).toBe('no header here');
  });

  it('uses the connector-parsed body when given', () => {
    const { event } = canonicalize({ messageRaw: '<34>1 2026-12-03T10:00:00Z h app - - - body 42', message: 'body 42' }, ctx);
    expect(event.message).toBe('body 42');
    expect(event.messageNormalized).toBe('body <NUM>');
  });

  it('normalizes severities to syslog names', () => {
    expect(normalizeSeverity('ERROR')).toBe('err');
    expect(normalizeSeverity('warn')).toBe('warning');
    expect(normalizeSeverity('critical')).toBe('crit');
    expect(normalizeSeverity(3)).toBe('err');
    expect(normalizeSeverity('7')).toBe('debug');
    expect(normalizeSeverity('loud')).toBeUndefined();
    const { event } = canonicalize({ messageRaw: 'x', severity: 'loud' }, ctx);
    expect(event.severity).toBeUndefined();
    expect(event.ingestMetadata.original_severity).toBe('loud');
  });

  it('infers a severity from a level word and says it did', () => {
    const { event } = canonicalize({ messageRaw: '2026-12-03 10:00:00 ERROR db connection lost', messageFormat: 'message' }, ctx);
    expect(event.severity).toBe('err');
    expect(event.ingestMetadata.severity_inferred).toBe(true);
  });

  it('classifies event families', () => {
    expect(classifyFamily('Failed password for root from <IP> port <NUM>', 'sshd')).toBe('auth');
    expect(classifyFamily('vti<NUM>: link down', 'kernel')).toBe('network');
    expect(classifyFamily('No space left on device', 'app')).toBe('resource');
    expect(classifyFamily('Started Payments API.', 'systemd')).toBe('service_lifecycle');
    expect(classifyFamily('segfault at <HEX>', 'app')).toBe('failure');
    expect(classifyFamily('hello world', 'app')).toBe('generic');
  });
});
