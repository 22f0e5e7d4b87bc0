// A load source for the operations tests: loops POSTing NDJSON batches with unique ids to
// /v1/events and remembers which ids were acknowledged (2xx), so a test can check that every
// acknowledged event was stored exactly once and nothing unacknowledged was stored twice.
import { expect } from 'vitest';

export interface Pusher {
  acked: Set<string>;
  attempted: Set<string>;
  stop(): Promise<void>;
  /** Every acknowledged id stored once; no id stored twice; nothing stored that was never sent. */
  verify(events: Array<{ connector: string; fields: Record<string, any> }>): void;
}

export function startPusher(base: string, prefix: string, concurrency: number, batch = 20): Pusher {
  const acked = new Set<string>();
  const attempted = new Set<string>();
  let stopped = false;
  let n = 0;
  const worker = async () => {
    while (!stopped) {
      const ids = Array.from({ length: batch }, () => `${prefix}-${n++}`);
      for (const id of ids) attempted.add(id);
      const body = ids.map((id) => JSON.stringify({ message_raw: `pushed event ${id}`, structured_fields: { push: id } })).join('\n');
      try {
        const res = await fetch(`${base}/v1/events`, { method: 'POST', body, headers: { 'Content-Type': 'application/x-ndjson' } });
        await res.arrayBuffer();
        if (res.ok) for (const id of ids) acked.add(id);
        else if (res.status !== 429 && res.status !== 503) throw new Error(`unexpected ${res.status}`);
      } catch (err) {
        // the daemon going away mid-request: not acknowledged, so the client would retry
        if (!stopped && !/fetch failed|ECONNREFUSED|socket/i.test(String((err as Error).message))) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    acked, attempted,
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
    verify(events) {
      const stored = events.filter((e) => e.fields.structured_fields?.push !== undefined).map((e) => e.fields.structured_fields.push as string)
        .filter((id) => id.startsWith(`${prefix}-`));
      const unique = new Set(stored);
      expect(unique.size, 'no pushed event stored twice').toBe(stored.length);
      const lost = [...acked].filter((id) => !unique.has(id));
      expect(lost, 'acknowledged events that were not stored').toEqual([]);
      expect([...unique].filter((id) => !attempted.has(id))).toEqual([]);
    },
  };
}
