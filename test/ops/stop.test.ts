// Graceful stop under load: SIGTERM while counter connectors flood the pipeline and clients
// POST events. The daemon exits 0 within shutdown_timeout, every acknowledged event is stored,
// checkpoints match the stored lines, and a restart resumes without losing or repeating any.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointOf, countEvents, COUNTER_PLUGIN, counterSeqs, startDaemon, storedEvents, tempDir, waitFor, writeConfig, type RunningDaemon } from '../http/helpers.js';
import { startPusher } from './pusher.js';

describe('graceful stop', () => {
  const tmp = tempDir('brainstem-stop-');
  const db = join(tmp.dir, 'b.db');
  let d: RunningDaemon | undefined;
  afterAll(async () => {
    await d?.stop('SIGKILL');
    tmp.cleanup();
  });

  it('stops within shutdown_timeout under load without losing anything acknowledged, and resumes exactly', async () => {
    const cfg = writeConfig(tmp.dir, `
storage: { path: ${db} }
shutdown_timeout: 10s
pipeline: { queue_capacity: 5000 }
connectors:
  - { name: api, type: http }
  - { name: heavy1, type: counter, plugin: ${COUNTER_PLUGIN}, batch: 200, interval_ms: 0, outstanding: 4 }
  - { name: heavy2, type: counter, plugin: ${COUNTER_PLUGIN}, batch: 200, interval_ms: 0, outstanding: 4 }
api: { listen: 127.0.0.1:0 }
`);
    const count = () => countEvents(db);
    for (const [round, signal] of [[1, 'SIGTERM'], [2, 'SIGINT']] as const) {
      d = await startDaemon(cfg, tmp.dir);
      const pusher = startPusher(d.base, `r${round}`, 4, 100);
      const before = count();
      await waitFor(() => count() > before + 5000 && pusher.acked.size > 500, 'load');
      const depth = await (await fetch(`${d.base}/metrics`)).text();
      expect(depth).toMatch(/^brainstem_pipeline_queue_depth \d+$/m);
      const code = await d.stop(signal);
      await pusher.stop();
      expect(code, `exit code after ${signal}`).toBe(0);
      expect(d.logs.some((l) => l.includes('brainstem stopped'))).toBe(true);
      d = undefined;

      const events = storedEvents(db);
      pusher.verify(events);
      for (const c of ['heavy1', 'heavy2']) {
        const { seqs, contiguous } = counterSeqs(events, c);
        expect(contiguous, `${c} after round ${round}: every number exactly once`).toBe(true);
        expect(seqs.length, `${c}: stored exactly up to its checkpoint`).toBe(checkpointOf(db, c).next);
      }
    }
    // the second round resumed from the first round's checkpoints (contiguity across both runs above)
    const runs = new Set(storedEvents(db).filter((e) => e.connector === 'heavy1').map((e) => e.fields.structured_fields.run));
    expect(runs.size).toBe(2);
  });
});
