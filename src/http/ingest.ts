// HTTP ingest: the registry through which `type: http` connectors offer their `emit` to the
// HTTP server, and the pure parsing of a POST /v1/events body (JSON array or NDJSON) into
// envelopes. A request is all-or-nothing: one bad envelope rejects the whole body.
import type { RawEnvelope } from '../plugin/contract.js';
import { envelopeFromWire } from '../pipeline/event.js';

/** What an http connector hands the server: its name and its acknowledged emit. */
export interface IngestEndpoint {
  readonly connector: string;
  /** Resolves once the envelopes are committed (the connector's ctx.emit). */
  emit(envelopes: RawEnvelope[]): Promise<void>;
  /** Called after each accepted request (the connector counts requests for its gauges). */
  onAccepted?(events: number): void;
}

/**
 * Connectors of type `http` register here on start and leave on stop; the HTTP server looks
 * them up per request, so a connector restarted by a reload is picked up without the server
 * knowing about connectors at all.
 */
export class IngestRegistry {
  private readonly endpoints = new Map<string, IngestEndpoint>();

  register(endpoint: IngestEndpoint): () => void {
    this.endpoints.set(endpoint.connector, endpoint);
    return () => {
      // a restarted connector may already have registered its successor under the same name
      if (this.endpoints.get(endpoint.connector) === endpoint) this.endpoints.delete(endpoint.connector);
    };
  }

  get(connector: string): IngestEndpoint | undefined {
    return this.endpoints.get(connector);
  }

  names(): string[] {
    return [...this.endpoints.keys()].sort();
  }
}

/** The process-wide registry the built-in http plugin uses (one daemon per process). */
export const ingestRegistry = new IngestRegistry();

/** A body that is not a list of envelopes; `path` names the failing element and field. */
export class EnvelopeError extends Error {
  constructor(readonly code: 'INVALID_JSON' | 'INVALID_ENVELOPE', message: string, readonly path?: string) {
    super(message);
  }
}

function envelopeAt(value: unknown, where: string): RawEnvelope {
  try {
    return envelopeFromWire(value);
  } catch (err) {
    const msg = (err as Error).message;
    // envelopeFromWire says "<field>: <problem>" or "envelope: <problem>"
    const m = /^([A-Za-z_]+): (.*)$/.exec(msg);
    const field = m && m[1] !== 'envelope' ? m[1] : undefined;
    const path = field ? `${where}.${field}` : where;
    throw new EnvelopeError('INVALID_ENVELOPE', `${path}: ${m ? m[2] : msg}`, path);
  }
}

/**
 * Parse a body: a JSON array of envelopes, one JSON object, or NDJSON (one envelope per line,
 * blank lines ignored). Paths are `[3].message_raw` for arrays and `line 4.message_raw` for NDJSON.
 */
export function parseEnvelopes(body: string): RawEnvelope[] {
  const start = body.search(/\S/);
  if (start < 0) return [];
  if (body[start] === '[') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw new EnvelopeError('INVALID_JSON', `body is not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new EnvelopeError('INVALID_JSON', 'body: expected a JSON array or NDJSON');
    return parsed.map((v, i) => envelopeAt(v, `[${i}]`));
  }
  const out: RawEnvelope[] = [];
  let lineNo = 0;
  let from = 0;
  while (from <= body.length) {
    let to = body.indexOf('\n', from);
    if (to < 0) to = body.length;
    lineNo++;
    const line = body.slice(from, to).trim();
    from = to + 1;
    if (line.length === 0) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw new EnvelopeError('INVALID_JSON', `line ${lineNo}: not valid JSON: ${(err as Error).message}`, `line ${lineNo}`);
    }
    out.push(envelopeAt(parsed, `line ${lineNo}`));
  }
  return out;
}
