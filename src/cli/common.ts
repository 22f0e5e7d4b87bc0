// What every CLI command shares: option parsing, config loading, opening the store read-only,
// printing tables or JSON, and the one-line error convention.
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load.js';
import { SqliteStore } from '../store/sqlite.js';

/** An error the CLI prints as one line and exits with `exitCode`. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1, readonly code = 'CLI_ERROR') {
    super(message);
  }
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals?: boolean;
  run(args: ParsedArgs): Promise<number | void>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  configPath: string;
}

export const GLOBAL_OPTIONS = {
  config: { type: 'string', short: 'c' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const DEFAULT_CONFIG = 'config/brainstem.yaml';

export function parse(cmd: Command, argv: string[]): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: argv, options: { ...GLOBAL_OPTIONS, ...cmd.options }, allowPositionals: cmd.allowPositionals ?? false, strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals, configPath: (values.config as string | undefined) ?? DEFAULT_CONFIG };
  } catch (err) {
    throw new CliError(`${(err as Error).message.split('\n')[0]} (see brainstem ${cmd.name} --help)`, 2, 'USAGE');
  }
}

export async function loadConfigOrExit(path: string): Promise<LoadedConfig> {
  try {
    return await loadConfig(path);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 1, err.code);
    throw err;
  }
}

/** Open the configured store read-only (works while a daemon writes to it: WAL readers). */
export function openStoreReadonly(loaded: LoadedConfig): SqliteStore {
  try {
    return new SqliteStore(resolve(loaded.config.storage.path), { readonly: true });
  } catch (err) {
    throw new CliError((err as Error).message, 1, 'STORE');
  }
}

export function intOption(v: unknown, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} expects a whole number ≥ 0, got ${JSON.stringify(v)}`, 2, 'USAGE');
  return n;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain fixed-width table. */
export function printTable(headers: string[], rows: Array<Array<string | number | null | undefined>>): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
  const widths = headers.map((h, i) => Math.min(80, Math.max(h.length, ...cells.map((r) => r[i]!.length))));
  const fmt = (r: string[]) => r.map((c, i) => (c.length > widths[i]! ? `${c.slice(0, widths[i]! - 1)}…` : c.padEnd(widths[i]!))).join('  ').trimEnd();
  process.stdout.write(`${[fmt(headers), fmt(widths.map((w) => '-'.repeat(w))), ...cells.map(fmt)].join('\n')}\n`);
}

export const iso = (ms: number | null | undefined): string => (ms ? new Date(ms).toISOString() : '');
