// Config loading: YAML (with line numbers kept), `${VAR}` / `${VAR:-default}` interpolation of
// string values, `<key>_file` secrets, validation of the core schema and of each connector's
// plugin schema. Every problem becomes one line: `brainstem.yaml:14 connectors[1].port: …`.
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import type { ConnectorPlugin } from '../plugin/contract.js';
import { PluginRegistry } from '../plugin/registry.js';
import { configSchema, type Config, type ConnectorConfig } from './schema.js';

export interface ConfigIssue {
  file: string;
  line?: number;
  path: string;
  message: string;
}

export const formatIssue = (i: ConfigIssue): string =>
  `${basename(i.file)}${i.line ? `:${i.line}` : ''} ${i.path ? `${i.path}: ` : ''}${i.message}`;

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

/** A connector ready to be created: its base config, validated options and plugin. */
export interface ResolvedConnector {
  config: ConnectorConfig;
  options: unknown;
  plugin: ConnectorPlugin;
}

export interface LoadedConfig {
  file: string;
  config: Config;
  connectors: ResolvedConnector[];
}

type PathSeg = string | number;

export const formatPath = (path: readonly PathSeg[]): string =>
  path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : String(p)), '');

const RE_VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replace `${VAR}` and `${VAR:-default}` in every string value; `$${` stays a literal `${`. */
export function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: PathSeg[], issues: Array<{ path: PathSeg[]; message: string }>): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const parts = value.split('$${');
    return parts.map((part) => part.replace(RE_VAR, (_m, name: string, def: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (def !== undefined) return def;
      issues.push({ path, message: `environment variable ${name} is not set (use \${${name}:-default} for a default)` });
      return '';
    })).join('${');
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, i], issues));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, [...path, k], issues);
    return out;
  }
  return value;
}

/** Replace every `<key>_file: path` by `<key>: <file content>` (trailing newline removed). */
export function resolveSecretFiles(value: unknown, baseDir: string, path: PathSeg[], issues: Array<{ path: PathSeg[]; message: string }>): unknown {
  if (Array.isArray(value)) return value.map((v, i) => resolveSecretFiles(v, baseDir, [...path, i], issues));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.endsWith('_file') && k.length > 5 && typeof v === 'string') {
      const key = k.slice(0, -5);
      if (key in (value as object)) {
        issues.push({ path: [...path, k], message: `give either ${key} or ${k}, not both` });
        continue;
      }
      try {
        out[key] = readFileSync(resolve(baseDir, v), 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        issues.push({ path: [...path, k], message: `cannot read secret file ${v}: ${(err as NodeJS.ErrnoException).code ?? err}` });
      }
    } else {
      out[k] = resolveSecretFiles(v, baseDir, [...path, k], issues);
    }
  }
  return out;
}

/** The line of the YAML node at `path` (or of its nearest existing parent). */
function lineOf(doc: Document, lc: LineCounter, path: PathSeg[], key?: string): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (n === path.length && key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      const r = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
      if (r) return lc.linePos(r[0]).line;
    }
    if (node?.range) return lc.linePos(node.range[0]).line;
    if (n === 0 && doc.contents?.range) return lc.linePos(doc.contents.range[0]).line;
  }
  return undefined;
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

export function didYouMean(key: string, known: string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = levenshtein(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) { best = k; bestD = d; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

/** Keys an object schema accepts at `path`, looking through defaults, optionals, arrays and unions. */
function knownKeys(schema: z.ZodType, path: PathSeg[]): string[] {
  let nodes: any[] = [schema];
  const unwrap = (s: any): any[] => {
    const def = s?._zod?.def;
    if (!def) return [];
    if (def.type === 'object') return [s];
    if (def.innerType) return unwrap(def.innerType);
    if (def.type === 'pipe') return unwrap(def.in);
    if (def.type === 'union') return def.options.flatMap(unwrap);
    return [s];
  };
  nodes = nodes.flatMap(unwrap);
  for (const seg of path) {
    nodes = nodes.flatMap((n) => {
      const def = n._zod.def;
      if (typeof seg === 'number') return def.type === 'array' ? unwrap(def.element) : [];
      return def.type === 'object' && def.shape[seg] ? unwrap(def.shape[seg]) : [];
    });
  }
  return [...new Set(nodes.flatMap((n) => (n._zod.def.type === 'object' ? Object.keys(n._zod.def.shape) : [])))];
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** One readable message for a zod issue: what was expected and what was found. */
function issueMessage(issue: z.core.$ZodIssue, schema: z.ZodType, relPath: PathSeg[]): string {
  const got = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schema, relPath);
      return issue.keys.map((k) => `unknown key "${k}"${didYouMean(k, known)}`).join('; ');
    }
    case 'invalid_type':
      return `expected ${issue.expected}, got ${describeValue(got)}`;
    case 'too_big':
      return `expected ${issue.origin === 'int' || issue.origin === 'number' ? 'a number' : issue.origin} ${issue.inclusive === false ? '<' : '≤'} ${issue.maximum}, got ${issue.origin === 'string' || issue.origin === 'array' ? `length ${(got as { length?: number })?.length}` : describeValue(got)}`;
    case 'too_small':
      return `expected ${issue.origin === 'int' || issue.origin === 'number' ? 'a number' : issue.origin} ${issue.inclusive === false ? '>' : '≥'} ${issue.minimum}, got ${issue.origin === 'string' || issue.origin === 'array' ? `length ${(got as { length?: number })?.length}` : describeValue(got)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(got)}`;
    case 'invalid_union':
      return `${issue.message}${got !== undefined ? `, got ${describeValue(got)}` : ''}`;
    default:
      return `${issue.message}${got !== undefined && issue.code !== 'custom' ? `, got ${describeValue(got)}` : ''}`;
  }
}

function zodIssues(err: z.ZodError, schema: z.ZodType, prefix: PathSeg[], file: string, doc: Document, lc: LineCounter): ConfigIssue[] {
  return err.issues.map((issue) => {
    const rel = issue.path as PathSeg[];
    const full = [...prefix, ...rel];
    const key = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    return { file, line: lineOf(doc, lc, full, key), path: formatPath(full), message: issueMessage(issue, schema, rel) };
  });
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/;

/** Split `host:port` (IPv6 in brackets). */
export function parseListen(listen: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  if (!m) return undefined;
  const port = Number(m[3]);
  return port <= 65535 ? { host: m[1] ?? m[2]!, port } : undefined;
}

export const isLoopback = (host: string): boolean => LOOPBACK.test(host);

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  registry?: PluginRegistry;
}

/** Parse and validate config text (the file name is used for messages and relative paths). */
export async function parseConfig(text: string, file: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  const registry = opts.registry ?? new PluginRegistry();
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => ({ file, line: lc.linePos(e.pos[0]).line, path: '', message: `YAML: ${e.message.split('\n')[0]}` })));
  }
  const raw0 = doc.toJS() ?? {};
  const pre: Array<{ path: PathSeg[]; message: string }> = [];
  const raw1 = interpolate(raw0, env, [], pre);
  const raw = resolveSecretFiles(raw1, dirname(resolve(file)), [], pre);
  const issues: ConfigIssue[] = pre.map((p) => ({ file, line: lineOf(doc, lc, p.path), path: formatPath(p.path), message: p.message }));
  // A missing variable or secret would only cause follow-on errors in validation: report it alone.
  if (issues.length > 0) throw new ConfigError(issues);

  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) issues.push(...zodIssues(parsed.error, configSchema, [], file, doc, lc));
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  const config = parsed.data;

  const connectors: ResolvedConnector[] = [];
  const names = new Set<string>();
  const rawConnectors = ((raw as Record<string, unknown>).connectors ?? []) as Array<Record<string, unknown>>;
  for (let i = 0; i < config.connectors.length; i++) {
    const c = config.connectors[i] as ConnectorConfig;
    const at = (sub: PathSeg[] = []) => lineOf(doc, lc, ['connectors', i, ...sub]);
    if (names.has(c.name)) issues.push({ file, line: at(['name']), path: `connectors[${i}].name`, message: `duplicate connector name "${c.name}"` });
    names.add(c.name);
    let plugin: ConnectorPlugin;
    try {
      plugin = await registry.resolve(c.type, c.plugin, dirname(resolve(file)));
    } catch (err) {
      issues.push({ file, line: at([c.plugin ? 'plugin' : 'type']), path: `connectors[${i}].${c.plugin ? 'plugin' : 'type'}`, message: (err as Error).message });
      continue;
    }
    const { name: _n, type: _t, plugin: _p, enabled: _e, ...options } = rawConnectors[i] ?? {};
    const res = plugin.schema.safeParse(options, { reportInput: true });
    if (!res.success) issues.push(...zodIssues(res.error, plugin.schema, ['connectors', i], file, doc, lc));
    else if (c.enabled) connectors.push({ config: c, options: res.data, plugin });
  }

  const receivers = new Set<string>();
  config.receivers.forEach((r, i) => {
    if (receivers.has(r.name)) issues.push({ file, line: lineOf(doc, lc, ['receivers', i, 'name']), path: `receivers[${i}].name`, message: `duplicate receiver name "${r.name}"` });
    receivers.add(r.name);
  });
  config.digests.forEach((d, i) => {
    d.receivers.forEach((r, j) => {
      if (!receivers.has(r)) {
        issues.push({ file, line: lineOf(doc, lc, ['digests', i, 'receivers', j]), path: `digests[${i}].receivers[${j}]`, message: `no receiver named "${r}"${didYouMean(r, [...receivers])}` });
      }
    });
  });
  if (config.api.enabled) {
    const l = parseListen(config.api.listen);
    if (!l) issues.push({ file, line: lineOf(doc, lc, ['api', 'listen']), path: 'api.listen', message: `expected host:port with port 0–65535, got ${JSON.stringify(config.api.listen)}` });
    else if (!isLoopback(l.host) && !config.api.token) {
      issues.push({ file, line: lineOf(doc, lc, ['api', 'listen']), path: 'api.token', message: `required when api.listen is not a loopback address (${config.api.listen}); set api.token or api.token_file` });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { file, config, connectors };
}

/** Read, parse and validate a config file. */
export async function loadConfig(file: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, path: '', message: `cannot read config: ${(err as NodeJS.ErrnoException).code ?? err}` }]);
  }
  return parseConfig(text, file, opts);
}
