// A real temporary store fed through the real pipeline, for the signal tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { openIngestion, scoringOptions } from '../../src/daemon/daemon.js';
import { silentLogger } from '../../src/log/logger.js';
import type { RawEnvelope } from '../../src/plugin/contract.js';
import type { ScoringOptions } from '../../src/signals/score.js';
import { SqliteStore } from '../../src/store/sqlite.js';

export const MIN = 60_000;
export const HOUR = 3_600_000;
export const NOW = Date.UTC(2025, 5, 2, 12, 0, 0);

export interface TempStore {
  dir: string;
  storePath: string;
  configPath: string;
  ingest(envs: RawEnvelope[]): Promise<void>;
  open(): SqliteStore;
  options: ScoringOptions;
  cleanup(): void;
}

export async function tempStore(): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), 'brainstem-signals-'));
  const storePath = join(dir, 'b.db');
  const configPath = join(dir, 'b.yaml');
  const yaml = `tenant_id: test\nstorage: { path: ${JSON.stringify(storePath)} }\npipeline: { utc: true }\n`;
  const { writeFileSync } = await import('node:fs');
  writeFileSync(configPath, yaml);
  const loaded = await parseConfig(yaml, configPath);
  return {
    dir, storePath, configPath,
    options: scoringOptions(loaded.config),
    async ingest(envs) {
      const ing = openIngestion(loaded.config, silentLogger(), storePath);
      try {
        await ing.pipeline.submit({ connector: 'test', type: 'test' }, envs);
        if ('close' in ing && typeof (ing as { close?: unknown }).close === 'function') await (ing as unknown as { close(): Promise<void> }).close();
        else await ing.pipeline.close();
      } finally {
        ing.store.close();
      }
    },
    open: () => new SqliteStore(storePath),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** An envelope at `ts` from `host`. */
export const line = (ts: number, host: string, message: string, extra: Partial<RawEnvelope> = {}): RawEnvelope =>
  ({ messageRaw: message, messageFormat: 'message', timestamp: ts, host, service: extra.service ?? 'svc', ...extra });
