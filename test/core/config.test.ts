import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { parseDuration } from '../../src/config/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'brainstem-config-'));
const file = join(dir, 'brainstem.yaml');

async function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  try {
    await parseConfig(text, file, { env });
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  return [];
}

describe('config loading', () => {
  it('fills defaults for an empty file', async () => {
    const { config } = await parseConfig('', file, { env: {} });
    expect(config.storage.path).toBe('.brainstem/brainstem.db');
    expect(config.storage.retention_days).toBe(14);
    expect(config.api.listen).toBe('127.0.0.1:8787');
    expect(config.pipeline.batch_size).toBe(4000);
    expect(config.scoring.lookback).toBe(86_400_000);
  });

  it('names file, line, path, expectation and found value', async () => {
    const text = 'tenant_id: x\nstorage:\n  path: a.db\n  retention_days: -3\n';
    expect(await issuesOf(text)).toEqual(['brainstem.yaml:4 storage.retention_days: expected a number > 0, got -3']);
  });

  it('reports unknown keys with a did-you-mean', async () => {
    const lines = await issuesOf('storage:\n  pathh: x.db\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^brainstem\.yaml:2 storage: unknown key "pathh" \(did you mean "path"\?\)$/);
  });

  it('validates connector options with the plugin schema and points at the line', async () => {
    const text = [
      'connectors:',
      '  - name: seq',
      '    type: sequence',
      `    plugin: ${join(process.cwd(), 'fixtures/plugins/sequence-plugin.mjs')}`,
      '    count: 10',
      '    batch: 0',
    ].join('\n');
    expect(await issuesOf(text)).toEqual(['brainstem.yaml:6 connectors[0].batch: expected a number ≥ 1, got 0']);
  });

  it('rejects an unknown connector type and lists the built-ins', async () => {
    const lines = await issuesOf('connectors:\n  - { name: a, type: nosuch }\n');
    expect(lines[0]).toMatch(/^brainstem\.yaml:2 connectors\[0\]\.type: unknown connector type "nosuch" \(built-in: /);
  });

  it('interpolates ${VAR} and ${VAR:-default}, and names a missing variable', async () => {
    const { config } = await parseConfig('tenant_id: ${T}\nstorage: { path: "${P:-x.db}" }\n', file, { env: { T: 'acme' } });
    expect(config.tenant_id).toBe('acme');
    expect(config.storage.path).toBe('x.db');
    expect(await issuesOf('tenant_id: ${NOPE}\n')).toEqual([
      'brainstem.yaml:1 tenant_id: environment variable NOPE is not set (use ${NOPE:-default} for a default)',
    ]);
  });

  it('reads <key>_file secrets and refuses both forms', async () => {
    writeFileSync(join(dir, 'token'), 's3cret\n');
    const { config } = await parseConfig('api:\n  token_file: token\n', file, { env: {} });
    expect(config.api.token).toBe('s3cret');
    expect((await issuesOf('api:\n  token: a\n  token_file: token\n'))[0]).toMatch(/api\.token_file: give either token or token_file, not both/);
    expect((await issuesOf('api:\n  token_file: missing\n'))[0]).toMatch(/^brainstem\.yaml:2 api\.token_file: cannot read secret file missing: ENOENT/);
  });

  it('requires a token when the API listens beyond loopback', async () => {
    expect(await issuesOf('api: { listen: 0.0.0.0:8787 }\n')).toEqual([
      'brainstem.yaml:1 api.token: required when api.listen is not a loopback address (0.0.0.0:8787); set api.token or api.token_file',
    ]);
    expect(await issuesOf('api: { listen: "0.0.0.0:8787", token: t }\n')).toEqual([]);
  });

  it('checks that digests name existing receivers and names are unique', async () => {
    const text = 'receivers:\n  - { name: console, type: stdout }\ndigests:\n  - { name: d, schedule: "0 9 * * *", receivers: [consle] }\n';
    expect(await issuesOf(text)).toEqual(['brainstem.yaml:4 digests[0].receivers[0]: no receiver named "consle" (did you mean "console"?)']);
  });

  it('reports YAML syntax errors with their line', async () => {
    const lines = await issuesOf('storage:\n  path: [unclosed\n');
    expect(lines[0]).toMatch(/^brainstem\.yaml:\d+ YAML: /);
  });

  it('parses durations', () => {
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2w')).toBe(1_209_600_000);
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('the shipped configs are valid', async () => {
    for (const f of ['config/brainstem.yaml', 'config/brainstem.example.yaml']) {
      const { readFileSync, existsSync } = await import('node:fs');
      if (!existsSync(f)) continue;
      await expect(parseConfig(readFileSync(f, 'utf8'), f, { env: { LM_ACCESS_ID: 'id', LM_ACCESS_KEY: 'key', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x' } })).resolves.toBeTruthy();
    }
  });
});
