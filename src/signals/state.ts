// Failure/recovery detection on one event: which subject (a link, a tunnel, a unit, a
// LogicMonitor datapoint) it reports on and whether it says that subject failed or recovered.
// Pure and cheap: called per event by the writer thread as it folds events into the aggregates
// (an alert's state, which needs the event's metadata, by the batch codec on the parsing thread)
// to maintain the state_minutes aggregate.

export const FAIL = 1;
export const RECOVER = 2;
/** Restart chatter ("Scheduled restart job"): part of a subject's cycle, neither state. */
export const CYCLE = 3;
export type Polarity = typeof FAIL | typeof RECOVER | typeof CYCLE;

export interface StateChange {
  subject: string;
  polarity: Polarity;
}

const FAIL_WORDS = 'down|lost|stopped|stopping|disconnected|failed|failure|exited|crashed|unreachable|deleting|deleted|offline|dead|died|timed out|went away|aborted';
const RECOVER_WORDS = 'up|restored|started|connected|reconnected|recovered|reachable|established|online|running|back|re-established|resumed';
const CYCLE_WORDS = 'restart|restarting|respawning|respawn';
const STATE_RE = new RegExp(`\\b(${FAIL_WORDS}|${RECOVER_WORDS}|${CYCLE_WORDS})\\b`, 'i');
const FAIL_SET = new Set(FAIL_WORDS.split('|'));
const CYCLE_SET = new Set(CYCLE_WORDS.split('|'));
/** `STATE_A => STATE_B`: the state after the arrow is the one reached. */
const ARROW_RE = /\b\w+\s*(?:=>|->|→)\s*(\w+)/;
/** Words around a state word that say nothing about the subject. */
const FILLER_RE = /\b(main process|process|state change|state changed|changed state|state|status|is now|is|has been|was|went|scheduled|to|the|job|counter)\b|\.service\b/gi;
/** Variable parts: bracketed ids, addresses, standalone numbers. */
const VARIABLE_RE = /\[\d+\]|\b\d{1,3}(?:\.\d{1,3}){3}\b|\b0x[0-9a-f]+\b|\b\d+(?:\.\d+)*\b/gi;
/** A clause after the state word that still names the subject ("lost to db-1"). */
const OBJECT_RE = /^\s*(?:to|from|with peer|on|for)\s+([\w.-]+)/i;

function normalizeSubject(text: string): string {
  return text.replace(VARIABLE_RE, ' ').replace(FILLER_RE, ' ').toLowerCase().replace(/[^a-z0-9]+/g, '');
}

function polarityOf(word: string): Polarity {
  const w = word.toLowerCase();
  if (CYCLE_SET.has(w)) return CYCLE;
  return FAIL_SET.has(w) ? FAIL : RECOVER;
}

/**
 * The subject and polarity an event reports, or undefined when it states neither a failure nor
 * a recovery. LogicMonitor events are paired by their correlation keys (minus the alert id, which
 * changes every time a flapping alert is raised again) and `metadata.alert_state`.
 */
export function detectStateChange(
  message: string, metadata?: Record<string, unknown>, correlationKeys?: Record<string, string>,
): StateChange | undefined {
  return alertStateChange(metadata, correlationKeys) ?? textStateChange(message);
}

/** The state change of an alert (`metadata.alert_state` and correlation keys), else undefined. */
export function alertStateChange(metadata?: Record<string, unknown>, correlationKeys?: Record<string, string>): StateChange | undefined {
  const alertState = metadata?.alert_state;
  if (typeof alertState !== 'string' || !correlationKeys) return undefined;
  const keys = Object.keys(correlationKeys).filter((k) => k !== 'alert_id').sort();
  const used = keys.length > 0 ? keys : Object.keys(correlationKeys);
  if (used.length === 0) return undefined;
  return {
    subject: `lm:${used.map((k) => `${k}=${correlationKeys[k]}`).join(',')}`,
    polarity: alertState === 'cleared' ? RECOVER : FAIL,
  };
}

/** The state change a message's text states, else undefined. */
export function textStateChange(message: string): StateChange | undefined {
  const text = message.length > 300 ? message.slice(0, 300) : message;
  let word: string;
  let before: string;
  let after: string;
  // the arrow regex tries every word of the line: only run it when there is an arrow
  const arrow = text.includes('>') || text.includes('→') ? ARROW_RE.exec(text) : null;
  const arrowState = arrow && STATE_RE.exec(arrow[1]!);
  if (arrow && arrowState) {
    word = arrowState[1]!;
    before = text.slice(0, arrow.index);
    after = text.slice(arrow.index + arrow[0].length);
  } else {
    const m = STATE_RE.exec(text);
    if (!m) return undefined;
    word = m[1]!;
    before = text.slice(0, m.index);
    after = text.slice(m.index + word.length);
  }
  let subject = normalizeSubject(before);
  const object = OBJECT_RE.exec(after);
  if (object) subject += `>${normalizeSubject(object[1]!)}`;
  // "Started Payments API." names its subject after the state word
  if (subject === '' || subject.startsWith('>')) subject = normalizeSubject(after.split(/[,;:(]/, 1)[0]!);
  if (subject === '') return undefined;
  return { subject, polarity: polarityOf(word) };
}

/**
 * An event's state change: the one already detected on the parsing thread when present (null:
 * none), else detected now (events read back from the store).
 */
export function eventStateChange(e: {
  message: string; metadata?: Record<string, unknown>; correlationKeys?: Record<string, string>; stateChange?: StateChange | null;
}): StateChange | null {
  return e.stateChange !== undefined ? e.stateChange : detectStateChange(e.message, e.metadata, e.correlationKeys) ?? null;
}
