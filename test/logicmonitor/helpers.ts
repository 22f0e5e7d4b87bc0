// Test doubles for driving the real LogicMonitor connector: a ConnectorContext whose emit
// records envelopes and keeps the last committed checkpoint (so a test can "restart" from it),
// and a config builder pointed at the fake.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Checkpoint, ConnectorContext, RawEnvelope } from '../../src/plugin/contract.js';
import { logicMonitorSchema, type LogicMonitorConfig, type LogicMonitorInput } from '../../plugins/logicmonitor/config.js';
import { LogicMonitorConnector } from '../../plugins/logicmonitor/connector.js';
import type { FakeLogicMonitor } from '../fakes/logicmonitor/server.js';

export const ACCESS_ID = 'ABCDEF1234567890abcd';
export const ACCESS_KEY = 'test-access-key-0123456789';

export interface RecordingContext extends ConnectorContext {
  envelopes: RawEnvelope[];
  emits: number;
  lastCheckpoint: Checkpoint | undefined;
  errors: Array<{ message: string; degraded: boolean }>;
  error: { message: string; degraded: boolean } | undefined;
  gauges: Record<string, number>;
  logs: string[];
  /** Reject the emit with this (1-based) number, as if the process died before that commit. */
  failEmitAt?: number;
  abort: AbortController;
  /** Make each emit take this long (a busy pipeline). */
  emitDelayMs?: number;
  inFlight: number;
  maxInFlight: number;
}

export function recordingContext(checkpoint?: Checkpoint): RecordingContext {
  const abort = new AbortController();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const ctx: RecordingContext = {
    name: 'lm',
    tenantId: 'test',
    logger: pino({ level: 'debug' }, sink),
    metrics: {
      dropped: () => undefined,
      gauge: (name, value) => {
        ctx.gauges[name] = value;
      },
    },
    checkpoint,
    signal: abort.signal,
    dataDir: '/nonexistent',
    envelopes: [],
    emits: 0,
    lastCheckpoint: checkpoint,
    errors: [],
    error: undefined,
    gauges: {},
    logs,
    abort,
    inFlight: 0,
    maxInFlight: 0,
    async emit(envelopes, cp) {
      ctx.emits++;
      const n = ctx.emits;
      // Serialize at call time like the pipeline queue would: later mutation must not leak in.
      const text = JSON.stringify(cp);
      ctx.inFlight++;
      ctx.maxInFlight = Math.max(ctx.maxInFlight, ctx.inFlight);
      try {
        if (ctx.emitDelayMs) await new Promise((r) => setTimeout(r, ctx.emitDelayMs));
        if (ctx.failEmitAt !== undefined && n >= ctx.failEmitAt) throw new Error('simulated crash before commit');
        ctx.envelopes.push(...envelopes);
        ctx.lastCheckpoint = JSON.parse(text);
      } finally {
        ctx.inFlight--;
      }
    },
    reportError(message, opts) {
      ctx.error = { message, degraded: opts?.degraded ?? false };
      ctx.errors.push(ctx.error);
    },
    clearError() {
      ctx.error = undefined;
    },
  };
  return ctx;
}

export function lmConfig(fake: FakeLogicMonitor, overrides: Partial<LogicMonitorInput> = {}): LogicMonitorConfig {
  return logicMonitorSchema.parse({
    base_url: fake.baseUrl,
    auth: { type: 'lmv1', access_id: ACCESS_ID, access_key: ACCESS_KEY },
    retry_initial_delay: '10ms',
    retry_max_delay: '50ms',
    timeout: '2s',
    ...overrides,
  });
}

/** A connector that polls only when the test says so. */
export function connector(fake: FakeLogicMonitor, ctx: RecordingContext, overrides: Partial<LogicMonitorInput> = {}): LogicMonitorConnector {
  return new LogicMonitorConnector(lmConfig(fake, overrides), ctx, { pollOnStart: false });
}

export function ids(envelopes: RawEnvelope[], state: 'raised' | 'cleared'): string[] {
  return envelopes.filter((e) => e.metadata?.alert_state === state).map((e) => e.correlationKeys!.alert_id!);
}

export async function waitFor(cond: () => boolean, what: string, limitMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
