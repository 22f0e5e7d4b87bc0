// Benchmark: digest composition and Slack rendering of a 100-item digest, and outbox delivery
// throughput to the local fake Slack (no rate limit, many receivers) — what one digest run costs
// and how fast a backlog of pending deliveries drains after an outage.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { receiverSchema } from '../src/config/schema.js';
import { composeDigest, HOUR_MS, type SignatureSeries } from '../src/digest/compose.js';
import { OutboxSender } from '../src/digest/deliver.js';
import { deliveryId, payloadFor } from '../src/digest/run.js';
import { slackMessages } from '../src/digest/slack.js';
import { silentLogger } from '../src/log/logger.js';
import { outboxCounts, recordDigest } from '../src/store/outbox.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { CandidateRecord } from '../src/store/types.js';
import { FakeSlack } from '../test/fakes/slack/server.js';

const DIGESTS = Number(process.env.BENCH_DIGESTS ?? 300);
const RECEIVERS = 10;
const now = Date.now();

function candidates(n: number): { cands: CandidateRecord[]; series: Map<string, SignatureSeries> } {
  const cands: CandidateRecord[] = [];
  const series = new Map<string, SignatureSeries>();
  for (let i = 0; i < n; i++) {
    const key = `sig${i}`;
    const hosts = Array.from({ length: 1 + (i % 12) }, (_, h) => `host-${h}`);
    cands.push({
      candidateType: 'signature', signatureKey: key, title: `svc${i}: connection to <IP> port <NUM> failed after <NUM> retries & <timeout>`,
      summary: `${50 + i} occurrences in the last 24h on ${hosts.length} hosts`, scoreTotal: 0.9 - i / 1000,
      scoreBreakdown: { recurrence: 0.5, recovery: 0, spread: 0.3, novelty: 0.2, impact: 0.6, precursor: 0, memory_weight: 0 },
      decisionBand: 'urgent_human_review', attentionBand: 'investigate', sourceSignatureIds: [key], sourceEventIds: [], confidence: 0.8,
      metadata: { window_count: 50 + i, hosts, host_count: hosts.length, first_seen: new Date(now - 86_400_000).toISOString(), last_seen: new Date(now).toISOString() },
    });
    const buckets = new Map<number, number>();
    for (let h = 0; h < 48; h++) buckets.set(Math.floor(now / HOUR_MS) - h, (i * 7 + h * 3) % 20);
    series.set(key, { buckets });
  }
  return { cands, series };
}

function timeIt(label: string, iterations: number, fn: () => void): void {
  fn();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  const ms = (performance.now() - t0) / iterations;
  console.log(`${label}: ${ms.toFixed(3)} ms each (${iterations} runs)`);
}

async function main(): Promise<void> {
  const { cands, series } = candidates(100);
  const opts = { name: 'bench', minAttention: 'watch', maxItems: 100, lookbackMs: 86_400_000 };
  const digest = composeDigest({ candidates: cands, series, history: [], id: 'dg_bench' }, opts, now);
  timeIt('compose 100-item digest', 500, () => { composeDigest({ candidates: cands, series, history: [], id: 'dg_bench' }, opts, now); });
  timeIt('render 100-item digest for Slack', 500, () => { slackMessages(digest); });
  console.log(`slack messages for 100 items: ${slackMessages(digest).length}`);

  const dir = mkdtempSync(join(tmpdir(), 'brainstem-bench-digest-'));
  const slack = await FakeSlack.start({ rate: null });
  const store = new SqliteStore(join(dir, 'b.db'));
  try {
    const receivers = Array.from({ length: RECEIVERS }, (_, r) => receiverSchema.parse({ name: `r${r}`, type: 'slack', url: slack.addHook(`T1/B${r}/x`) }));
    const small = composeDigest({ candidates: cands.slice(0, 10), series, history: [], id: 'dg_small' }, { ...opts, maxItems: 10 }, now);
    for (let i = 0; i < DIGESTS; i++) {
      const d = { ...small, id: `dg_${i}` };
      recordDigest(store, d, receivers.map((rc) => ({ id: deliveryId(d.id, rc.name), receiver: rc.name, receiverType: 'slack', payload: JSON.stringify(payloadFor(d, rc)) })), { upsert: [], remove: [] }, now);
    }
    const total = DIGESTS * RECEIVERS;
    const sender = new OutboxSender(store, receivers, silentLogger(), { ratePerSecond: 1e9, burst: 1e9, pollMs: 20 });
    const t0 = performance.now();
    sender.start();
    while (outboxCounts(store).some((c) => c.pending > 0)) await new Promise((r) => setTimeout(r, 20));
    const s = (performance.now() - t0) / 1000;
    await sender.stop();
    console.log(`outbox drain: ${total} deliveries (${RECEIVERS} receivers) in ${s.toFixed(2)} s = ${Math.round(total / s)} deliveries/s; fake received ${slack.messages.length}`);
  } finally {
    store.close();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
