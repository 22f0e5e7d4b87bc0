// Pure parts of the HTTP API and of reload: body parsing with field paths, the ingest registry,
// and the reload plan (which connectors stop, restart, start or keep running).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EnvelopeError, IngestRegistry, parseEnvelopes } from '../../src/http/ingest.js';
import { canonicalJson, connectorsToRestart, nonReloadableChanges } from '../../src/daemon/reload.js';
import type { ResolvedConnector } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { defineConnector } from '../../src/plugin/contract.js';

const fail = (body: string): EnvelopeError => {
  try {
    parseEnvelopes(body);
  } catch (err) {
    return err as EnvelopeError;
  }
  throw new Error('expected a parse error');
};

describe('parseEnvelopes', () => {
  it('reads a JSON array, NDJSON (blank lines and CRLF ignored) and one object', () => {
    expect(parseEnvelopes('[{"message_raw":"a"},{"message":"b","host":"h"}]').map((e) => [e.messageRaw, e.host])).toEqual([['a', undefined], ['b', 'h']]);
    expect(parseEnvelopes('{"message_raw":"a"}\r\n\r\n{"message_raw":"b","severity":3}\n').map((e) => [e.messageRaw, e.severity])).toEqual([['a', undefined], ['b', 3]]);
    expect(parseEnvelopes('  {"message_raw":"only"}  ')).toHaveLength(1);
    expect(parseEnvelopes('   \n ')).toEqual([]);
  });

  it('names the element and field that failed', () => {
    expect(fail('[{"message_raw":"a"},{"message_raw":5}]')).toMatchObject({ code: 'INVALID_ENVELOPE', path: '[1].message_raw' });
    expect(fail('[1]')).toMatchObject({ code: 'INVALID_ENVELOPE', path: '[0]', message: '[0]: expected a JSON object' });
    expect(fail('{"message_raw":"a"}\n{"message_raw":"b","metadata":"x"}')).toMatchObject({ path: 'line 2.metadata' });
    expect(fail('{"message_raw":"a"}\n{oops')).toMatchObject({ code: 'INVALID_JSON', path: 'line 2' });
    expect(fail('[{"message_raw":"a"},')).toMatchObject({ code: 'INVALID_JSON' });
  });
});

describe('IngestRegistry', () => {
  it('lets a restarted connector replace its predecessor without the old one unregistering it', () => {
    const reg = new IngestRegistry();
    const old = reg.register({ connector: 'api', emit: async () => undefined });
    const successor = { connector: 'api', emit: async () => undefined };
    const leave = reg.register(successor);
    old();
    expect(reg.get('api')).toBe(successor);
    leave();
    expect(reg.get('api')).toBeUndefined();
    expect(reg.names()).toEqual([]);
  });
});

const plugin = defineConnector({ type: 't', schema: z.object({ a: z.number().optional() }).strict(), create: () => ({ start() {}, stop() {} }) });
const rc = (name: string, options: Record<string, unknown>, extra: Record<string, unknown> = {}): ResolvedConnector =>
  ({ config: { name, type: 't', enabled: true, ...extra, ...options }, options, plugin });

describe('reload plan', () => {
  it('restarts changed connectors, stops removed, starts new and keeps the untouched ones', () => {
    const before = [rc('same', { a: 1 }), rc('changed', { a: 1 }), rc('removed', {})];
    const after = [rc('same', { a: 1 }), rc('changed', { a: 2 }), rc('added', {})];
    expect(connectorsToRestart(before, after)).toEqual({ stop: ['removed'], restart: ['changed'], start: ['added'], keep: ['same'] });
  });

  it('does not restart a connector whose keys were only reordered', () => {
    const a = rc('x', { a: 1 }, { plugin: './p.js' });
    const b: ResolvedConnector = { ...a, config: { plugin: './p.js', a: 1, enabled: true, type: 't', name: 'x' } };
    expect(canonicalJson(a.config)).toBe(canonicalJson(b.config));
    expect(connectorsToRestart([a], [b]).keep).toEqual(['x']);
  });

  it('names the settings that need a process restart', () => {
    const base = configSchema.parse({});
    expect(nonReloadableChanges(base, configSchema.parse({}))).toEqual([]);
    const changed = configSchema.parse({ tenant_id: 'other', storage: { path: 'x.db' }, pipeline: { batch_size: 10 } });
    expect(nonReloadableChanges(base, changed)).toEqual(['storage.path', 'tenant_id', 'pipeline']);
  });
});
