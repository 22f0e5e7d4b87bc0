// Prometheus metrics (prom-client, text format): per-connector counters read from the store's
// connector_stats at scrape time (so they survive restarts and match `brainstem stats`), queue
// depth, commit latency, store size, signature count, deliveries, and Node's process metrics.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ConnectorMetricRow {
  connector: string;
  type: string;
  received: number;
  stored: number;
  parseErrors: number;
  dropped: number;
  restarts: number;
  state: string;
  gauges: Record<string, number>;
}

export interface DeliveryMetricRow {
  receiver: string;
  sent: number;
  retried: number;
  dead: number;
  pending: number;
}

/** What /metrics reads at scrape time; the HTTP service implements it over the daemon. */
export interface MetricsSource {
  connectors(): ConnectorMetricRow[];
  queueDepth(): number;
  queueCapacity(): number;
  store(): { fileBytes: number; liveBytes: number; freeBytes: number; signatures: number; candidates: number; incidents: number; aggregateFailures: number };
  deliveries(): DeliveryMetricRow[];
}

export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly commitSeconds: Histogram<string>;
  private readonly committedEvents: Counter<string>;
  readonly httpRequests: Counter<'route' | 'code'>;

  constructor(private readonly source: MetricsSource) {
    const r = [this.registry];
    const src = this.source;
    let rows: ConnectorMetricRow[] = [];
    // one read of the connector rows per scrape, shared by the per-connector metrics below
    const refresh = () => { rows = src.connectors(); };
    const perConnector = (name: string, help: string, pick: (c: ConnectorMetricRow) => number, first = false) =>
      new Counter({
        name, help, labelNames: ['connector', 'type'], registers: r,
        collect() {
          if (first) refresh();
          this.reset();
          for (const c of rows) this.inc({ connector: c.connector, type: c.type }, pick(c));
        },
      });
    perConnector('brainstem_events_received_total', 'Envelopes received from the connector', (c) => c.received, true);
    perConnector('brainstem_events_stored_total', 'Events committed to the store for the connector', (c) => c.stored);
    perConnector('brainstem_parse_errors_total', 'Events stored with a parse error', (c) => c.parseErrors);
    perConnector('brainstem_events_dropped_total', 'Records the connector had to drop (e.g. UDP overrun)', (c) => c.dropped);
    perConnector('brainstem_connector_restarts_total', 'Restarts after a failure since the daemon started', (c) => c.restarts);
    new Gauge({
      name: 'brainstem_connector_up', help: '1 when the connector is running, 0 otherwise (see the state label)',
      labelNames: ['connector', 'type', 'state'], registers: r,
      collect() {
        this.reset();
        for (const c of rows) this.set({ connector: c.connector, type: c.type, state: c.state }, c.state === 'running' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'brainstem_connector_gauge', help: "A connector's own gauges (open files, connections, …)",
      labelNames: ['connector', 'gauge'], registers: r,
      collect() {
        this.reset();
        for (const c of rows) for (const [g, v] of Object.entries(c.gauges)) this.set({ connector: c.connector, gauge: g }, v);
      },
    });
    new Gauge({
      name: 'brainstem_pipeline_queue_depth', help: 'Envelopes waiting to be taken into a batch', registers: r,
      collect() { this.set(src.queueDepth()); },
    });
    new Gauge({
      name: 'brainstem_pipeline_queue_capacity', help: 'Envelopes queued before connectors are slowed down (and POST /v1/events gets 429)', registers: r,
      collect() { this.set(src.queueCapacity()); },
    });
    this.commitSeconds = new Histogram({
      name: 'brainstem_batch_commit_seconds', help: 'Latency of one batch transaction (events, aggregates, checkpoints)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: r,
    });
    this.committedEvents = new Counter({
      name: 'brainstem_batch_events_total', help: 'Events committed by the pipeline since the daemon started', registers: r,
    });
    let storeInfo: ReturnType<MetricsSource['store']> | undefined;
    const storeGauge = (name: string, help: string, pick: (s: NonNullable<typeof storeInfo>) => number, first = false) =>
      new Gauge({
        name, help, registers: r,
        collect() {
          if (first || !storeInfo) storeInfo = src.store();
          this.set(pick(storeInfo));
        },
      });
    storeGauge('brainstem_store_size_bytes', 'Size of the database files on disk (main file and WAL)', (s) => s.fileBytes, true);
    storeGauge('brainstem_store_live_bytes', 'Bytes of the database in use (pages minus free pages); storage.max_bytes caps this', (s) => s.liveBytes);
    storeGauge('brainstem_store_free_bytes', 'Free pages kept for reuse inside the database file', (s) => s.freeBytes);
    storeGauge('brainstem_signatures', 'Signatures (recurring patterns) known', (s) => s.signatures);
    storeGauge('brainstem_candidates', 'Candidates currently stored', (s) => s.candidates);
    storeGauge('brainstem_incidents', 'Incidents in incident memory', (s) => s.incidents);
    storeGauge('brainstem_aggregate_apply_failures', 'Failed attempts to apply the signal aggregates since they last succeeded (0: healthy)', (s) => s.aggregateFailures);
    let deliveries: DeliveryMetricRow[] = [];
    const perReceiver = (name: string, help: string, pick: (d: DeliveryMetricRow) => number, first = false) =>
      new Counter({
        name, help, labelNames: ['receiver'], registers: r,
        collect() {
          if (first) deliveries = src.deliveries();
          this.reset();
          for (const d of deliveries) this.inc({ receiver: d.receiver }, pick(d));
        },
      });
    perReceiver('brainstem_deliveries_sent_total', 'Digest deliveries accepted by the receiver', (d) => d.sent, true);
    perReceiver('brainstem_deliveries_retried_total', 'Delivery attempts that were retries', (d) => d.retried);
    perReceiver('brainstem_deliveries_dead_total', 'Deliveries given up after the last retry', (d) => d.dead);
    new Gauge({
      name: 'brainstem_deliveries_pending', help: 'Deliveries waiting in the outbox', labelNames: ['receiver'], registers: r,
      collect() {
        this.reset();
        for (const d of deliveries) this.set({ receiver: d.receiver }, d.pending);
      },
    });
    this.httpRequests = new Counter({
      name: 'brainstem_http_requests_total', help: 'HTTP API requests by route and status code', labelNames: ['route', 'code'], registers: r,
    });
    // process_resident_memory_bytes, nodejs_heap_size_used_bytes, nodejs_eventloop_lag_seconds, …
    collectDefaultMetrics({ register: this.registry });
  }

  /** Feed from the pipeline's onCommit callback. */
  observeCommit(ms: number, events: number): void {
    this.commitSeconds.observe(ms / 1000);
    this.committedEvents.inc(events);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
