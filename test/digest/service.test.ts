// The daemon's digest service in-process: a run is recorded and delivered, an empty digest is
// skipped unless send_empty, a bad schedule is refused at start, counters per receiver.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createDigestService } from '../../src/digest/service.js';
import { silentLogger } from '../../src/log/logger.js';
import { listOutbox } from '../../src/store/outbox.js';
import { SqliteStore } from '../../src/store/sqlite.js';

let dir: string;
let store: SqliteStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'brainstem-digest-svc-'));
  store = new SqliteStore(join(dir, 'b.db'));
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function service(digest: string) {
  const loaded = await parseConfig([
    'tenant_id: test',
    `storage: { path: ${JSON.stringify(join(dir, 'b.db'))} }`,
    'receivers: [{ name: console, type: stdout }]',
    `digests: [${digest}]`,
  ].join('\n'), join(dir, 'brainstem.yaml'));
  const out: string[] = [];
  const svc = createDigestService({ store, loaded, logger: silentLogger() }, { writeStdout: (t) => out.push(t), pollMs: 20 })!;
  return { svc, out };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('digest service', () => {
  it('does not send an empty digest', async () => {
    const { svc } = await service('{ name: d, schedule: "0 9 * * *", receivers: [console] }');
    svc.start();
    try {
      expect(svc.runNow('d')).toBe(false);
      expect(listOutbox(store)).toHaveLength(0);
    } finally {
      await svc.stop();
    }
  });

  it('records and delivers a digest when send_empty is set, and counts it', async () => {
    const { svc, out } = await service('{ name: d, schedule: "0 9 * * *", timezone: Europe/Berlin, receivers: [console], send_empty: true }');
    svc.start();
    try {
      expect(svc.runNow('d')).toBe(true);
      await until(() => listOutbox(store)[0]?.status === 'sent', 'delivery');
      expect(out.join('')).toContain('brainstem digest "d": 0 items worth attention');
      expect(svc.deliveryStats()).toEqual({ console: { sent: 1, retried: 0, dead: 0, pending: 0, disabled: null } });
    } finally {
      await svc.stop();
    }
  });

  it('the config names the line of an invalid schedule or time zone', async () => {
    await expect(service('{ name: d, schedule: "not a cron", receivers: [console] }')).rejects.toThrow(/brainstem\.yaml:4.*schedule.*not a valid cron/s);
    await expect(service('{ name: d, schedule: "0 9 * * *", timezone: Mars/Olympus, receivers: [console] }')).rejects.toThrow(/timezone.*IANA/s);
  });
});
