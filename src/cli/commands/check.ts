// `brainstem check`: can each connector reach what it reads (its plugin's `check()`), can each
// receiver be reached, and is the store usable — one table (or --json); exit 1 when any fails.
// Nothing is sent to receivers: a HEAD request shows the host answers.
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { request } from 'undici';
import type { LoadedConfig } from '../../config/load.js';
import type { ReceiverConfig } from '../../config/schema.js';
import { SupervisedConnector } from '../../daemon/supervisor.js';
import { silentLogger } from '../../log/logger.js';
import { Fingerprinter } from '../../pipeline/fingerprint.js';
import { TemplateMiner } from '../../pipeline/miner.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { SqliteStore } from '../../store/sqlite.js';
import { intOption, loadConfigOrExit, printJson, printTable, type Command } from '../common.js';

export interface CheckRow {
  kind: 'store' | 'connector' | 'receiver';
  name: string;
  type: string;
  ok: boolean;
  detail: string;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000}s`)), ms); }),
  ]);
}

/** scheme://host only: webhook paths carry secrets. */
const origin = (url: string): string => {
  try {
    return new URL(url).origin;
  } catch {
    return '[invalid url]';
  }
};

export async function checkReceiver(r: ReceiverConfig, timeoutMs: number): Promise<CheckRow> {
  const row = { kind: 'receiver' as const, name: r.name, type: r.type };
  if (r.type === 'stdout') return { ...row, ok: true, detail: 'writes to standard output' };
  try {
    const res = await request(r.url, { method: 'HEAD', headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    await res.body.dump();
    // any answer below 500 shows the host is there; endpoints that take only POST say 400/404/405
    const ok = res.statusCode < 500;
    return { ...row, ok, detail: `${origin(r.url)} answered HTTP ${res.statusCode}${ok ? ' (reachable; nothing sent)' : ''}` };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    return { ...row, ok: false, detail: `${origin(r.url)}: ${e.cause?.code ?? e.code ?? e.message}` };
  }
}

function checkStore(loaded: LoadedConfig): { row: CheckRow; store: SqliteStore } {
  const path = resolve(loaded.config.storage.path);
  const row = { kind: 'store' as const, name: 'storage', type: 'sqlite' };
  if (!existsSync(path)) {
    let dir = dirname(path);
    while (!existsSync(dir)) dir = dirname(dir);
    try {
      accessSync(dir, constants.W_OK);
      return { row: { ...row, ok: true, detail: `${path} will be created` }, store: new SqliteStore(':memory:') };
    } catch {
      return { row: { ...row, ok: false, detail: `cannot create ${path}: ${dir} is not writable` }, store: new SqliteStore(':memory:') };
    }
  }
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    const store = new SqliteStore(path, { readonly: true });
    return { row: { ...row, ok: true, detail: `${path} (schema version ${store.schemaVersion})` }, store };
  } catch (err) {
    return { row: { ...row, ok: false, detail: `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }, store: new SqliteStore(':memory:') };
  }
}

export async function runChecks(loaded: LoadedConfig, timeoutMs: number): Promise<CheckRow[]> {
  const { row: storeRow, store } = checkStore(loaded);
  const logger = silentLogger();
  // connectors are created (not started) with a context whose emit cannot write: check() must not ingest
  const pipeline = new Pipeline({ write: async () => { throw new Error('brainstem check does not store events'); } },
    new Fingerprinter(new TemplateMiner()), logger, { tenantId: loaded.config.tenant_id });
  const dataDir = resolve(dirname(resolve(loaded.config.storage.path)), 'connectors');
  try {
    const connectorRows = await Promise.all(loaded.connectors.map(async (rc): Promise<CheckRow> => {
      const row = { kind: 'connector' as const, name: rc.config.name, type: rc.config.type };
      try {
        const sc = new SupervisedConnector(rc, pipeline, store, logger, loaded.config.tenant_id, { dataDir });
        if (rc.config.type === 'http' && !loaded.config.api.enabled) {
          return { ...row, ok: false, detail: 'api.enabled is false, so POST /v1/events is not served' };
        }
        const r = await withTimeout(sc.check(), timeoutMs, `connector ${rc.config.name}`);
        return { ...row, ok: r.ok, detail: r.detail };
      } catch (err) {
        return { ...row, ok: false, detail: (err as Error).message };
      }
    }));
    const receiverRows = await Promise.all(loaded.config.receivers.map((r) => checkReceiver(r, timeoutMs)));
    return [storeRow, ...connectorRows, ...receiverRows];
  } finally {
    store.close();
  }
}

export const checkCommand: Command = {
  name: 'check',
  summary: "check the store, each connector (its plugin's check) and each receiver's reachability",
  usage: 'brainstem check [--timeout SECONDS] [--json]',
  options: { timeout: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, configPath }) {
    const loaded = await loadConfigOrExit(configPath);
    const rows = await runChecks(loaded, intOption(values.timeout, 'timeout', 10) * 1000);
    if (values.json) printJson(rows);
    else printTable(['kind', 'name', 'type', 'result', 'detail'], rows.map((r) => [r.kind, r.name, r.type, r.ok ? 'ok' : 'FAIL', r.detail]));
    return rows.every((r) => r.ok) ? 0 : 1;
  },
};
