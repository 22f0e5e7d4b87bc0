// `brainstem digest`: compose a digest now. Without --dry-run it is recorded (outbox + history)
// and each receiver gets one attempt; what fails stays pending for the daemon to retry.
import { resolve } from 'node:path';
import { digestToWire, renderText } from '../../digest/compose.js';
import { OutboxSender } from '../../digest/deliver.js';
import { composeFromStore, runDigest } from '../../digest/run.js';
import { scoringOptions } from '../../daemon/daemon.js';
import { silentLogger } from '../../log/logger.js';
import { listOutbox } from '../../store/outbox.js';
import { SqliteStore } from '../../store/sqlite.js';
import type { DigestConfig } from '../../config/schema.js';
import { CliError, loadConfigOrExit, openStoreReadonly, printJson, type Command } from '../common.js';

export const digestCommand: Command = {
  name: 'digest',
  summary: 'compose a digest now and deliver it to its receivers (--dry-run: print only, record nothing)',
  usage: 'brainstem digest [--name N] [--dry-run] [--json]',
  options: { name: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
  async run({ values, configPath }) {
    const loaded = await loadConfigOrExit(configPath);
    const config = loaded.config;
    const name = values.name as string | undefined;
    const json = Boolean(values.json);
    let dc: DigestConfig | undefined = name ? config.digests.find((d) => d.name === name) : config.digests[0];
    if (name && !dc) throw new CliError(`no digest named "${name}" in ${configPath} (have: ${config.digests.map((d) => d.name).join(', ') || 'none'})`, 1, 'NOT_FOUND');
    const dryRun = Boolean(values['dry-run']) || !dc;
    dc ??= {
      name: 'adhoc', schedule: '', receivers: [], min_attention: 'watch', max_items: 10, lookback: config.scoring.lookback,
      send_empty: true, escalation_factor: 2,
    };
    const now = Date.now();
    const scoring = scoringOptions(config);

    if (dryRun) {
      const store = openStoreReadonly(loaded);
      try {
        const digest = composeFromStore(store, scoring, dc, now);
        if (json) printJson(digestToWire(digest));
        else process.stdout.write(renderText(digest));
      } finally {
        store.close();
      }
      return 0;
    }

    const store = new SqliteStore(resolve(config.storage.path));
    try {
      // A daemon on the same store leaves these rows alone for a while: this process sends them
      // first, and a failure reschedules them (markRetry) for the daemon to take over.
      const run = runDigest(store, config, scoring, dc, now, { holdMs: 5 * 60_000 });
      if (!run.recorded) {
        if (json) printJson({ digest: digestToWire(run.digest), recorded: false, deliveries: [] });
        else process.stderr.write(`digest "${dc.name}" is empty (nothing new above ${dc.min_attention}); not sent (send_empty is false)\n`);
        return 0;
      }
      // With --json, stdout belongs to the JSON document: stdout receivers write to stderr.
      const sender = new OutboxSender(store, config.receivers, silentLogger(), {
        writeStdout: (t) => { (json ? process.stderr : process.stdout).write(t); },
      });
      try {
        await sender.deliverOnce(listOutbox(store, { digestId: run.digest.id }));
      } finally {
        await sender.stop();
      }
      const rows = listOutbox(store, { digestId: run.digest.id });
      const deliveries = rows.map((r) => ({ receiver: r.receiver, delivery_id: r.id, status: r.status, attempts: r.attempts, last_error: r.lastError }));
      if (json) printJson({ digest: digestToWire(run.digest), recorded: true, deliveries });
      else {
        for (const d of deliveries) {
          if (d.status === 'sent') process.stderr.write(`delivered to ${d.receiver} (${d.delivery_id})\n`);
          else if (d.status === 'pending') process.stderr.write(`${d.receiver}: not delivered yet (${d.last_error}); pending in the outbox, the daemon retries it\n`);
          else process.stderr.write(`${d.receiver}: dead — ${d.last_error}\n`);
        }
      }
      return deliveries.some((d) => d.status === 'dead') ? 1 : 0;
    } finally {
      store.close();
    }
  },
};
