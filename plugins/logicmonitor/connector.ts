// The running `logicmonitor` connector: polls on a node-cron schedule (and once at start),
// never two polls at once, keeps the committed cursor, and turns failures into the
// connector's error state — degraded on 401/403 — while it keeps trying on schedule.
import { schedule, type ScheduledTask } from 'node-cron';
import type { CheckResult, Connector, ConnectorContext } from '../../src/plugin/contract.js';
import { LogicMonitorClient, LogicMonitorError } from './client.js';
import type { LogicMonitorConfig } from './config.js';
import { initialCheckpoint, restoreCheckpoint } from './cursor.js';
import { pollOnce, type PollResult, type PollState } from './poll.js';

export interface ConnectorOptions {
  /** Clock (tests pass their own); the auth epoch and the poll window use it. */
  now?: () => number;
  /** Poll at start, before the first scheduled run (default true). */
  pollOnStart?: boolean;
}

export class LogicMonitorConnector implements Connector {
  private readonly client: LogicMonitorClient;
  private readonly state: PollState;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private task: ScheduledTask | undefined;
  private running: Promise<void> | undefined;
  private errorReported = false;
  private stopped = false;
  private counts = { polls: 0, failures: 0, skipped: 0 };

  constructor(private readonly config: LogicMonitorConfig, private readonly ctx: ConnectorContext, private readonly options: ConnectorOptions = {}) {
    this.now = options.now ?? Date.now;
    this.client = new LogicMonitorClient({
      baseUrl: config.base_url,
      auth: config.auth,
      timeoutMs: config.timeout,
      maxRetries: config.max_retries,
      retryInitialMs: config.retry_initial_delay,
      retryMaxMs: config.retry_max_delay,
      maxRateLimitWaitMs: config.max_rate_limit_wait,
      now: this.now,
      onRateLimit: (remaining) => ctx.metrics.gauge('rate_limit_remaining', remaining),
      onRetry: ({ attempt, waitMs, reason }) => ctx.logger.warn({ attempt, wait_ms: Math.round(waitMs) }, `LogicMonitor request failed, retrying: ${reason}`),
    });
    const restored = restoreCheckpoint(ctx.checkpoint);
    if (ctx.checkpoint !== undefined && !restored) ctx.logger.warn('LogicMonitor checkpoint not recognised; starting from initial_lookback');
    this.state = { committed: restored ?? initialCheckpoint(this.now(), config.initial_lookback, config.overlap) };
    ctx.signal.addEventListener('abort', () => this.abort.abort(ctx.signal.reason), { once: true });
  }

  /** The cursor as last committed (for tests and diagnostics). */
  get checkpoint() {
    return this.state.committed;
  }

  start(): void {
    const log = this.ctx.logger;
    // node-cron otherwise writes its own warnings (missed runs, overlaps) to the console.
    const cronLogger = {
      info: (m: string) => log.debug(m),
      warn: (m: string) => log.debug(m),
      error: (m: string | Error) => log.warn(String(m)),
      debug: (m: string | Error) => log.debug(String(m)),
    };
    this.task = schedule(this.config.schedule, () => this.poll(), { name: `logicmonitor:${this.ctx.name}`, noOverlap: true, logger: cronLogger });
    if (this.options.pollOnStart !== false) void this.poll();
  }

  /**
   * Run one poll now, or — when one is already running — wait for that one instead of starting
   * a second (overlapping polls would read the same window twice and race on the cursor).
   */
  poll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.counts.skipped++;
      this.ctx.metrics.gauge('polls_skipped', this.counts.skipped);
      return this.running;
    }
    this.running = this.runPoll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runPoll(): Promise<void> {
    this.counts.polls++;
    this.ctx.metrics.gauge('polls', this.counts.polls);
    let result: PollResult;
    try {
      result = await pollOnce(this.state, {
        client: this.client,
        config: this.config,
        emit: (envelopes, checkpoint) => this.ctx.emit(envelopes, checkpoint),
        logger: this.ctx.logger,
        signal: this.abort.signal,
        now: this.now,
      });
    } catch (e) {
      if (this.abort.signal.aborted) return;
      this.counts.failures++;
      this.ctx.metrics.gauge('poll_failures', this.counts.failures);
      const err = e instanceof LogicMonitorError ? e : undefined;
      const degraded = err?.code === 'auth' || err?.code === 'forbidden';
      const message = `LogicMonitor poll failed: ${e instanceof Error ? e.message : String(e)}`;
      // The host logs what reportError is given; only a rejected filter needs more context.
      if (err?.code === 'bad_request') this.ctx.logger.error({ filter: this.config.filter }, message);
      else this.ctx.logger.debug({ code: err?.code, status: err?.status }, message);
      this.ctx.reportError(message, { degraded });
      this.errorReported = true;
      return;
    }
    if (this.errorReported) {
      this.ctx.clearError();
      this.errorReported = false;
    }
    const m = this.ctx.metrics;
    m.gauge('last_poll_alerts', result.alerts);
    m.gauge('last_poll_requests', result.requests);
    m.gauge('cursor_lag_seconds', Math.max(0, Math.floor(this.now() / 1000) - this.state.committed.raised.watermark));
    this.ctx.logger.debug({ ...result }, 'LogicMonitor poll done');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.task?.destroy();
    this.abort.abort();
    await this.running?.catch(() => undefined);
    await this.client.close();
  }

  /** One cheap authenticated call: the first alert id, no retries. */
  async check(): Promise<CheckResult> {
    try {
      await this.client.listAlerts({ size: '1', fields: 'id', filter: 'cleared:"*"' }, this.abort.signal, 0);
      return { ok: true, detail: `LogicMonitor API reachable at ${this.config.base_url}, credentials accepted` };
    } catch (e) {
      return { ok: false, detail: e instanceof Error ? e.message : String(e) };
    }
  }
}
