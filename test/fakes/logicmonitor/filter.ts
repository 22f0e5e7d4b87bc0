// LogicMonitor REST filter expressions (spec §3.2) for the fake: `field OP value` clauses,
// `,` = AND, `||` = OR of whole clauses, `|` = OR of values inside a clause, `*` wildcards.
// Written from the spec, independently of the client, so client bugs show up as mismatches.

export type Op = ':' | '!:' | '>' | '<' | '>:' | '<:' | '~' | '!~';

export interface Clause {
  field: string;
  op: Op;
  /** Alternatives joined by `|`; quotes removed. */
  values: string[];
  /** One test per value, compiled once per request rather than once per alert. */
  tests: Array<(actual: unknown) => boolean>;
}

/** Outer array: OR of groups; inner array: AND of clauses. */
export type Filter = Clause[][];

export class FilterSyntaxError extends Error {}

// Longest operators first so `>:` is not read as `>` followed by `:value`.
const OPS: Op[] = ['>:', '<:', '!:', '!~', ':', '>', '<', '~'];

/** Fields the fake accepts in filters: the documented filterable alert fields plus epochs. */
export const FILTERABLE_FIELDS = new Set([
  'id', 'type', 'acked', 'rule', 'chain', 'severity', 'cleared', 'sdted', 'monitorObjectName',
  'monitorObjectGroups', 'resourceTemplateName', 'instanceName', 'dataPointName', 'startEpoch', 'endEpoch',
  'internalId', 'monitorObjectType', '_all',
]);

/** Split on a separator that is outside double quotes. */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const parts: string[] = [];
  let inQuotes = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && text.startsWith(sep, i)) {
      parts.push(text.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  if (inQuotes) throw new FilterSyntaxError(`unterminated quote in filter: ${text}`);
  parts.push(text.slice(start));
  return parts;
}

function parseValue(raw: string): string {
  const v = raw.trim();
  if (v.startsWith('"')) {
    if (!v.endsWith('"') || v.length < 2) throw new FilterSyntaxError(`bad quoted value: ${raw}`);
    return v.slice(1, -1);
  }
  if (v === '' || /["\s]/.test(v)) throw new FilterSyntaxError(`bad value: ${raw}`);
  return v;
}

function parseClause(text: string): Clause {
  const m = /^([A-Za-z_][A-Za-z0-9_.]*)/.exec(text.trim());
  if (!m) throw new FilterSyntaxError(`bad clause: ${text}`);
  const field = m[1]!;
  const rest = text.trim().slice(field.length);
  const op = OPS.find((o) => rest.startsWith(o));
  if (!op) throw new FilterSyntaxError(`no operator in clause: ${text}`);
  if (!FILTERABLE_FIELDS.has(field)) throw new FilterSyntaxError(`unknown filter field: ${field}`);
  const values = splitOutsideQuotes(rest.slice(op.length), '|').map(parseValue);
  return { field, op, values, tests: values.map((v) => compileTest(op, v)) };
}

export function parseFilter(text: string): Filter {
  if (text.trim() === '') return [];
  return splitOutsideQuotes(text, '||').map((group) => splitOutsideQuotes(group, ',').map(parseClause));
}

function wildcardToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

function asText(actual: unknown): string {
  if (actual === undefined || actual === null) return '';
  return typeof actual === 'object' ? JSON.stringify(actual) : String(actual);
}

function compileTest(op: Op, expected: string): (actual: unknown) => boolean {
  if (op === '>' || op === '<' || op === '>:' || op === '<:') {
    const e = Number(expected);
    if (!Number.isFinite(e)) throw new FilterSyntaxError(`not a number: ${expected}`);
    if (op === '>') return (a) => Number(a) > e;
    if (op === '<') return (a) => Number(a) < e;
    if (op === '>:') return (a) => Number(a) >= e;
    return (a) => Number(a) <= e;
  }
  if (op === '~' || op === '!~') {
    const needle = expected.replace(/\*/g, '').toLowerCase();
    return op === '~' ? (a) => asText(a).toLowerCase().includes(needle) : (a) => !asText(a).toLowerCase().includes(needle);
  }
  if (expected === '*') return op === ':' ? () => true : () => false;
  const re = wildcardToRegExp(expected);
  return op === ':' ? (a) => re.test(asText(a)) : (a) => !re.test(asText(a));
}

function clauseMatches(alert: Record<string, unknown>, c: Clause): boolean {
  if (c.field === '_all') {
    return c.tests.some((t) => Object.values(alert).some(t));
  }
  const actual = alert[c.field];
  // `!:`/`!~` with several values must differ from all of them; the others match any.
  if (c.op === '!:' || c.op === '!~') return c.tests.every((t) => t(actual));
  return c.tests.some((t) => t(actual));
}

/** True when the alert passes the filter. An empty filter passes everything. */
export function matchesFilter(alert: Record<string, unknown>, filter: Filter): boolean {
  if (filter.length === 0) return true;
  return filter.some((group) => group.every((c) => clauseMatches(alert, c)));
}

/** True when any clause of the filter names `field` (used for the active-only default on `cleared`). */
export function filterMentions(filter: Filter, field: string): boolean {
  return filter.some((group) => group.some((c) => c.field === field));
}
