import { describe, expect, it } from 'vitest';
import { maskTokens } from '../../src/pipeline/mask.js';
import { clusterKey, TemplateMiner, WILDCARD, type ClusterRecord } from '../../src/pipeline/miner.js';

const feed = (miner: TemplateMiner, service: string, line: string) => miner.match(service, maskTokens(line));

/** A small deterministic corpus: several statements with varying users, addresses and counts. */
function corpus(n: number): Array<[string, string]> {
  let s = 42;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const users = ['root', 'admin', 'deploy', 'git', 'oracle'];
  const ip = () => `10.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}`;
  const makers: Array<() => [string, string]> = [
    () => ['sshd', `Failed password for ${pick(users)} from ${ip()} port ${Math.floor(rnd() * 65535)} ssh2`],
    () => ['sshd', `Accepted publickey for ${pick(users)} from ${ip()} port ${Math.floor(rnd() * 65535)} ssh2`],
    () => ['sshd', `Connection closed by ${ip()} port ${Math.floor(rnd() * 65535)} [preauth]`],
    () => ['kernel', `eth${Math.floor(rnd() * 4)}: link ${pick(['up', 'down'])}`],
    () => ['CRON', `pam_unix(cron:session): session opened for user ${pick(users)} by (uid=0)`],
    () => ['nginx', `upstream timed out after ${Math.floor(rnd() * 900)} ms while reading ${pick(['header', 'body'])}`],
    () => ['app', `job ${Math.floor(rnd() * 1e6)} done status=${pick(['ok', 'failed'])} retries=${Math.floor(rnd() * 3)}`],
  ];
  return Array.from({ length: n }, () => pick(makers)());
}

describe('TemplateMiner', () => {
  it('groups the issue example pair under one key', () => {
    const miner = new TemplateMiner();
    const a = feed(miner, 'sshd', 'Failed password for root from 10.0.0.1 port 22');
    const b = feed(miner, 'sshd', 'Failed password for admin from 10.0.0.9 port 4711');
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.cluster.key).toBe(a.cluster.key);
    expect(b.changed).toBe(true);
    expect(b.cluster.tokens.join(' ')).toBe(`Failed password for ${WILDCARD} from <IP> port <NUM>`);
  });

  it('keeps different statements apart', () => {
    const miner = new TemplateMiner();
    const keys = new Set([
      feed(miner, 'sshd', 'Failed password for root from 10.0.0.1 port 22').cluster.key,
      feed(miner, 'sshd', 'Accepted password for root from 10.0.0.1 port 22').cluster.key,
      feed(miner, 'sshd', 'Failed password for invalid user bob from 10.0.0.1 port 22').cluster.key,
      feed(miner, 'sshd', 'Connection closed by 10.0.0.1 port 22').cluster.key,
    ]);
    expect(keys.size).toBe(4);
  });

  it('keeps a key while its template generalizes, and reports created/changed', () => {
    const miner = new TemplateMiner();
    const first = feed(miner, 'app', 'job 1 done status=ok by worker alpha on node n1');
    const key = first.cluster.key;
    expect(key).toBe(clusterKey('app', first.cluster.tokens.join(' ')));
    const same = feed(miner, 'app', 'job 2 done status=ok by worker alpha on node n1');
    expect(same).toMatchObject({ created: false, changed: false });
    const gen = feed(miner, 'app', 'job 3 done status=failed by worker beta on node n1');
    expect(gen).toMatchObject({ created: false, changed: true });
    expect(gen.cluster.key).toBe(key);
    expect(gen.cluster.tokens.join(' ')).toBe(`job <NUM> done status=${WILDCARD} by worker ${WILDCARD} on node n<NUM>`);
    expect(miner.get(key)?.tokens).toEqual(gen.cluster.tokens);
    expect(miner.size).toBe(1);
  });

  it('never merges lines of different services', () => {
    const miner = new TemplateMiner();
    const a = feed(miner, 'sshd', 'Failed password for root from 10.0.0.1 port 22');
    const b = feed(miner, 'vsftpd', 'Failed password for root from 10.0.0.1 port 22');
    expect(b.created).toBe(true);
    expect(b.cluster.key).not.toBe(a.cluster.key);
    expect(b.cluster.service).toBe('vsftpd');
  });

  it('groups lines whose values differ in length', () => {
    const miner = new TemplateMiner();
    const a = feed(miner, 'proxy', 'www.example.com:443 close, 0 bytes sent, 120 bytes received, lifetime <1 sec');
    const b = feed(miner, 'proxy', 'api.example.org:80 close, 1234 bytes (1.20 KB) sent, 99 bytes received, lifetime 00:01');
    const c = feed(miner, 'dfs', 'BLOCK* ask 10.0.0.1:50010 to delete blk_1 blk_-2 blk_3');
    const d = feed(miner, 'dfs', 'BLOCK* ask 10.0.0.2:50010 to delete blk_4');
    expect(b.cluster.key).toBe(a.cluster.key);
    expect(d.cluster.key).toBe(c.cluster.key);
  });

  it('treats keyed values as values but keeps their keys', () => {
    const miner = new TemplateMiner();
    const a = feed(miner, 'ui', 'shouldBlockLocation ret:false');
    const b = feed(miner, 'ui', 'shouldBlockLocation ret:true');
    const c = feed(miner, 'ui', 'shouldBlockLocation mode:true');
    expect(b.cluster.key).toBe(a.cluster.key);
    expect(b.cluster.tokens).toEqual(['shouldBlockLocation', `ret:${WILDCARD}`]);
    expect(c.cluster.key).not.toBe(a.cluster.key);
  });

  it('starts a new cluster when a line differs in a token that stayed the same over many lines', () => {
    const miner = new TemplateMiner({ settled: 10 });
    let key = '';
    for (let i = 0; i < 10; i++) key = feed(miner, 'cbs', `Session: ${i}_${i * 7} initialized by client WindowsUpdateAgent.`).cluster.key;
    const other = feed(miner, 'cbs', 'Session: 5_77 initialized by client SPP.');
    expect(other.created).toBe(true);
    expect(other.cluster.key).not.toBe(key);
    // Young clusters still generalize: the second distinct client joins the SPP one.
    const third = feed(miner, 'cbs', 'Session: 6_78 initialized by client TrustedInstaller.');
    expect(third.cluster.key).toBe(other.cluster.key);
  });

  it('yields the same keys after a restart from persisted templates', () => {
    const lines = corpus(3000);
    const live = new TemplateMiner();
    const firstPass = lines.map(([svc, l]) => feed(live, svc, l).cluster.key);
    const records = live.records();
    expect(records.some((r) => r.template.includes(WILDCARD))).toBe(true); // generalized ones are included

    // As the store keeps them: key, service, template text (and the occurrence count).
    for (const variant of [records, records.map(({ count: _c, ...r }) => r as ClusterRecord), [...records].reverse()]) {
      const restored = new TemplateMiner();
      restored.load(variant.map((r) => ({ ...r, service: r.service || null })));
      expect(restored.size).toBe(live.size);
      const again = lines.map(([svc, l]) => feed(restored, svc, l));
      expect(again.map((r) => r.cluster.key)).toEqual(firstPass);
      expect(again.some((r) => r.created)).toBe(false);
    }
  });

  it('keeps keys across a restart that falls between a cluster’s creation and its generalization', () => {
    const before = new TemplateMiner();
    const a = feed(before, 'sshd', 'Failed password for root from 10.0.0.1 port 22').cluster.key;
    const restored = new TemplateMiner();
    restored.load(before.records().map((r) => ({ key: r.key, service: r.service, template: r.template, count: r.count })));
    const b = feed(restored, 'sshd', 'Failed password for admin from 10.0.0.9 port 4711');
    expect(b.cluster.key).toBe(a);
    expect(b.changed).toBe(true);

    // ... and once more after the generalized template was persisted.
    const again = new TemplateMiner();
    again.load(restored.records());
    expect(again.get(a)?.tokens).toEqual(b.cluster.tokens);
    for (const line of ['Failed password for root from 10.0.0.1 port 22', 'Failed password for git from 10.0.0.7 port 1']) {
      const r = feed(again, 'sshd', line);
      expect(r).toMatchObject({ created: false, changed: false });
      expect(r.cluster.key).toBe(a);
    }
  });

  it('restores a record for a known key by replacing the cluster', () => {
    const miner = new TemplateMiner();
    const first = feed(miner, 'x', 'disk sda1 is 91% full').cluster;
    miner.load([{ key: first.key, service: 'x', template: `disk sda<NUM> is <NUM> ${WILDCARD}` }]);
    expect(miner.size).toBe(1);
    const r = feed(miner, 'x', 'disk sdb2 is 3% empty');
    expect(r).toMatchObject({ created: false, changed: false });
    expect(r.cluster.key).toBe(first.key);
  });
});

describe('TemplateMiner cost', () => {
  it('compares a line with the few templates of its leaf, however many clusters exist', () => {
    const miner = new TemplateMiner();
    // 3,000 distinct statements, each seen with a few values.
    const letters = (n: number) => { let w = ''; do { w += String.fromCharCode(97 + (n % 26)); n = Math.floor(n / 26); } while (n > 0); return w; };
    for (let s = 0; s < 3000; s++) {
      for (let v = 0; v < 3; v++) feed(miner, 'app', `component ${letters(s)} started worker ${v} in ${v * 10} ms`);
    }
    expect(miner.size).toBe(3000);
    const before = miner.comparisons;
    const lines = 1000;
    for (let i = 0; i < lines; i++) feed(miner, 'app', `component ${letters(i)} started worker ${i} in ${i} ms`);
    expect((miner.comparisons - before) / lines).toBeLessThanOrEqual(2);
  });
});

describe('TemplateMiner exact-match cache', () => {
  it('assigns every line as the leaf scan does, and skips the scan for text it has seen', () => {
    const scanned = new TemplateMiner({ settled: 20 });
    const cached = new TemplateMiner({ settled: 20 });
    // low cardinality, so texts repeat; settled low, so clusters also split off during the run
    const lines = corpus(20_000);
    for (const [service, line] of lines) {
      const tokens = maskTokens(line);
      const a = scanned.match(service, tokens);
      const b = cached.match(service, tokens, tokens.join(' '));
      expect({ key: b.cluster.key, created: b.created, changed: b.changed, template: b.cluster.tokens.join(' ') })
        .toEqual({ key: a.cluster.key, created: a.created, changed: a.changed, template: a.cluster.tokens.join(' ') });
    }
    expect(cached.records()).toEqual(scanned.records()); // counts included
    expect(cached.comparisons).toBeLessThan(scanned.comparisons / 2);
  });

  it('forgets what it saw when clusters are loaded', () => {
    const miner = new TemplateMiner();
    const tokens = maskTokens('Failed password for root from 10.0.0.1 port 22');
    const first = miner.match('sshd', tokens, tokens.join(' ')).cluster;
    // a record for the same key with another template replaces the cluster: the cache must not return the old object
    miner.load([{ key: first.key, service: 'sshd', template: first.tokens.join(' '), count: 5 }]);
    const again = miner.match('sshd', tokens, tokens.join(' ')).cluster;
    expect(again).not.toBe(first);
    expect(again.key).toBe(first.key);
  });
});
