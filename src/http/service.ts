// The HTTP API as a daemon service: wires the server and the metrics to the daemon (health
// from the supervised connectors, queue depth and commit latency from the pipeline, sizes and
// delivery counts from the store) and rebinds on reload only when the `api` block changed.
import { parseListen } from '../config/load.js';
import type { LoadedConfig } from '../config/load.js';
import type { Daemon, DaemonService } from '../daemon/daemon.js';
import type { SqliteStore } from '../store/sqlite.js';
import { storeSizes } from '../daemon/retention.js';
import { outboxCounts } from '../store/outbox.js';
import { ingestRegistry } from './ingest.js';
import { DaemonMetrics, type DeliveryMetricRow, type MetricsSource } from './metrics.js';
import { ApiServer, type HealthReport } from './server.js';

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Deliveries per receiver, from the outbox (so the counters survive restarts). */
export function deliveryCounts(store: SqliteStore): DeliveryMetricRow[] {
  return outboxCounts(store).map((r) => ({ receiver: r.receiver, sent: r.sent, retried: r.retried, dead: r.dead, pending: r.pending }));
}

export function daemonHealth(daemon: Daemon): HealthReport {
  const connectors = [...daemon.connectors.values()].map((c) => ({
    name: c.name, type: c.status.type, state: c.status.state, last_error: c.status.lastError ?? null,
  }));
  const reasons = connectors.filter((c) => c.state !== 'running')
    .map((c) => `connector ${c.name} is ${c.state}${c.last_error ? `: ${c.last_error}` : ''}`);
  if (daemon.isStopping) reasons.unshift('daemon is stopping');
  return { ok: reasons.length === 0, connectors, reasons };
}

function metricsSource(daemon: Daemon): MetricsSource {
  const one = (sql: string) => (daemon.store.stmt(sql).get() as { n: number }).n;
  return {
    connectors() {
      // counters as persisted (drops are saved every 2 s): a scrape never writes, so it never waits on the writer
      const live = new Map([...daemon.connectors.values()].map((c) => [c.name, c]));
      return daemon.store.connectorStats().map((row) => {
        const c = live.get(row.connector);
        return {
          connector: row.connector, type: row.type ?? c?.status.type ?? 'unknown', received: row.received, stored: row.stored,
          parseErrors: row.parseErrors, dropped: row.dropped, restarts: c?.status.restarts ?? 0,
          state: c?.status.state ?? 'removed', gauges: c?.status.gauges ?? row.gauges,
        };
      });
    },
    queueDepth: () => daemon.pipeline.depth,
    queueCapacity: () => daemon.loaded.config.pipeline.queue_capacity,
    store: () => ({
      ...storeSizes(daemon.store),
      signatures: one('SELECT count(*) AS n FROM signatures'),
      candidates: one('SELECT count(*) AS n FROM candidates'),
      incidents: one('SELECT count(*) AS n FROM incident_memory'),
      aggregateFailures: daemon.store.aggregateError()?.failures ?? 0,
    }),
    deliveries: () => deliveryCounts(daemon.store),
  };
}

function apiKey(cfg: LoadedConfig['config']): string {
  return JSON.stringify(cfg.api);
}

export class HttpApiService implements DaemonService {
  readonly name = 'http-api';
  readonly metrics: DaemonMetrics;
  server: ApiServer | undefined;
  private key: string;

  constructor(private readonly daemon: Daemon) {
    this.metrics = new DaemonMetrics(metricsSource(daemon));
    this.key = apiKey(daemon.loaded.config);
    const previous = daemon.pipeline.onCommit;
    daemon.pipeline.onCommit = (ms, n) => {
      previous?.(ms, n);
      this.metrics.observeCommit(ms, n);
    };
  }

  private makeServer(cfg: LoadedConfig['config']): ApiServer {
    const listen = parseListen(cfg.api.listen)!;
    const capacity = () => this.daemon.loaded.config.pipeline.queue_capacity;
    return new ApiServer(
      { host: listen.host, port: listen.port, token: cfg.api.token, maxBodyBytes: cfg.api.max_body_bytes ?? DEFAULT_MAX_BODY_BYTES },
      {
        store: this.daemon.store, ingest: ingestRegistry, metrics: this.metrics,
        health: () => daemonHealth(this.daemon),
        // the pipeline's own rule: a batch always fits an empty queue
        queueFull: (n) => this.daemon.pipeline.depth > 0 && this.daemon.pipeline.depth + n > capacity(),
        configuredIngest: () => this.daemon.loaded.config.connectors.filter((c) => c.type === 'http').map((c) => c.name),
      },
      this.daemon.logger.child({ component: 'http' }),
    );
  }

  async start(): Promise<void> {
    const cfg = this.daemon.loaded.config;
    if (!cfg.api.enabled) return;
    const server = this.makeServer(cfg);
    await server.start();
    this.server = server;
  }

  /** Rebind only when the api block changed, so clients see no gap on an ordinary reload. */
  async reload(next: LoadedConfig): Promise<void> {
    const key = apiKey(next.config);
    if (key === this.key) return;
    this.key = key;
    await this.stop();
    if (!next.config.api.enabled) return;
    const server = this.makeServer(next.config);
    await server.start();
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.stop(Math.max(1000, this.daemon.loaded.config.shutdown_timeout / 2));
  }
}

/** The SERVICE_FACTORIES entry. */
export const httpApiService = (daemon: Daemon): DaemonService => new HttpApiService(daemon);
