// One poll of the LogicMonitor alert list: for each stream (raised, then cleared) read the time
// window since the cursor page by page, emit each page's new events together with the cursor
// that is true once they are stored, and narrow the window when offset paging hits the API's
// row limit. A failure leaves the last committed cursor in place for the next poll.
import type { Checkpoint, RawEnvelope } from '../../src/plugin/contract.js';
import type { Logger } from '../../src/log/logger.js';
import type { LogicMonitorClient } from './client.js';
import type { LogicMonitorConfig } from './config.js';
import { EPOCH_FIELD, acceptPage, finishWindow, windowStart, type LogicMonitorCheckpoint, type StreamKind } from './cursor.js';
import { alertToEnvelope } from './envelope.js';

export interface PollDeps {
  client: LogicMonitorClient;
  config: LogicMonitorConfig;
  /** ctx.emit: resolves once the events and the checkpoint are committed. */
  emit(envelopes: RawEnvelope[], checkpoint: Checkpoint): Promise<void>;
  logger: Logger;
  signal: AbortSignal;
  now(): number;
}

export interface PollState {
  /** The last committed checkpoint; replaced only after an emit resolved. */
  committed: LogicMonitorCheckpoint;
}

export interface PollResult {
  alerts: number;
  events: number;
  requests: number;
}

function streamFilter(kind: StreamKind, fromSec: number, toSec: number, extra: string | undefined): string {
  const field = EPOCH_FIELD[kind];
  // cleared:"*" always: without it only active alerts come back (spec §3.2).
  const clauses = [`${field}>:"${fromSec}"`, `${field}<:"${toSec}"`, 'cleared:"*"'];
  if (extra && extra.trim()) clauses.push(extra.trim());
  return clauses.join(',');
}

/**
 * Hands pages to ctx.emit with at most two in flight: the next page is fetched while the last
 * one commits, and two pages fill one pipeline batch instead of each waiting for the flush
 * timer. Emits commit in call order, so `state.committed` only ever moves forward.
 */
class PageEmitter {
  private static readonly MAX_IN_FLIGHT = 2;
  private readonly inFlight: Array<Promise<void>> = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly state: PollState, private readonly deps: PollDeps) {}

  async emit(envelopes: RawEnvelope[], checkpoint: LogicMonitorCheckpoint): Promise<void> {
    while (this.inFlight.length >= PageEmitter.MAX_IN_FLIGHT) await this.inFlight.shift(); // never rejects
    this.throwIfFailed();
    this.inFlight.push(this.deps.emit(envelopes, checkpoint).then(
      () => {
        if (!this.failure) this.state.committed = checkpoint;
      },
      (error: unknown) => {
        this.failure ??= { error };
      },
    ));
  }

  /** Wait until everything handed over is committed; throws if any emit failed. */
  async drain(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
  }

  /** Wait for the outstanding emits without throwing. */
  async settle(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight.shift();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

async function pollStream(kind: StreamKind, state: PollState, deps: PollDeps, result: PollResult): Promise<void> {
  const { config, client } = deps;
  const overlapSec = Math.ceil(config.overlap / 1000);
  const toSec = Math.floor(deps.now() / 1000);
  const emitter = new PageEmitter(state, deps);
  // The cursor including pages handed over but maybe not committed yet.
  let working = state.committed;
  let fromSec = windowStart(working[kind], overlapSec);
  let offset = 0;
  const size = config.page_size;
  try {
    for (;;) {
      const page = await client.listAlerts({
        filter: streamFilter(kind, fromSec, toSec, config.filter),
        sort: `+${EPOCH_FIELD[kind]}`,
        size: String(size),
        offset: String(offset),
        needMessage: 'true',
      }, deps.signal);
      result.requests++;
      const items = page.items;
      const { fresh, cursor } = acceptPage(working[kind], items, kind, overlapSec);
      const nowMs = deps.now();
      const envelopes = fresh.map((alert) => alertToEnvelope(alert, kind, nowMs));
      working = { ...working, [kind]: cursor };
      await emitter.emit(envelopes, working);
      result.alerts += items.length;
      result.events += envelopes.length;
      // A short page ends the window (the spec: never trust `total` alone) — unless a
      // non-negative `total` says more rows exist, as when a portal caps `size` below ours.
      const moreByTotal = typeof page.total === 'number' && page.total > offset + items.length;
      if (items.length === 0 || (items.length < size && !moreByTotal)) break;
      offset += items.length;
      if (offset + size > config.offset_limit) {
        // Offset paging stops near 10,000 rows: restart the window at the last epoch read; the
        // rows of that second come again and are recognised by id.
        const lastEpoch = Number(items[items.length - 1]![EPOCH_FIELD[kind]]);
        if (Number.isFinite(lastEpoch) && lastEpoch > fromSec) {
          fromSec = lastEpoch;
        } else {
          deps.logger.warn({ kind, fromSec }, `more than offset_limit (${config.offset_limit}) LogicMonitor alerts share one second; the rest of that second is skipped`);
          fromSec += 1;
        }
        offset = 0;
      }
    }
    working = { ...working, [kind]: finishWindow(working[kind], toSec, overlapSec) };
    await emitter.emit([], working);
  } catch (e) {
    await emitter.settle(); // do not leave an emit of ours outstanding; the first error wins
    throw e;
  }
  await emitter.drain();
}

/** Poll raised alerts, then (unless include_cleared is off) clears; throws on the first failed call. */
export async function pollOnce(state: PollState, deps: PollDeps): Promise<PollResult> {
  const result: PollResult = { alerts: 0, events: 0, requests: 0 };
  await pollStream('raised', state, deps, result);
  if (deps.config.include_cleared) await pollStream('cleared', state, deps, result);
  return result;
}
