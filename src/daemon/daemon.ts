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
import { SupervisedConnector } from './supervisor.js';

export function minerOptions(cfg: LoadedConfig['config']) {
  const m = cfg.miner;
  return {
    ...(m.similarity !== undefined ? { similarity: m.similarity } : {}),
    ...(m.depth !== undefined ? { depth: m.depth } : {}),
    ...(m.max_children !== undefined ? { maxChildren: m.max_children } : {}),
  };
}

export function scoringOptions(cfg: LoadedConfig['config']): ScoringOptions {
  return { lookbackMs: cfg.scoring.lookback, minOccurrences: cfg.scoring.min_occurrences, weights: cfg.scoring.weights };
}

/** Store + miner + pipeline, as used by the daemon and by one-shot `ingest`. */
export interface Ingestion {
  store: SqliteStore;
  pipeline: Pipeline;
}

export function openIngestion(cfg: LoadedConfig['config'], logger: Logger, storePath = resolve(cfg.storage.path)): Ingestion {
  const store = new SqliteStore(storePath);
  const makeMiner = () => new TemplateMiner(minerOptions(cfg));
  const miner = makeMiner();
  miner.load(store.loadClusters());
  const fingerprinter = new Fingerprinter(miner);
  const pipeline = new Pipeline(
    { write: async (batch) => { store.writeBatch(batch); } },
    fingerprinter,
    logger,
    {
      tenantId: cfg.tenant_id, batchSize: cfg.pipeline.batch_size, flushMs: cfg.pipeline.flush_interval,
      queueCapacity: cfg.pipeline.queue_capacity, utc: cfg.pipeline.utc,
    },
    () => fingerprinter.reset(store.loadClusters(), makeMiner()),
  );
  return { store, pipeline };
}

/**
 * A long-running part of the daemon beside the connectors (digest scheduler, HTTP API).
 * Services start after the connectors and stop before them.
 */
export interface DaemonService {
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export type ServiceFactory = (daemon: Daemon) => DaemonService | undefined;

/** The services every daemon runs; each module registers itself here with one line. */
export const SERVICE_FACTORIES: ServiceFactory[] = [];

export class Daemon {
  readonly services: DaemonService[] = [];
  readonly connectors = new Map<string, SupervisedConnector>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  readonly startedAt = Date.now();

  private constructor(
    readonly loaded: LoadedConfig,
    readonly logger: Logger,
    readonly store: SqliteStore,
    readonly pipeline: Pipeline,
  ) {}

  static async start(loaded: LoadedConfig, logger: Logger): Promise<Daemon> {
    const { store, pipeline } = openIngestion(loaded.config, logger);
    const d = new Daemon(loaded, logger, store, pipeline);
    logger.info({ store: store.path, connectors: loaded.connectors.map((c) => c.config.name) }, 'brainstem starting');
    for (const rc of loaded.connectors) d.addConnector(rc);
    await Promise.all([...d.connectors.values()].map((c) => c.start()));
    d.every(2000, () => { for (const c of d.connectors.values()) c.saveStatus(); });
    d.every(loaded.config.scoring.interval, () => d.refreshCandidates());
    d.every(10 * 60_000, () => d.applyRetention());
    d.applyRetention();
    for (const make of SERVICE_FACTORIES) {
      const svc = make(d);
      if (!svc) continue;
      await svc.start();
      d.services.push(svc);
    }
    return d;
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(() => {
      try {
        fn();
      } catch (err) {
        this.logger.error({ err }, 'periodic task failed');
      }
    }, ms);
    t.unref();
    this.timers.push(t);
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

  /** Delete events past retention in small batches, yielding between them so ingest goes on. */
  applyRetention(): void {
    const before = Date.now() - this.loaded.config.storage.retention_days * 86_400_000;
    const step = () => {
      if (this.stopped) return;
      const n = this.store.pruneEvents(before, 2000);
      if (n > 0) {
        this.logger.debug({ deleted: n }, 'retention');
        setImmediate(step);
      }
    };
    step();
  }

  /** Stop connectors, commit what they emitted, close the store. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const svc of [...this.services].reverse()) {
      try {
        await svc.stop();
      } catch (err) {
        this.logger.warn({ err, service: svc.name }, 'service stop failed');
      }
    }
    await Promise.allSettled([...this.connectors.values()].map((c) => c.stop()));
    await this.pipeline.close();
    for (const c of this.connectors.values()) c.saveStatus();
    try {
      this.refreshCandidates();
    } catch (err) {
      this.logger.warn({ err }, 'final candidate refresh failed');
    }
    this.store.close();
    this.logger.info('brainstem stopped');
  }
}
