// `brainstem ingest`: one-shot, files or stdin through the same pipeline into the configured store.
import { createReadStream } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { LoadedConfig } from '../../config/load.js';
import { silentLogger } from '../../log/logger.js';
import { openIngestion } from '../../daemon/daemon.js';
import { envelopeFromWire } from '../../pipeline/event.js';
import { WRITES_IN_FLIGHT } from '../../pipeline/pipeline.js';
import type { RawEnvelope } from '../../plugin/contract.js';
import { CliError, loadConfigOrExit, printJson, type Command } from '../common.js';

export type SourceFormat = 'syslog' | 'plain' | 'json';

export interface IngestOptions {
  format: SourceFormat;
  host?: string;
  service?: string;
  storePath?: string;
}

export interface IngestSummary {
  files: number;
  lines_read: number;
  events_stored: number;
  parse_errors: number;
  new_signatures: number;
  signatures_total: number;
  seconds: number;
}

const BATCH = 1000;

/** Split a stream into lines (the last one without a newline included), in chunks of lines. */
async function* lineChunks(stream: Readable): AsyncGenerator<string[]> {
  let rest = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = rest + chunk;
    const lines = text.split('\n');
    rest = lines.pop()!;
    if (lines.length > 0) yield lines;
  }
  if (rest.length > 0) yield [rest];
}

export async function ingestSources(loaded: LoadedConfig, sources: string[], opts: IngestOptions): Promise<IngestSummary> {
  const t0 = performance.now();
  const ingestion = openIngestion(loaded.config, silentLogger(), opts.storePath);
  const { store, pipeline } = ingestion;
  const sigBefore = store.totals().signatures;
  const source = { connector: 'ingest', type: opts.format === 'json' ? 'json' : 'file' };
  let linesRead = 0;
  // Emits handed to the pipeline before waiting for the oldest to commit: enough for its batches
  // in flight to the writer and two more batches of lines, so that parsing goes on while the
  // writer thread applies the aggregates. Not more: lines read ahead wait long enough to reach the
  // old generation, and each one is then garbage for a major GC (RSS).
  const { batch_size: batchSize, queue_capacity: capacity } = loaded.config.pipeline;
  const window = Math.ceil(Math.min((WRITES_IN_FLIGHT + 2) * batchSize, WRITES_IN_FLIGHT * batchSize + capacity) / BATCH);
  const inFlight: Promise<void>[] = [];
  const submit = async (batch: RawEnvelope[]) => {
    inFlight.push(pipeline.submit(source, batch));
    if (inFlight.length >= window) await inFlight.shift();
  };
  try {
    for (const src of sources) {
      const stream = src === '-' ? process.stdin : createReadStream(src, { highWaterMark: 1 << 20 });
      const sourcePath = src === '-' ? undefined : resolve(src);
      let batch: RawEnvelope[] = [];
      let lineNo = 0;
      try {
        for await (const lines of lineChunks(stream)) {
          for (let line of lines) {
            lineNo++;
            if (line.endsWith('\r')) line = line.slice(0, -1);
            if (line.length === 0) continue;
            linesRead++;
            batch.push(toEnvelope(line, opts, sourcePath, lineNo));
            if (batch.length >= BATCH) { await submit(batch); batch = []; }
          }
        }
      } catch (err) {
        throw new CliError(`cannot read ${src}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      if (batch.length > 0) await submit(batch);
    }
    await Promise.all(inFlight);
    await ingestion.close();
    const totals = store.totals();
    return {
      files: sources.length, lines_read: linesRead, events_stored: pipeline.counters.stored,
      parse_errors: pipeline.counters.parseErrors, new_signatures: totals.signatures - sigBefore,
      signatures_total: totals.signatures, seconds: Math.round((performance.now() - t0) / 10) / 100,
    };
  } finally {
    store.close();
  }
}

function toEnvelope(line: string, opts: IngestOptions, sourcePath: string | undefined, lineNo: number): RawEnvelope {
  if (opts.format === 'json') {
    try {
      const env = envelopeFromWire(JSON.parse(line));
      env.host ??= opts.host;
      env.service ??= opts.service;
      env.sourcePath ??= sourcePath;
      return env;
    } catch (err) {
      return { messageRaw: line, sourcePath, host: opts.host, service: opts.service, messageFormat: 'message', parseError: `line ${lineNo}: ${(err as Error).message}` };
    }
  }
  return {
    messageRaw: line, sourcePath, host: opts.host, service: opts.service,
    messageFormat: opts.format === 'syslog' ? 'syslog' : 'message',
  };
}

export const ingestCommand: Command = {
  name: 'ingest',
  summary: 'read files (or - for stdin) once through the pipeline into the store',
  usage: 'brainstem ingest [--source-type syslog|plain|json] [--host H] [--service S] [--json] FILE... | -',
  allowPositionals: true,
  options: {
    'source-type': { type: 'string' }, host: { type: 'string' }, service: { type: 'string' }, json: { type: 'boolean' },
  },
  async run({ values, positionals, configPath }) {
    if (positionals.length === 0) throw new CliError('ingest needs at least one FILE or - for stdin', 2, 'USAGE');
    const format = (values['source-type'] as string | undefined) ?? 'syslog';
    if (!['syslog', 'plain', 'json'].includes(format)) throw new CliError(`--source-type must be syslog, plain or json, got "${format}"`, 2, 'USAGE');
    const loaded = await loadConfigOrExit(configPath);
    const summary = await ingestSources(loaded, positionals, {
      format: format as SourceFormat, host: values.host as string | undefined, service: values.service as string | undefined,
    });
    if (values.json) printJson(summary);
    else {
      process.stdout.write(`ingested ${positionals.map((p) => basename(p)).join(', ')}: ${summary.lines_read} lines read, `
        + `${summary.events_stored} events stored, ${summary.parse_errors} parse errors, ${summary.new_signatures} new signatures `
        + `(${summary.signatures_total} total) in ${summary.seconds}s\n`);
    }
  },
};
