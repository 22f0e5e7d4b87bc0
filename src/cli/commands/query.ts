// Read-only listings: `events`, `signatures`, `candidates`, `stats`. They open the store
// read-only, so they work while a daemon is writing to it.
import { eventToWire } from '../../pipeline/event.js';
import { computeCandidates, candidateToWire } from '../../signals/score.js';
import { scoringOptions } from '../../daemon/daemon.js';
import { signatureToWire } from '../../pipeline/fingerprint.js';
import { outboxCounts } from '../../store/outbox.js';
import { CliError, intOption, iso, loadConfigOrExit, openStoreReadonly, printJson, printTable, type Command } from '../common.js';

export const eventsCommand: Command = {
  name: 'events',
  summary: 'list stored events, newest first',
  usage: 'brainstem events [--signature KEY] [--connector NAME] [--limit N] [--json]',
  options: { signature: { type: 'string' }, connector: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, configPath }) {
    const store = openStoreReadonly(await loadConfigOrExit(configPath));
    try {
      const events = store.listEvents({
        signatureKey: values.signature as string | undefined, connector: values.connector as string | undefined,
        limit: intOption(values.limit, 'limit', 50),
      });
      if (values.json) printJson(events.map(eventToWire));
      else printTable(['id', 'timestamp', 'host', 'service', 'severity', 'signature', 'message'],
        events.map((e) => [e.id, e.timestamp, e.host, e.service, e.severity, e.signatureKey, e.message]));
    } finally {
      store.close();
    }
  },
};

export const signaturesCommand: Command = {
  name: 'signatures',
  summary: 'list signatures (recurring patterns), most frequent first',
  usage: 'brainstem signatures [--limit N] [--json]',
  options: { limit: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, configPath }) {
    const store = openStoreReadonly(await loadConfigOrExit(configPath));
    try {
      const sigs = store.listSignatures(intOption(values.limit, 'limit', 50));
      if (values.json) printJson(sigs.map(signatureToWire));
      else printTable(['signature', 'count', 'family', 'service', 'last seen', 'pattern'],
        sigs.map((s) => [s.signatureKey, s.occurrenceCount, s.eventFamily, s.service, iso(s.lastSeen), s.template]));
    } finally {
      store.close();
    }
  },
};

const BANDS = ['ignore', 'watch', 'review', 'urgent_human_review', 'promote_to_incident_memory'];
const ATTENTION = ['ignore_fast', 'background', 'watch', 'investigate', 'promote'];

export const candidatesCommand: Command = {
  name: 'candidates',
  summary: 'score the signatures of the lookback window now and list the candidates, best first',
  usage: 'brainstem candidates [--band DECISION_OR_ATTENTION_BAND] [--limit N] [--json]',
  options: { band: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, configPath }) {
    const loaded = await loadConfigOrExit(configPath);
    const band = values.band as string | undefined;
    if (band && !BANDS.includes(band) && !ATTENTION.includes(band)) {
      throw new CliError(`--band must be one of ${[...BANDS, ...ATTENTION].join(', ')}; got "${band}"`, 2, 'USAGE');
    }
    const store = openStoreReadonly(loaded);
    try {
      let cands = computeCandidates(store, scoringOptions(loaded.config), Date.now());
      if (band) cands = cands.filter((c) => c.decisionBand === band || c.attentionBand === band);
      const limit = intOption(values.limit, 'limit', 20);
      if (limit > 0) cands = cands.slice(0, limit);
      if (values.json) printJson(cands.map(candidateToWire));
      else printTable(['score', 'band', 'attention', 'signature', 'title', 'summary'],
        cands.map((c) => [c.scoreTotal.toFixed(3), c.decisionBand, c.attentionBand, c.signatureKey, c.title, c.summary]));
    } finally {
      store.close();
    }
  },
};

export const statsCommand: Command = {
  name: 'stats',
  summary: 'totals and per-connector counters (received, stored, parse errors, dropped, state, last error)',
  usage: 'brainstem stats [--json]',
  options: { json: { type: 'boolean' } },
  async run({ values, configPath }) {
    const store = openStoreReadonly(await loadConfigOrExit(configPath));
    try {
      const totals = store.totals();
      const connectors = store.connectorStats().map((c) => ({
        connector: c.connector, type: c.type, received: c.received, stored: c.stored, parse_errors: c.parseErrors,
        dropped: c.dropped, state: c.state, last_error: c.lastError, gauges: c.gauges, updated_at: iso(c.updatedAt),
      }));
      const deliveries = outboxCounts(store);
      const failure = store.aggregateError();
      const aggregateError = failure ? { message: failure.message, since: iso(failure.since), failures: failure.failures } : null;
      if (values.json) {
        printJson({
          totals: { events: totals.events, signatures: totals.signatures, candidates: totals.candidates, incidents: totals.incidents },
          store: { aggregate_error: aggregateError }, connectors, deliveries,
        });
      } else {
        process.stdout.write(`events ${totals.events}  signatures ${totals.signatures}  candidates ${totals.candidates}  incidents ${totals.incidents}\n`);
        if (aggregateError) {
          process.stdout.write(`aggregates: applying has failed ${aggregateError.failures} times since ${aggregateError.since}: ${aggregateError.message}`
            + ' (events are stored; scores lag until it succeeds)\n');
        }
        process.stdout.write('\n');
        printTable(['connector', 'type', 'received', 'stored', 'parse_errors', 'dropped', 'state', 'last_error'],
          connectors.map((c) => [c.connector, c.type, c.received, c.stored, c.parse_errors, c.dropped, c.state, c.last_error]));
        if (deliveries.length) {
          process.stdout.write('\n');
          printTable(['receiver', 'pending', 'sent', 'dead', 'retried', 'last_error'],
            deliveries.map((d) => [d.receiver, d.pending, d.sent, d.dead, d.retried, d.last_error]));
        }
      }
    } finally {
      store.close();
    }
  },
};
