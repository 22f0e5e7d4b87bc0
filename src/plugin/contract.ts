// The connector plugin contract (design.md §3). This file is the plugin author's guide:
// a plugin is a plain object — a type name, a config schema and a constructor — and a
// connector only ever talks to brainstem through the ConnectorContext it is given.
import type { ZodType } from 'zod';
import type { Logger } from '../log/logger.js';

/**
 * One input record as a connector hands it to the pipeline (RawInputEnvelope in the
 * wire format of design.md §4, camelCase inside the process). Only `messageRaw` is
 * required; everything else the pipeline fills in or derives when missing.
 */
export interface RawEnvelope {
  /** The full text as received (a log line, a syslog message, an alert's message). */
  messageRaw: string;
  /**
   * The message body when the connector already removed a header it parsed itself (a syslog
   * receiver). When set, the pipeline does not look for a header and masks this text.
   */
  message?: string;
  /** When the source says it happened: ISO 8601 string, epoch milliseconds or a Date. Default: receipt time. */
  timestamp?: string | number | Date;
  /** Kind of source: `file`, `syslog`, `logicmonitor`, `http`, … Default: the plugin's type. */
  sourceType?: string;
  /** Tenant; default: the context's tenant (config `tenant_id`). */
  tenantId?: string;
  host?: string;
  service?: string;
  /** Syslog severity name (`err`, `warning`, …), an alias (`error`, `critical`, `warn`) or 0–7. */
  severity?: string | number;
  assetId?: string;
  /** The file a line came from. */
  sourcePath?: string;
  /** Syslog facility name (`auth`, `daemon`, `local0`, …). */
  facility?: string;
  /** Fields the source already structured (RFC 5424 structured data, JSON fields, the full LM alert). */
  structuredFields?: Record<string, unknown>;
  /** Keys that link events of the same subject (alert id, device, instance, datapoint). */
  correlationKeys?: Record<string, string>;
  /** Anything about receipt: sender address, truncation flags, file offsets. */
  metadata?: Record<string, unknown>;
  /**
   * How the pipeline should read `messageRaw`:
   * - `auto` (default): parse a syslog header (`Dec  3 15:47:10 host prog[pid]: msg`, RFC 3339
   *   timestamps, an optional `<PRI>`) when one is present, else take the line as the message;
   * - `syslog`: the line must have a syslog header; when it does not, the event is stored with
   *   `parse_error` set;
   * - `message`: `messageRaw` is already the message body (the connector parsed the header).
   */
  messageFormat?: 'auto' | 'syslog' | 'message';
  /**
   * Set when the connector could not parse what it received. The event is still stored with the
   * raw text (design.md §2: nothing is dropped silently) and counted as a parse error.
   */
  parseError?: string;
}

/**
 * Envelopes made only when the pipeline takes the emit into a batch: a connector that receives
 * bytes (the syslog receiver) keeps them as bytes while they wait for room, and each envelope
 * lives only while it is fingerprinted. `at(i)` is called for each index from 0 to `length - 1`,
 * in order, once per emit (a retried emit is made again); a plain array is one too.
 */
export interface EnvelopeList {
  readonly length: number;
  at(index: number): RawEnvelope | undefined;
}

/**
 * A connector's resume point, committed in the same transaction as the batch that it follows
 * (design.md §2). Any JSON-serializable value; brainstem never looks inside.
 */
export type Checkpoint = unknown;

/** Counters a connector reports itself; the pipeline counts received, stored and parse errors. */
export interface ConnectorMetrics {
  /** Records the connector had to drop (UDP overrun, over a limit it cannot store). Never silent. */
  dropped(count: number, reason: string): void;
  /** A named gauge or counter of the connector's own (`open_files`, `connections`); shown in stats and /metrics. */
  gauge(name: string, value: number): void;
}

/** What a connector is given when it is created. */
export interface ConnectorContext {
  /** The connector's `name` from the config. */
  readonly name: string;
  /** The config's `tenant_id`. */
  readonly tenantId: string;
  readonly logger: Logger;
  readonly metrics: ConnectorMetrics;
  /** The checkpoint of the last committed batch of this connector, or undefined on its first run. */
  readonly checkpoint: Checkpoint | undefined;
  /** Aborted when the connector is being stopped (shutdown, reload, restart after a failure). */
  readonly signal: AbortSignal;
  /** Directory where the connector may keep files of its own (created on first use). */
  readonly dataDir: string;
  /**
   * Hand a batch to the pipeline. Resolves once the batch's events and `checkpoint` are
   * committed in one transaction — this is the acknowledgement. It resolves late when the
   * pipeline is busy: that is the backpressure signal (pause reading until it resolves).
   * Calls from one connector are committed in call order. `emit([], checkpoint)` commits
   * only the checkpoint. Rejects if the store fails or the connector is stopped.
   */
  emit(envelopes: RawEnvelope[] | EnvelopeList, checkpoint?: Checkpoint): Promise<void>;
  /**
   * Report a problem the connector keeps running through (an unreadable file, a 401 from an
   * API). Shown as `last_error` in stats and /healthz; `degraded: true` marks the connector
   * unhealthy until `clearError()`.
   */
  reportError(message: string, opts?: { degraded?: boolean }): void;
  /** Clear a reported error once the condition is gone. */
  clearError(): void;
}

/** The result of `check()`: can this connector reach what it reads? */
export interface CheckResult {
  ok: boolean;
  /** One line for the `brainstem check` table. */
  detail: string;
}

/** A running connector. */
export interface Connector {
  /**
   * Begin producing. May resolve at once (servers, watchers) or run until stopped. A rejection
   * or an exception makes the supervisor restart the connector with exponential backoff.
   */
  start(): Promise<void> | void;
  /** Stop producing and release resources. Pending `emit` calls are awaited by the pipeline. */
  stop(): Promise<void> | void;
  /** Optional cheap reachability/credentials check used by `brainstem check`. */
  check?(): Promise<CheckResult>;
}

/**
 * A connector plugin: the default export of a built-in `plugins/<type>/index.ts`, of a file
 * named by `plugin: ./my-plugin.js`, or of an npm package named by `plugin: some-package`.
 */
export interface ConnectorPlugin<C = any> {
  /** The name used as `type:` in YAML. */
  type: string;
  /** One line for `brainstem validate` and the docs. */
  description?: string;
  /**
   * Schema of the connector's own options (everything in its YAML block except `name`, `type`
   * and `plugin`). Validated at load; errors name the YAML file, line and path. Use `.strict()`
   * objects so unknown keys are reported.
   */
  schema: ZodType<C>;
  /** Construct the connector; do no I/O here — do it in `start()`. */
  create(config: C, ctx: ConnectorContext): Connector;
}

/** Identity helper giving a plugin object its types: `export default defineConnector({...})`. */
export function defineConnector<C>(plugin: ConnectorPlugin<C>): ConnectorPlugin<C> {
  return plugin;
}
