// The digest service of the daemon: schedules each configured digest with node-cron (in its
// time zone) and runs the outbox sender, which also resumes deliveries left pending by an
// earlier run. Registered in SERVICE_FACTORIES (src/daemon/daemon.ts).
import cron, { type ScheduledTask } from 'node-cron';
import type { Daemon, DaemonService } from '../daemon/daemon.js';
import { scoringOptions } from '../daemon/daemon.js';
import { outboxCounts } from '../store/outbox.js';
import { OutboxSender, type SenderOptions } from './deliver.js';
import { runDigest } from './run.js';

export interface ReceiverDeliveryStats {
  /** Since the process started (counters for /metrics). */
  sent: number;
  retried: number;
  dead: number;
  /** Rows now waiting in the outbox. */
  pending: number;
  /** Why the receiver is disabled (a permanent Slack/webhook error), or null. */
  disabled: string | null;
}

export interface DigestService extends DaemonService {
  /** Per-receiver delivery counters: sent/retried/dead since start, pending now, disabled reason. */
  deliveryStats(): Record<string, ReceiverDeliveryStats>;
  /** Compose and record one digest now (as its schedule would); true when something was recorded. */
  runNow(name: string, now?: number): boolean;
  readonly sender: OutboxSender;
}

export function createDigestService(daemon: Pick<Daemon, 'store' | 'loaded' | 'logger'>, senderOptions: SenderOptions = {}): DigestService | undefined {
  const config = daemon.loaded.config;
  if (config.receivers.length === 0 && config.digests.length === 0) return undefined;
  const logger = daemon.logger.child({ service: 'digests' });
  const sender = new OutboxSender(daemon.store, config.receivers, logger, senderOptions);
  const tasks: ScheduledTask[] = [];
  // node-cron logs to the console by default; keep stdout for the stdout receiver's digests
  const cronLogger = {
    info: (m: string) => logger.debug(m),
    warn: (m: string) => logger.warn(m),
    error: (m: string | Error) => logger.error(m instanceof Error ? { err: m } : {}, String(m)),
    debug: (m: string | Error) => logger.debug(String(m)),
  };

  const runNow = (name: string, now = Date.now()): boolean => {
    const dc = config.digests.find((d) => d.name === name);
    if (!dc) throw new Error(`no digest named "${name}"`);
    const run = runDigest(daemon.store, config, scoringOptions(config), dc, now);
    if (run.recorded) {
      logger.info({ digest: dc.name, id: run.digest.id, items: run.digest.items.length, gone_quiet: run.digest.goneQuiet.length,
        receivers: run.rows.map((r) => r.receiver) }, 'digest composed');
      sender.kick();
    } else {
      logger.debug({ digest: dc.name, repeats_suppressed: run.digest.repeatsSuppressed }, 'digest empty; not sent');
    }
    return run.recorded;
  };

  return {
    name: 'digests',
    sender,
    runNow,
    start() {
      for (const dc of config.digests) {
        if (!cron.validate(dc.schedule)) throw new Error(`digests "${dc.name}": invalid schedule "${dc.schedule}"`);
        const task = cron.createTask(dc.schedule, () => {
          try {
            runNow(dc.name);
          } catch (err) {
            logger.error({ err, digest: dc.name }, 'digest run failed');
          }
        }, { name: `digest:${dc.name}`, noOverlap: true, logger: cronLogger, ...(dc.timezone ? { timezone: dc.timezone } : {}) });
        tasks.push(task);
      }
      for (const t of tasks) void t.start();
      sender.start();
      logger.info({ digests: config.digests.map((d) => `${d.name} (${d.schedule}${d.timezone ? ` ${d.timezone}` : ''})`) }, 'digests scheduled');
    },
    async stop() {
      for (const t of tasks) await t.destroy();
      await sender.stop();
    },
    deliveryStats() {
      const live = sender.stats();
      const out: Record<string, ReceiverDeliveryStats> = {};
      for (const [name, c] of Object.entries(live)) out[name] = { ...c, pending: 0 };
      for (const row of outboxCounts(daemon.store)) {
        out[row.receiver] ??= { sent: 0, retried: 0, dead: 0, disabled: null, pending: 0 };
        out[row.receiver]!.pending = row.pending;
      }
      return out;
    },
  };
}
