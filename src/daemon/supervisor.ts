// Connector supervision: builds each connector's context, starts it, restarts it with
// exponential backoff when it throws or rejects, and keeps its state, last error, drops and
// gauges visible (in memory for /metrics, in the store for `brainstem stats`).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConnector } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { Checkpoint, Connector, ConnectorContext, EnvelopeList, RawEnvelope } from '../plugin/contract.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { SqliteStore } from '../store/sqlite.js';

export type ConnectorState = 'starting' | 'running' | 'degraded' | 'backoff' | 'stopping' | 'stopped';

export interface ConnectorStatus {
  name: string;
  type: string;
  state: ConnectorState;
  lastError?: string;
  restarts: number;
  dropped: number;
  dropReasons: Record<string, number>;
  gauges: Record<string, number>;
}

export interface SupervisorOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  dataDir: string;
}

/** Running this long without failing resets the restart backoff. */
const STABLE_AFTER_MS = 30_000;

export class SupervisedConnector {
  readonly status: ConnectorStatus;
  private connector: Connector | undefined;
  private abort = new AbortController();
  private pendingEmits = new Set<Promise<void>>();
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private stopping = false;
  private droppedUnsaved = 0;
  private dirty = true;
  private generation = 0;
  private startedAt = 0;

  constructor(
    readonly resolved: ResolvedConnector,
    private readonly pipeline: Pipeline,
    private readonly store: SqliteStore,
    private readonly logger: Logger,
    private readonly tenantId: string,
    private readonly opts: SupervisorOptions,
  ) {
    this.status = {
      name: resolved.config.name, type: resolved.config.type, state: 'starting', restarts: 0,
      dropped: 0, dropReasons: {}, gauges: {},
    };
    this.backoffMs = opts.initialBackoffMs ?? 1000;
  }

  get name(): string {
    return this.status.name;
  }

  private setState(state: ConnectorState, lastError?: string | null): void {
    this.status.state = state;
    if (lastError !== undefined) this.status.lastError = lastError ?? undefined;
    this.dirty = true;
    this.saveStatus();
  }

  /** Persist state, last error, drops and gauges (called on change and periodically). */
  saveStatus(): void {
    if (!this.dirty) return;
    try {
      this.store.updateConnectorStatus({
        connector: this.name, type: this.status.type, state: this.status.state, lastError: this.status.lastError,
        droppedDelta: this.droppedUnsaved, gauges: this.status.gauges,
      });
      this.droppedUnsaved = 0;
      this.dirty = false;
    } catch (err) {
      this.logger.warn({ err }, 'could not save connector status');
    }
  }

  private makeContext(generation: number): ConnectorContext {
    const log = this.logger.child({ connector: this.name });
    const signal = this.abort.signal;
    const source = { connector: this.name, type: this.status.type };
    const dataDir = join(this.opts.dataDir, this.name);
    let madeDir = false;
    const self = this;
    return {
      name: this.name,
      tenantId: this.tenantId,
      logger: log,
      signal,
      get dataDir() {
        if (!madeDir) { mkdirSync(dataDir, { recursive: true, mode: 0o700 }); madeDir = true; }
        return dataDir;
      },
      checkpoint: this.store.loadCheckpoint(this.name) as Checkpoint | undefined,
      metrics: {
        dropped: (count: number, reason: string) => {
          if (count <= 0) return;
          self.status.dropped += count;
          self.status.dropReasons[reason] = (self.status.dropReasons[reason] ?? 0) + count;
          self.droppedUnsaved += count;
          self.dirty = true;
        },
        gauge: (name: string, value: number) => {
          if (self.status.gauges[name] !== value) { self.status.gauges[name] = value; self.dirty = true; }
        },
      },
      emit(envelopes: RawEnvelope[] | EnvelopeList, checkpoint?: Checkpoint): Promise<void> {
        if (generation !== self.generation) {
          return Promise.reject(new Error(`connector ${self.name} is stopped`));
        }
        const p = self.pipeline.submit(source, envelopes, checkpoint, arguments.length > 1);
        self.pendingEmits.add(p);
        const done = () => self.pendingEmits.delete(p);
        p.then(done, done);
        return p;
      },
      reportError(message: string, opts?: { degraded?: boolean }) {
        log.warn({ reason: message }, 'connector reported a problem');
        self.status.lastError = message;
        self.setState(opts?.degraded ? 'degraded' : self.status.state, message);
      },
      clearError() {
        if (self.status.lastError === undefined && self.status.state !== 'degraded') return;
        self.setState(self.status.state === 'degraded' ? 'running' : self.status.state, null);
      },
    };
  }

  /**
   * Create and start the connector. `start()` may resolve at once (servers, watchers) or run
   * until stopped (read loops); either way the connector counts as running once it has not
   * failed for a moment, and a later rejection still reaches `fail()` and a restart.
   */
  async start(): Promise<void> {
    this.stopping = false;
    this.abort = new AbortController();
    const generation = ++this.generation;
    this.startedAt = Date.now();
    this.setState('starting');
    const current = () => generation === this.generation && !this.stopping;
    let running: Promise<void>;
    try {
      const connector = this.resolved.plugin.create(this.resolved.options, this.makeContext(generation));
      this.connector = connector;
      running = Promise.resolve().then(() => connector.start());
    } catch (err) {
      if (current()) this.fail(err as Error);
      return;
    }
    let failed = false;
    running.then(
      () => { if (current() && this.status.state === 'starting') this.setState('running'); },
      (err) => { failed = true; if (current()) this.fail(err as Error); },
    );
    await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 100))]);
    if (!failed && current() && this.status.state === 'starting') this.setState('running');
  }

  /** Restart after a failure, with exponential backoff (and jitter) up to the maximum. */
  fail(err: Error): void {
    const message = err?.message ?? String(err);
    this.logger.error({ connector: this.name, err }, `connector failed; restarting in ${Math.round(this.backoffMs / 1000)}s`);
    this.status.restarts++;
    this.setState('backoff', message);
    const stale = this.connector;
    this.connector = undefined;
    this.abort.abort();
    void Promise.resolve().then(() => stale?.stop()).catch(() => undefined);
    // A connector that ran for a while before failing starts over at the shortest backoff.
    if (Date.now() - this.startedAt > STABLE_AFTER_MS) this.backoffMs = this.opts.initialBackoffMs ?? 1000;
    const delay = this.backoffMs * (0.8 + Math.random() * 0.4);
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 60_000);
    this.restartTimer = setTimeout(() => void this.start(), delay);
    this.restartTimer.unref();
  }

  /** Stop: abort, let the connector stop (it may emit its last lines), wait for its emits to commit. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.setState('stopping');
    this.abort.abort();
    try {
      await this.connector?.stop();
    } catch (err) {
      this.logger.warn({ connector: this.name, err }, 'connector stop failed');
    }
    // Emits made while stopping (a connector flushing its last lines) were accepted; later ones are not.
    this.generation++;
    await Promise.allSettled([...this.pendingEmits]);
    this.connector = undefined;
    this.setState('stopped');
  }

  async check(): Promise<{ ok: boolean; detail: string }> {
    const c = this.connector ?? this.resolved.plugin.create(this.resolved.options, this.makeContext(this.generation));
    if (!c.check) return { ok: true, detail: 'no check for this connector type' };
    try {
      return await c.check();
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }
}
