import { afterEach, describe, expect, it } from 'vitest';
import { computeCandidates, decisionBand, attentionBand, totalScore } from '../../src/signals/score.js';
import { detectStateChange, FAIL, RECOVER } from '../../src/signals/state.js';
import { HOUR, MIN, NOW, line, tempStore, type TempStore } from './helpers.js';

let t: TempStore | undefined;
afterEach(() => { t?.cleanup(); t = undefined; });

async function candidatesFor(envs: Parameters<TempStore['ingest']>[0]) {
  t = await tempStore();
  await t.ingest(envs);
  const store = t.open();
  try {
    return computeCandidates(store, t.options, NOW);
  } finally {
    store.close();
  }
}
const find = (cands: Awaited<ReturnType<typeof candidatesFor>>, re: RegExp) => {
  const c = cands.find((x) => re.test(x.title) || (x.metadata.grouped_templates as string[] ?? []).some((g) => re.test(g)));
  if (!c) throw new Error(`no candidate matching ${re}`);
  return c;
};
const background = (hosts: string[]) => {
  const out = [];
  for (let ts = NOW - 20 * HOUR; ts < NOW; ts += 10 * MIN) for (const h of hosts) out.push(line(ts, h, 'heartbeat ok from agent'));
  return out;
};

describe('state changes', () => {
  it('pairs opposite states of the same subject', () => {
    expect(detectStateChange('vti0: link down')).toEqual({ subject: 'vti0link', polarity: FAIL });
    expect(detectStateChange('vti0: link up')).toEqual({ subject: 'vti0link', polarity: RECOVER });
    expect(detectStateChange('Connection lost to db-1')!.subject).toBe(detectStateChange('Connection restored to db-1')!.subject);
    expect(detectStateChange('payments-api.service: Main process exited, code=exited, status=1/FAILURE')!.subject)
      .toBe(detectStateChange('Started Payments API.')!.subject);
    expect(detectStateChange('IKE_SA dc-tunnel[4] state change: ESTABLISHED => DELETING')!.polarity).toBe(FAIL);
    expect(detectStateChange('heartbeat ok from agent')).toBeUndefined();
  });
  it('pairs LogicMonitor raised and cleared alerts by correlation keys, not alert id', () => {
    const raised = detectStateChange('LogicMonitor alert raised', { alert_state: 'raised' }, { alert_id: 'LMD1', device: 'sw1', datapoint: 'Status' });
    const cleared = detectStateChange('LogicMonitor alert cleared', { alert_state: 'cleared' }, { alert_id: 'LMD2', device: 'sw1', datapoint: 'Status' });
    expect(raised!.subject).toBe(cleared!.subject);
    expect([raised!.polarity, cleared!.polarity]).toEqual([FAIL, RECOVER]);
  });
});

describe('score dimensions', () => {
  it('recovery: a flapping link scores high, a link that only went down scores 0', async () => {
    const envs = background(['gw-1', 'gw-2']);
    for (let ts = NOW - 4 * HOUR; ts < NOW - HOUR; ts += 15 * MIN) {
      envs.push(line(ts, 'gw-1', 'vti0: link down', { service: 'kernel' }), line(ts + 60_000, 'gw-1', 'vti0: link up', { service: 'kernel' }));
    }
    for (let ts = NOW - 4 * HOUR; ts < NOW - HOUR; ts += 15 * MIN) envs.push(line(ts, 'gw-2', 'eth7: carrier lost on port', { service: 'kernel' }));
    const cands = await candidatesFor(envs);
    const flap = find(cands, /link down|link up/);
    expect(flap.scoreBreakdown.recovery).toBe(1);
    expect(flap.metadata.recovery_cycles).toBe(12);
    expect(flap.sourceSignatureIds).toHaveLength(2); // down and up grouped as one pattern
    expect(flap.summary).toMatch(/flapping: 12 failure\/recovery cycles/);
    expect(find(cands, /carrier lost/).scoreBreakdown.recovery).toBe(0);
  });

  it('spread: a pattern on many hosts, reached recently, outscores one on a single host', async () => {
    const hosts = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
    const envs = background(hosts);
    hosts.forEach((h, k) => { for (let ts = NOW - 18 * HOUR + k * 3 * HOUR; ts < NOW; ts += 30 * MIN) envs.push(line(ts, h, 'I/O error, dev sdb, sector 42')); });
    for (let ts = NOW - 18 * HOUR; ts < NOW; ts += 30 * MIN) envs.push(line(ts, 'h1', 'disk quota warning for tenant'));
    const cands = await candidatesFor(envs);
    const wide = find(cands, /I\/O error/);
    expect(wide.scoreBreakdown.spread).toBeGreaterThan(0.5);
    expect(wide.metadata.new_hosts).toBeGreaterThan(0);
    expect(find(cands, /quota/).scoreBreakdown.spread).toBe(0);
  });

  it('novelty: a pattern ramping above its own baseline is novel, a steady one is not', async () => {
    const envs = [];
    for (let ts = NOW - 72 * HOUR; ts < NOW; ts += 30 * MIN) envs.push(line(ts, 'a', 'steady poll completed'), line(ts, 'a', 'queue depth warning'));
    for (let ts = NOW - 3 * HOUR; ts < NOW; ts += 2 * MIN) envs.push(line(ts, 'a', 'queue depth warning'));
    const cands = await candidatesFor(envs);
    expect(find(cands, /queue depth/).scoreBreakdown.novelty).toBeGreaterThan(0.5);
    expect(find(cands, /steady poll/).scoreBreakdown.novelty).toBeLessThan(0.1);
  });

  it('impact: an error outranks routine chatter; recurrence: more and burstier is higher', async () => {
    const envs = background(['a']);
    for (let i = 0; i < 200; i++) envs.push(line(NOW - HOUR + i * 1000, 'a', 'fatal error: cannot allocate memory'));
    const cands = await candidatesFor(envs);
    const err = find(cands, /fatal error/);
    const routine = find(cands, /heartbeat/);
    expect(err.scoreBreakdown.impact).toBeGreaterThan(routine.scoreBreakdown.impact + 0.3);
    expect(err.scoreBreakdown.recurrence).toBeGreaterThan(routine.scoreBreakdown.recurrence);
    expect(err.metadata.burstiness).toBeGreaterThan(0.5);
  });

  it('precursor: a signature regularly followed by worse events on the same host scores high', async () => {
    const envs = background(['db', 'web']);
    for (let ts = NOW - 12 * HOUR; ts < NOW - HOUR; ts += 2 * HOUR) {
      envs.push(line(ts, 'db', 'replication lag growing on replica'));
      envs.push(line(ts + 5 * MIN, 'db', 'FATAL: database system is shut down'));
    }
    for (let ts = NOW - 12 * HOUR + 30 * MIN; ts < NOW - HOUR; ts += 2 * HOUR) envs.push(line(ts, 'web', 'cache warmup scheduled'));
    const cands = await candidatesFor(envs);
    const pre = find(cands, /replication lag/);
    expect(pre.scoreBreakdown.precursor).toBeGreaterThan(0.7);
    expect(pre.metadata.precursor_followed).toBe(6);
    expect(find(cands, /cache warmup/).scoreBreakdown.precursor).toBe(0);
  });
});

describe('bands', () => {
  it('maps scores to decision and attention bands as design.md §4', () => {
    expect([0.9, 0.7, 0.5, 0.3, 0.1].map(decisionBand)).toEqual(['promote_to_incident_memory', 'urgent_human_review', 'review', 'watch', 'ignore']);
    expect(attentionBand('urgent_human_review')).toBe('investigate');
    expect(attentionBand('promote_to_incident_memory')).toBe('promote');
  });
  it('combines dimensions by the weighted quadratic mean', () => {
    const b = { recurrence: 1, recovery: 0, spread: 0, novelty: 0, impact: 0, precursor: 0, memory_weight: 0 };
    const w = { recurrence: 1, recovery: 1, spread: 1, novelty: 1, impact: 1, precursor: 1, memory_weight: 1 };
    expect(totalScore(b, w)).toBeCloseTo(Math.sqrt(1 / 7), 3);
    expect(totalScore(b, { ...w, recovery: 0, spread: 0, novelty: 0, impact: 0, precursor: 0, memory_weight: 0 })).toBe(1);
  });
});
