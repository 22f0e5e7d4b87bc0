// What a config reload changes, decided from the old and new config alone (pure): which
// connectors stop, restart, start or keep running, and which settings need a process restart.
import type { LoadedConfig, ResolvedConnector } from '../config/load.js';

export interface ReloadPlan {
  stop: string[];
  restart: string[];
  start: string[];
  keep: string[];
}

/** JSON with object keys sorted, so reordering keys in the YAML is not a change. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A connector is the same when its whole YAML block (validated options included) and plugin are. */
const identity = (rc: ResolvedConnector): string =>
  canonicalJson({ config: rc.config, options: rc.options, plugin: rc.plugin.type });

export function connectorsToRestart(before: readonly ResolvedConnector[], after: readonly ResolvedConnector[]): ReloadPlan {
  const old = new Map(before.map((rc) => [rc.config.name, rc]));
  const plan: ReloadPlan = { stop: [], restart: [], start: [], keep: [] };
  for (const rc of after) {
    const prev = old.get(rc.config.name);
    if (!prev) plan.start.push(rc.config.name);
    else if (identity(prev) !== identity(rc) || prev.plugin !== rc.plugin) plan.restart.push(rc.config.name);
    else plan.keep.push(rc.config.name);
  }
  const names = new Set(after.map((rc) => rc.config.name));
  for (const rc of before) if (!names.has(rc.config.name)) plan.stop.push(rc.config.name);
  return plan;
}

/** Settings the running process cannot change in place (the store and pipeline are built once). */
export function nonReloadableChanges(before: LoadedConfig['config'], after: LoadedConfig['config']): string[] {
  const keys: string[] = [];
  if (before.storage.path !== after.storage.path) keys.push('storage.path');
  if (before.tenant_id !== after.tenant_id) keys.push('tenant_id');
  if (canonicalJson(before.pipeline) !== canonicalJson(after.pipeline)) keys.push('pipeline');
  if (canonicalJson(before.miner) !== canonicalJson(after.miner)) keys.push('miner');
  return keys;
}
