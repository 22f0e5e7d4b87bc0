// Micro-benchmark of the per-line path on the main thread: canonicalize (syslog header, masking)
// and fingerprint (template miner), the batch codec and clone to the writer thread, and the
// writer's commit, in CPU time, over the synthetic syslog corpus.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalize } from '../src/pipeline/canonicalize.js';
import { Fingerprinter } from '../src/pipeline/fingerprint.js';
import { TemplateMiner } from '../src/pipeline/miner.js';
import { parseSyslogLine } from '../src/pipeline/syslog-line.js';
import { maskTokens } from '../src/pipeline/mask.js';
import { writeSyslogCorpus } from './corpus.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { WriteBatch } from '../src/store/types.js';
import { encodeBatch, transferables, type EncodedBatch } from '../src/store/batch-codec.js';

export async function runHotpathBench(lines = 200_000): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'brainstem-hot-'));
  try {
    const file = join(dir, 's.log');
    await writeSyslogCorpus(file, lines);
    const all = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const cpu = (fn: () => void) => {
      const t = process.cpuUsage();
      fn();
      const u = process.cpuUsage(t);
      return (u.user + u.system) / 1e6;
    };
    const now = Date.now();
    const parse = cpu(() => { for (const l of all) parseSyslogLine(l); });
    const mask = cpu(() => { for (const l of all) maskTokens(l); });
    const fp = new Fingerprinter(new TemplateMiner());
    const ctx = { connector: 'bench', tenantId: 't', sourceType: 'file', now };
    const full = cpu(() => { for (const l of all) fp.assign(canonicalize({ messageRaw: l, messageFormat: 'syslog' }, ctx)); });
    // the writer thread's share: commit those events in batches of 1,000 into a fresh store
    const fp2 = new Fingerprinter(new TemplateMiner());
    const store = new SqliteStore(join(dir, 'w.db'));
    store.aggregateIntervalMs = 1000; // as on the writer thread
    const batches: WriteBatch[] = [];
    for (let i = 0; i < all.length; i += 1000) {
      const events = all.slice(i, i + 1000).map((l) => fp2.assign(canonicalize({ messageRaw: l, messageFormat: 'syslog' }, ctx)));
      batches.push({ events, signatures: fp2.takeChanges(), checkpoints: [{ connector: 'bench', checkpoint: i }], counts: [{ connector: 'bench', type: 'file', received: events.length, stored: events.length, parseErrors: 0 }] });
    }
    let encoded: EncodedBatch[] = [];
    const encode = cpu(() => { encoded = batches.map(encodeBatch); });
    // as the writer client posts a batch: its column buffers are transferred, the rest cloned
    const clone = cpu(() => { encoded = encoded.map((b) => structuredClone(b, { transfer: transferables(b) })); });
    const write = cpu(() => { for (const b of encoded) store.writeEncoded(b); });
    store.close();
    const rate = (s: number) => `${Math.round(all.length / s).toLocaleString('en')} lines/cpu-s (${((s / all.length) * 1e6).toFixed(2)} µs/line)`;
    console.log(`hot path over ${all.length.toLocaleString('en')} lines:`);
    console.log(`  syslog header parse           ${rate(parse)}`);
    console.log(`  mask (whole line)             ${rate(mask)}`);
    console.log(`  canonicalize + fingerprint    ${rate(full)}`);
    console.log(`  encode batch for the writer   ${rate(encode)}`);
    console.log(`  hand over to the writer       ${rate(clone)}`);
    console.log(`  SQLite commit (writer thread) ${rate(write)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runHotpathBench();
}
