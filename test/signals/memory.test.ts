import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { listIncidents, promoteIncident } from '../../src/signals/memory.js';
import { refreshSignals } from '../../src/signals/refresh.js';
import { computeCandidates } from '../../src/signals/score.js';
import { HOUR, MIN, NOW, line, tempStore, type TempStore } from './helpers.js';

let t: TempStore | undefined;
afterEach(() => { t?.cleanup(); t = undefined; });

const incidentLines = (at: number, host: string) => [
  line(at - 20 * MIN, host, 'nfs: server filer-1 not responding, still trying', { service: 'kernel' }),
  line(at - 10 * MIN, host, 'nfs: server filer-1 not responding, still trying', { service: 'kernel' }),
  line(at, host, 'PANIC: could not fsync file: Input/output error', { service: 'postgres' }),
  line(at + MIN, host, 'PANIC: could not fsync file: Input/output error', { service: 'postgres' }),
];
const noise = (from: number, to: number) => {
  const out = [];
  for (let ts = from; ts < to; ts += 15 * MIN) out.push(line(ts, 'db-1', 'checkpoint complete'), line(ts, 'db-2', 'checkpoint complete'));
  return out;
};

describe('incident memory', () => {
  it('remembers an incident with its precursor; its recurrence raises memory_weight, says so and is counted', async () => {
    t = await tempStore();
    const then = NOW - 3 * 24 * HOUR;
    await t.ingest([...noise(then - 12 * HOUR, then + 12 * HOUR), ...incidentLines(then, 'db-1')]);
    let store = t.open();
    const panic = store.listSignatures().find((s) => /PANIC/.test(s.template))!;
    const inc = promoteIncident(store, { signatureKey: panic.signatureKey, title: 'postgres outage' }, then + HOUR);
    expect(inc.metadata.signatures!.map((s) => s.role).sort()).toEqual(['precursor', 'primary']);
    expect(inc.metadata.signatures!.some((s) => /checkpoint/.test(s.template))).toBe(false);
    store.close();

    await t.ingest([...noise(NOW - 12 * HOUR, NOW), line(NOW - 2 * HOUR, 'db-2', 'nfs: server filer-1 not responding, still trying', { service: 'kernel' }),
      line(NOW - HOUR, 'db-2', 'nfs: server filer-1 not responding, still trying', { service: 'kernel' })]);
    store = t.open();
    try {
      refreshSignals(store, t.options, NOW);
      expect(listIncidents(store)[0]!.recurrenceCount).toBe(1);
      refreshSignals(store, t.options, NOW + MIN); // the same episode is not counted twice
      expect(listIncidents(store)[0]!.recurrenceCount).toBe(1);
      const nfs = computeCandidates(store, t.options, NOW).find((c) => /nfs/.test(c.title))!;
      expect(nfs.scoreBreakdown.memory_weight).toBe(0.8);
      expect(nfs.summary).toMatch(/resembles incident #1 "postgres outage" \(its precursor\), recurred 1 time/);
      const noiseCand = computeCandidates(store, t.options, NOW).find((c) => /checkpoint/.test(c.title))!;
      expect(noiseCand.scoreBreakdown.memory_weight).toBe(0);
    } finally {
      store.close();
    }
  });

  it('promotes candidates that reach the promote band automatically, once', async () => {
    t = await tempStore();
    await t.ingest(incidentLines(NOW - HOUR, 'db-1'));
    const store = t.open();
    try {
      const onlyImpact = { ...t.options, weights: { recurrence: 0, recovery: 0, spread: 0, novelty: 0, impact: 1, precursor: 0, memory_weight: 0 } };
      const first = refreshSignals(store, onlyImpact, NOW);
      expect(first.promoted).toHaveLength(1);
      expect(listIncidents(store)[0]!.metadata.auto).toBe(true);
      expect(refreshSignals(store, onlyImpact, NOW + MIN).promoted).toHaveLength(0);
    } finally {
      store.close();
    }
  });
});

const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
describe('brainstem incidents (built CLI: npx tsc -p tsconfig.json first)', () => {
  it('promotes, lists (--json) and forgets', async () => {
    t = await tempStore();
    await t.ingest(incidentLines(NOW - HOUR, 'db-1'));
    const store = t.open();
    const key = store.listSignatures().find((s) => /PANIC/.test(s.template))!.signatureKey;
    store.close();
    const run = (...args: string[]) => execFileSync(process.execPath, [cli, 'incidents', '-c', t!.configPath, ...args], { encoding: 'utf8' });
    expect(run('promote', key, '--title', 'the outage')).toMatch(/remembered incident #1 "the outage"/);
    const listed = JSON.parse(run('--json'));
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: 1, title: 'the outage', recurrence_count: 0 });
    expect(listed[0].signature_keys).toContain(key);
    expect(run('forget', '1')).toMatch(/forgot incident #1/);
    expect(JSON.parse(run('--json'))).toEqual([]);
    expect(() => run('forget', '1')).toThrow(/no incident #1/);
  });
});
