// Severity normalization (to syslog names) and event-family classification of a template.
// Both are pure; the family is decided once per signature from its template words.

export const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export type Severity = (typeof SEVERITIES)[number];

const ALIASES: Record<string, Severity> = {
  emerg: 'emerg', emergency: 'emerg', panic: 'emerg',
  alert: 'alert',
  crit: 'crit', critical: 'crit', fatal: 'crit',
  err: 'err', error: 'err', errors: 'err', severe: 'err',
  warning: 'warning', warn: 'warning',
  notice: 'notice',
  info: 'info', information: 'info', informational: 'info',
  debug: 'debug', trace: 'debug', verbose: 'debug',
};

/** Normalize a severity given as a name, an alias or 0–7; undefined when it is not recognizable. */
export function normalizeSeverity(value: string | number | undefined | null): Severity | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') return SEVERITIES[value] ?? undefined;
  const s = value.trim().toLowerCase();
  if (/^[0-7]$/.test(s)) return SEVERITIES[Number(s)];
  return ALIASES[s];
}

/** 0 (emerg) … 7 (debug); 6 (info) when unknown. */
export function severityRank(sev: string | undefined | null): number {
  const i = SEVERITIES.indexOf((sev ?? '') as Severity);
  return i < 0 ? 6 : i;
}

export type EventFamily =
  | 'failure' | 'auth' | 'service_lifecycle' | 'network' | 'resource' | 'security' | 'generic';

// Ordered: the first family whose words appear wins (auth before failure: "authentication failure").
const FAMILY_WORDS: Array<[EventFamily, RegExp]> = [
  ['auth', /\b(auth\w*|password|login|logon|logged|sudo|pam_unix|invalid user|publickey|session opened|session closed|credential\w*|unauthori[sz]ed|permission denied|su:)\b/i],
  ['resource', /\b(disk|filesystem|no space|quota|memory|oom|out of memory|swap|cpu|load average|inode\w*|i\/o error|throttl\w*|full)\b/i],
  ['network', /\b(link|tunnel|vpn|ipsec|interface|eth\d*|carrier|dns|connection|connect\w*|socket|timeout|timed out|unreachable|packet\w*|route|bgp|ospf|peer|port)\b/i],
  ['service_lifecycle', /\b(start\w*|stop\w*|restart\w*|reload\w*|shut\w*|boot\w*|exit\w*|terminat\w*|kill\w*|respawn\w*|spawn\w*|systemd|started|stopped|main process)\b/i],
  ['security', /\b(attack|denied|blocked|firewall|intrusion|malware|virus|breach|possible break-in)\b/i],
  ['failure', /\b(fail\w*|error\w*|fatal|exception|panic|crash\w*|abort\w*|corrupt\w*|segfault|traceback|refused|cannot|can't|unable)\b/i],
];

/** The event family of a template (masked message), from its words and the service name. */
export function classifyFamily(template: string, service?: string): EventFamily {
  const text = service ? `${service}: ${template}` : template;
  for (const [family, re] of FAMILY_WORDS) if (re.test(text)) return family;
  return 'generic';
}
