// The `http` connector: makes POST /v1/events of the daemon's HTTP API an input. It owns no
// socket; on start it offers its acknowledged emit to the API through the ingest registry, so
// pushed events carry this connector's name in stats and /metrics like any other input.
import { z } from 'zod';
import { defineConnector } from '../../src/plugin/contract.js';
import { ingestRegistry } from '../../src/http/ingest.js';

export default defineConnector({
  type: 'http',
  description: 'events pushed to POST /v1/events of the HTTP API (JSON array or NDJSON of envelopes)',
  schema: z.object({
    source_type: z.string().min(1).default('http').describe('source_type of events that do not name one'),
  }).strict(),
  create(config, ctx) {
    let unregister: (() => void) | undefined;
    let requests = 0;
    return {
      start() {
        unregister = ingestRegistry.register({
          connector: ctx.name,
          emit: (envelopes) => {
            for (const e of envelopes) e.sourceType ??= config.source_type;
            return ctx.emit(envelopes);
          },
          onAccepted: () => ctx.metrics.gauge('requests_accepted', ++requests),
        });
      },
      stop() {
        // requests already handed to emit are awaited by the supervisor; new ones get 503
        unregister?.();
        unregister = undefined;
      },
      async check() {
        return { ok: true, detail: 'receives POST /v1/events on the HTTP API (api.listen)' };
      },
    };
  },
});
