// Example: the `http` connector plugin on its own — it registers its acknowledged emit with the
// ingest registry the HTTP API looks up, and pushed envelopes arrive through ctx.emit.
import { expect, it } from 'vitest';
import httpPlugin from '../../plugins/http/index.js';
import { ingestRegistry, parseEnvelopes } from '../../src/http/ingest.js';
import type { ConnectorContext, RawEnvelope } from '../../src/plugin/contract.js';
import { silentLogger } from '../../src/log/logger.js';

it('example: an http connector receives what POST /v1/events parsed, and leaves on stop', async () => {
  const emitted: RawEnvelope[][] = [];
  const gauges: Record<string, number> = {};
  const ctx: ConnectorContext = {
    name: 'push', tenantId: 't', logger: silentLogger(), checkpoint: undefined, signal: new AbortController().signal, dataDir: '/nonexistent',
    metrics: { dropped() {}, gauge(n, v) { gauges[n] = v; } },
    emit: async (envelopes) => { emitted.push(envelopes); },
    reportError() {}, clearError() {},
  };
  // what `- { name: push, type: http }` turns into
  const connector = httpPlugin.create(httpPlugin.schema.parse({}), ctx);
  await connector.start();

  // the server does this for a request: parse the body, emit through the registered endpoint
  const endpoint = ingestRegistry.get('push')!;
  await endpoint.emit(parseEnvelopes('{"message_raw":"deploy started","host":"ci-1"}\n{"message_raw":"deploy done","source_type":"ci"}'));
  endpoint.onAccepted?.(2);
  expect(emitted).toHaveLength(1);
  expect(emitted[0]!.map((e) => [e.messageRaw, e.host, e.sourceType])).toEqual([
    ['deploy started', 'ci-1', 'http'], // the connector's source_type where the envelope names none
    ['deploy done', undefined, 'ci'],
  ]);
  expect(gauges).toEqual({ requests_accepted: 1 });

  await connector.stop();
  expect(ingestRegistry.get('push')).toBeUndefined();
});
