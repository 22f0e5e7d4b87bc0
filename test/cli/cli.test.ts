import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDemoLogs } from '../../fixtures/demo/generate.js';
import { cli, cliJson, REPO, startDaemon, waitFor } from '../helpers/cli.js';

const PLUGIN = join(REPO, 'fixtures/plugins/sequence-plugin.mjs');

function workspace(extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'brainstem-cli-'));
  const cfg = join(dir, 'brainstem.yaml');
  writeFileSync(cfg, `tenant_id: test\nstorage: { path: ${JSON.stringify(join(dir, 'b.db'))} }\napi: { enabled: false }\npipeline: { utc: true }\n${extra}`);
  return { dir, cfg };
}

/** Numbers seen in stored `seq N label` lines, with their multiplicity checked by the caller. */
function seqNumbers(cfg: string, label: string): number[] {
  const events = cliJson<Array<{ message_raw: string }>>(['events', '--limit', '0', '-c', cfg]);
  return events.map((e) => e.message_raw.split(' ')).filter((p) => p[0] === 'seq' && p[2] === label).map((p) => Number(p[1]));
}

describe('brainstem CLI (built, as a child process)', () => {
  it('ingest → events → signatures → candidates, in the wire format', () => {
    const { dir, cfg } = workspace();
    const files = generateDemoLogs(join(dir, 'logs'), Date.now());
    const summary = cliJson(['ingest', '-c', cfg, ...files]);
    expect(summary.lines_read).toBeGreaterThan(1000);
    expect(summary.events_stored).toBe(summary.lines_read);
    expect(summary.parse_errors).toBe(0);
    expect(summary.new_signatures).toBe(summary.signatures_total);

    const events = cliJson<any[]>(['events', '--limit', '5', '-c', cfg]);
    expect(events).toHaveLength(5);
    for (const k of ['id', 'tenant_id', 'source_type', 'timestamp', 'message_raw', 'host', 'service', 'severity', 'asset_id', 'source_path',
      'facility', 'structured_fields', 'correlation_keys', 'metadata', 'message_normalized', 'signature_input', 'ingest_metadata', 'signature_key', 'connector']) {
      expect(events[0]).toHaveProperty(k);
    }
    expect(events[0].tenant_id).toBe('test');
    expect(events[0].connector).toBe('ingest');

    const sigs = cliJson<any[]>(['signatures', '--limit', '0', '-c', cfg]);
    expect(sigs.length).toBe(summary.signatures_total);
    const brute = sigs.find((s) => /Failed password for invalid user/.test(s.normalized_pattern));
    expect(brute).toMatchObject({ service: 'sshd', event_family: 'auth' });
    expect(brute.occurrence_count).toBeGreaterThan(50);
    const byKey = cliJson<any[]>(['events', '--signature', brute.signature_key, '--limit', '0', '-c', cfg]);
    expect(byKey).toHaveLength(brute.occurrence_count);

    const cands = cliJson<any[]>(['candidates', '--limit', '0', '-c', cfg]);
    expect(cands.length).toBeGreaterThan(5);
    for (const c of cands) {
      expect(c.score_total).toBeGreaterThanOrEqual(0);
      expect(c.score_total).toBeLessThanOrEqual(1);
      expect(Object.keys(c.score_breakdown).sort()).toEqual(['impact', 'memory_weight', 'novelty', 'precursor', 'recovery', 'recurrence', 'spread']);
      expect(c.summary).toMatch(/\d+ occurrences? in the last/);
    }
    const limited = cliJson<any[]>(['candidates', '--limit', '3', '-c', cfg]);
    expect(limited).toHaveLength(3);
    expect(cli(['candidates', '--band', 'bogus', '-c', cfg]).code).toBe(2);
  });

  it('ingests NDJSON envelopes and stores malformed lines as parse errors', () => {
    const { dir, cfg } = workspace();
    const f = join(dir, 'in.ndjson');
    writeFileSync(f, [
      JSON.stringify({ message_raw: 'disk /dev/sda1 full', host: 'a', severity: 'error', timestamp: '2026-12-03T10:00:00Z' }),
      '{not json',
      JSON.stringify({ message_raw: 'disk /dev/sdb1 full', host: 'b', structured_fields: { mount: '/data' } }),
    ].join('\n'));
    const summary = cliJson(['ingest', '--source-type', 'json', '-c', cfg, f]);
    expect(summary).toMatchObject({ lines_read: 3, events_stored: 3, parse_errors: 1 });
    const events = cliJson<any[]>(['events', '--limit', '0', '-c', cfg]);
    const bad = events.find((e) => e.parse_error);
    expect(bad.message_raw).toBe('{not json');
    expect(bad.parse_error).toMatch(/line 2/);
    const good = events.find((e) => e.host === 'a');
    expect(good).toMatchObject({ severity: 'err', timestamp: '2026-12-03T10:00:00.000Z' });
  });

  it('reads stdin with -', () => {
    const { cfg } = workspace();
    const r = cli(['ingest', '--source-type', 'plain', '--host', 'h', '--json', '-c', cfg, '-'], { input: 'one 1\none 2\n' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ lines_read: 2, events_stored: 2, new_signatures: 1 });
  });

  it('validate: exit 0 for a good config, 1 with one line per problem for a bad one', () => {
    const good = workspace();
    expect(cli(['validate', '-c', good.cfg])).toMatchObject({ code: 0 });
    const bad = workspace('connectors:\n  - { name: x, type: sequence, plugin: ' + JSON.stringify(PLUGIN) + ', batch: 0 }\n');
    const r = cli(['validate', '-c', bad.cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('brainstem: brainstem.yaml:6 connectors[0].batch: expected a number ≥ 1, got 0');
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(cli(['nosuch']).code).toBe(2);
    expect(cli(['events', '-c', join(good.dir, 'missing.yaml')]).stderr).toMatch(/^brainstem: missing\.yaml cannot read config: ENOENT\n$/);
  });

  it('config-schema prints a JSON Schema with each built-in connector type', () => {
    const schema = JSON.parse(cli(['config-schema']).stdout);
    expect(schema.type).toBe('object');
    expect(schema.properties.storage).toBeTruthy();
    const types = schema.properties.connectors.items.anyOf.map((v: any) => v.properties.type.const).filter(Boolean);
    expect(types.length).toBeGreaterThanOrEqual(1);
  });

  it('demo prints a digest of the bundled sample', () => {
    const r = cli(['demo']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/brainstem digest "demo"/);
    expect(r.stdout).toMatch(/sshd|payments-api|vti/);
  });

  it('run: SIGTERM stops gracefully and a restart resumes from the checkpoint, no line lost or repeated', async () => {
    const { cfg } = workspace(`connectors:\n  - { name: seq, type: sequence, plugin: ${JSON.stringify(PLUGIN)}, count: 3000, batch: 50, interval_ms: 5, label: term }\n`);
    for (let round = 0; round < 3; round++) {
      const d = startDaemon(cfg);
      await d.ready;
      await new Promise((r) => setTimeout(r, 200 + round * 150));
      expect(await d.stop('SIGTERM')).toBe(0);
    }
    const d = startDaemon(cfg);
    await d.ready;
    await waitFor(() => cliJson<any>(['stats', '-c', cfg]).connectors.find((c: any) => c.connector === 'seq')?.stored >= 3000, 'all 3000 lines');
    expect(await d.stop('SIGINT')).toBe(0);
    const nums = seqNumbers(cfg, 'term');
    expect(nums).toHaveLength(3000);
    expect(new Set(nums).size).toBe(3000);
  });

  it('run: kill -9 at random moments loses and repeats nothing', async () => {
    const { cfg } = workspace(`connectors:\n  - { name: seq, type: sequence, plugin: ${JSON.stringify(PLUGIN)}, count: 4000, batch: 37, interval_ms: 2, label: kill }\n`);
    for (let i = 0; i < 6; i++) {
      const d = startDaemon(cfg);
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 500));
      await d.stop('SIGKILL');
    }
    const d = startDaemon(cfg);
    await d.ready;
    await waitFor(() => cliJson<any>(['stats', '-c', cfg]).connectors.find((c: any) => c.connector === 'seq')?.stored >= 4000, 'all 4000 lines');
    await d.stop();
    const nums = seqNumbers(cfg, 'kill');
    expect(nums.length).toBe(4000);
    expect(new Set(nums).size).toBe(4000);
  });

  it('a failing plugin is restarted with backoff, its error visible in stats; other connectors go on', async () => {
    const { cfg } = workspace([
      'connectors:',
      `  - { name: bad, type: sequence, plugin: ${JSON.stringify(PLUGIN)}, count: 0, batch: 10, fail_after: 20, label: bad }`,
      `  - { name: good, type: sequence, plugin: ${JSON.stringify(PLUGIN)}, count: 500, batch: 10, interval_ms: 5, label: good }`,
      '',
    ].join('\n'));
    const d = startDaemon(cfg);
    await d.ready;
    const stats = await waitFor(() => {
      const s = cliJson<any>(['stats', '-c', cfg]);
      const bad = s.connectors.find((c: any) => c.connector === 'bad');
      const good = s.connectors.find((c: any) => c.connector === 'good');
      return bad?.last_error && good?.stored >= 500 ? s : undefined;
    }, 'the bad connector to fail and the good one to finish');
    const bad = stats.connectors.find((c: any) => c.connector === 'bad');
    expect(bad.last_error).toMatch(/planned failure after 20/);
    expect(['backoff', 'starting', 'running']).toContain(bad.state);
    expect(bad.stored).toBe(20);
    expect(await d.stop()).toBe(0);
    expect(d.stderr()).toMatch(/connector failed; restarting/);
    expect(seqNumbers(cfg, 'good')).toHaveLength(500);
  });
});
