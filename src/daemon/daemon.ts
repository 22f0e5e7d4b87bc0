// The daemon: opens the store, builds the pipeline, starts the connectors under supervision,
// refreshes candidates and applies retention on timers, and stops everything in order.
import { dirname, join, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { Fingerprinter } from '../pipeline/fingerprint.js';
import { TemplateMiner } from '../pipeline/miner.js';
import { Pipeline } from '../pipeline/pipeline.js';
import type { ScoringOptions } from '../signals/score.js';
import { refreshSignals } from '../signals/refresh.js';
import { SqliteStore } from '../store/sqlite.js';
import { InlineWriter, WorkerWriter, workerWriterAvailable, type ClosableWriter } from '../store/writers.js';
import { SupervisedConnector } from './supervisor.js';
import { httpApiService } from '../http/service.js';
import { createDigestService } from '../digest/service.js';
import { connectorsToRestart, nonReloadableChanges } from './reload.js';
import { enforceMaxBytes, reclaimFreePages } from './retention.js';

export function minerOptions(cfg: LoadedConfig['config']) {
  const m = cfg.miner;
  return {
    ...(m.similarity !== undefined ? { similarity: m.similarity } : {}),
    ...(m.depth !== undefined ? { depth: m.depth } : {}),
    ...(m.max_children !== undefined ? { maxChildren: m.max_children } : {}),
    ...(m.settled !== undefined ? { settled: m.settled } : {}),
  };
}

export function scoringOptions(cfg: LoadedConfig['config']): ScoringOptions {
  return { lookbackMs: cfg.scoring.lookback, minOccurrences: cfg.scoring.min_occurrences, weights: cfg.scoring.weights };
}

/** A failing aggregate apply is logged at most this often (it is retried with every batch). */
const AGGREGATE_ERROR_LOG_MS = 10_000;

/** Store + miner + pipeline, as used by the daemon and by one-shot `ingest`. */
export interface Ingestion {
  store: SqliteStore;
  pipeline: Pipeline;
  /** Flush the pipeline, then stop the writer. The store stays open for the caller. */
  close(): Promise<void>;
}

export function openIngestion(cfg: LoadedConfig['config'], logger: Logger, storePath = resolve(cfg.storage.path)): Ingestion {
  const store = new SqliteStore(storePath);
  const writer: ClosableWriter = workerWriterAvailable() ? new WorkerWriter(storePath) : new InlineWriter(store);
  if (writer instanceof WorkerWriter) {
    let lastLog = 0;
    let failures = 0;
    writer.onAggregateError = (message) => {
      const now = Date.now();
      failures++;
      if (now - lastLog < AGGREGATE_ERROR_LOG_MS) return;
      logger.warn({ err: message, failures }, 'applying the signal aggregates failed; they stay pending and are retried with the next batch');
      lastLog = now;
      failures = 0;
    };
  }
  const makeMiner = () => new TemplateMiner(minerOptions(cfg));
  const miner = makeMiner();
  miner.load(store.loadClusters());
  const fingerprinter = new Fingerprinter(miner);
  const pipeline = new Pipeline(
    writer,
    fingerprinter,
    logger,
    {
      tenantId: cfg.tenant_id, batchSize: cfg.pipeline.batch_size, flushMs: cfg.pipeline.flush_interval,
      queueCapacity: cfg.pipeline.queue_capacity, utc: cfg.pipeline.utc,
    },
    () => fingerprinter.reset(store.loadClusters(), makeMiner()),
  );
  return {
    store,
    pipeline,
    close: async () => {
      await pipeline.close();
      await writer.close();
    },
  };
}

/**
 * A long-running part of the daemon beside the connectors (digest scheduler, HTTP API).
 * Services start after the connectors and stop before them.
 */
export interface DaemonService {
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
  /**
   * Apply a reloaded config (SIGHUP); `daemon.loaded` is already the new one. A service
   * without `reload` is stopped and made anew by its factory.
   */
  reload?(next: LoadedConfig): Promise<void> | void;
}

export type ServiceFactory = (daemon: Daemon) => DaemonService | undefined;

/** The services every daemon runs; each module registers itself here with one line. */
export const SERVICE_FACTORIES: ServiceFactory[] = [
  httpApiService,
  createDigestService,
];

/** What a reload did, for the log and for tests. */
export interface ReloadSummary {
  stopped: string[];
  restarted: string[];
  started: string[];
  unchanged: string[];
  /** Keys that changed but only take effect after a restart of the process. */
  needsRestart: string[];
}

export class Daemon {
  readonly services: DaemonService[] = [];
  private readonly serviceFactories = new Map<DaemonService, ServiceFactory>();
  readonly connectors = new Map<string, SupervisedConnector>();
  private timers: NodeJS.Timeout[] = [];
  private scoringTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private reloading: Promise<unknown> = Promise.resolve();
  readonly startedAt = Date.now();

  private constructor(
    /** The config in force; replaced by `reload`. */
    public loaded: LoadedConfig,
    readonly logger: Logger,
    readonly store: SqliteStore,
    readonly pipeline: Pipeline,
    private readonly ingestion: Ingestion,
  ) {}

  static async start(loaded: LoadedConfig, logger: Logger): Promise<Daemon> {
    const ingestion = openIngestion(loaded.config, logger);
    const d = new Daemon(loaded, logger, ingestion.store, ingestion.pipeline, ingestion);
    logger.info({ store: d.store.path, connectors: loaded.connectors.map((c) => c.config.name) }, 'brainstem starting');
    for (const rc of loaded.connectors) d.addConnector(rc);
    await Promise.all([...d.connectors.values()].map((c) => c.start()));
    d.every(2000, () => { for (const c of d.connectors.values()) c.saveStatus(); });
    d.scoringTimer = d.every(loaded.config.scoring.interval, () => d.refreshCandidates());
    d.every(60_000, () => d.applyRetention());
    d.applyRetention();
    for (const make of SERVICE_FACTORIES) await d.startService(make);
    return d;
  }

  get isStopping(): boolean {
    return this.stopped;
  }

  private async startService(make: ServiceFactory): Promise<void> {
    const svc = make(this);
    if (!svc) return;
    await svc.start();
    this.services.push(svc);
    this.serviceFactories.set(svc, make);
  }

  /**
   * Apply a new config (SIGHUP): connectors whose block changed restart from their committed
   * checkpoint, removed ones stop, new ones start, untouched ones keep running. Reloads are
   * serialized; storage, pipeline, miner and tenant changes need a process restart.
   */
  reload(next: LoadedConfig): Promise<ReloadSummary> {
    const run = this.reloading.then(() => this.applyReload(next));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async applyReload(next: LoadedConfig): Promise<ReloadSummary> {
    if (this.stopped) throw new Error('daemon is stopping');
    const plan = connectorsToRestart(this.loaded.connectors, next.connectors);
    const needsRestart = nonReloadableChanges(this.loaded.config, next.config);
    const leaving = [...plan.stop, ...plan.restart].map((n) => this.connectors.get(n)).filter((c) => c !== undefined);
    // stopping waits for each connector's emits to commit with its checkpoint, so its successor resumes exactly there
    await Promise.allSettled(leaving.map((c) => c.stop()));
    for (const c of leaving) this.connectors.delete(c.name);
    if (this.stopped) throw new Error('daemon is stopping; reload abandoned');
    const kept = { storage: this.loaded.config.storage.path, pipeline: this.loaded.config.pipeline, miner: this.loaded.config.miner, tenant_id: this.loaded.config.tenant_id };
    this.loaded = { ...next, config: { ...next.config, storage: { ...next.config.storage, path: kept.storage }, pipeline: kept.pipeline, miner: kept.miner, tenant_id: kept.tenant_id } };
    const byName = new Map(next.connectors.map((rc) => [rc.config.name, rc]));
    const fresh = [...plan.restart, ...plan.start].map((n) => this.addConnector(byName.get(n)!));
    await Promise.all(fresh.map((c) => c.start()));
    if (this.scoringTimer) clearInterval(this.scoringTimer);
    this.scoringTimer = this.every(this.loaded.config.scoring.interval, () => this.refreshCandidates());
    for (const svc of [...this.services]) {
      try {
        if (svc.reload) {
          await svc.reload(this.loaded);
        } else {
          const make = this.serviceFactories.get(svc)!;
          await svc.stop();
          this.services.splice(this.services.indexOf(svc), 1);
          this.serviceFactories.delete(svc);
          await this.startService(make);
        }
      } catch (err) {
        this.logger.error({ err, service: svc.name }, 'service reload failed');
      }
    }
    const summary: ReloadSummary = { stopped: plan.stop, restarted: plan.restart, started: plan.start, unchanged: plan.keep, needsRestart };
    this.logger.info(summary, 'config reloaded');
    if (needsRestart.length > 0) this.logger.warn({ keys: needsRestart }, 'these settings changed but take effect only after a restart');
    this.applyRetention();
    return summary;
  }

  private every(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setInterval(() => {
      try {
        fn();
      } catch (err) {
        this.logger.error({ err }, 'periodic task failed');
      }
    }, ms);
    t.unref();
    this.timers.push(t);
    return t;
  }

  private addConnector(rc: LoadedConfig['connectors'][number]): SupervisedConnector {
    const dataDir = join(dirname(resolve(this.loaded.config.storage.path)), 'connectors');
    const sc = new SupervisedConnector(rc, this.pipeline, this.store, this.logger, this.loaded.config.tenant_id, { dataDir });
    this.connectors.set(rc.config.name, sc);
    return sc;
  }

  /** Recompute and store candidates for the scoring window. */
  refreshCandidates(now = Date.now()): number {
    return refreshSignals(this.store, scoringOptions(this.loaded.config), now).candidates;
  }

  private retentionRunning = false;

  /**
   * Delete events past retention, then the oldest beyond `storage.max_bytes`, in small batches
   * with a yield between them so ingest goes on; finally release surplus free pages.
   */
  applyRetention(): void {
    if (this.retentionRunning) return;
    this.retentionRunning = true;
    const storage = this.loaded.config.storage;
    const before = Date.now() - storage.retention_days * 86_400_000;
    let phase: 'age' | 'size' | 'reclaim' = 'age';
    let draining = false;
    const step = () => {
      if (this.stopped) { this.retentionRunning = false; return; }
      try {
        if (phase === 'age') {
          const n = this.store.pruneEvents(before, 2000);
          if (n > 0) this.logger.debug({ deleted: n }, 'retention: events past retention_days');
          else phase = storage.max_bytes ? 'size' : 'reclaim';
        } else if (phase === 'size') {
          const n = enforceMaxBytes(this.store, storage.max_bytes!, 2000, draining);
          if (n > 0) { draining = true; this.logger.debug({ deleted: n }, 'retention: events over storage.max_bytes'); }
          else phase = 'reclaim';
        } else if (reclaimFreePages(this.store) === 0) {
          this.retentionRunning = false;
          return;
        }
      } catch (err) {
        this.logger.warn({ err }, 'retention step failed; retrying at the next pass');
        this.retentionRunning = false;
        return;
      }
      setImmediate(step);
    };
    step();
  }

  /** Stop connectors, commit what they emitted, close the store. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.reloading; // a reload in progress gives up before starting connectors
    for (const t of this.timers) clearInterval(t);
    for (const svc of [...this.services].reverse()) {
      try {
        await svc.stop();
      } catch (err) {
        this.logger.warn({ err, service: svc.name }, 'service stop failed');
      }
    }
    await Promise.allSettled([...this.connectors.values()].map((c) => c.stop()));
    await this.ingestion.close();
    for (const c of this.connectors.values()) c.saveStatus();
    this.store.close();
    this.logger.info('brainstem stopped');
  }
}
