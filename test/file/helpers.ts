// Test helpers for the file connector: a fake ConnectorContext whose emit records batches and
// checkpoints (optionally held back to simulate a slow store), and small file utilities.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Checkpoint, ConnectorContext, RawEnvelope } from '../../src/plugin/contract.js';
import { silentLogger } from '../../src/log/logger.js';
import { fileOptionsSchema, type FileOptions } from '../../plugins/file/options.js';
import { FileTailer } from '../../plugins/file/tailer.js';

const made: string[] = [];

export function tmpDir(prefix = 'bs-file-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Remove the directories tmpDir() made (call after the daemons and tailers using them stopped). */
export function removeTmpDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface FakeCtx extends ConnectorContext {
  /** Committed lines, in order. */
  lines: string[];
  envelopes: RawEnvelope[];
  /** Last committed checkpoint. */
  committed: Checkpoint | undefined;
  errors: string[];
  gauges: Record<string, number>;
  /** When set, emits wait for `release()` before committing. */
  hold: boolean;
  /** When false, committed lines are only counted (`count`), not kept. */
  keep: boolean;
  count: number;
  /** Emitted but not yet committed: bytes of message text, and the most ever outstanding. */
  outstandingBytes: number;
  maxOutstandingBytes: number;
  /** When set, every emit commits after this many ms (a slow store). */
  delayMs: number;
  held: Array<() => void>;
  release(): void;
  abort(): void;
}

export function fakeCtx(checkpoint?: Checkpoint): FakeCtx {
  const ac = new AbortController();
  const ctx: FakeCtx = {
    name: 'files', tenantId: 't', logger: silentLogger(), dataDir: os.tmpdir(),
    checkpoint, signal: ac.signal,
    lines: [], envelopes: [], committed: checkpoint, errors: [], gauges: {}, hold: false, held: [],
    keep: true, count: 0, outstandingBytes: 0, maxOutstandingBytes: 0, delayMs: 0,
    metrics: { dropped: () => {}, gauge: (n, v) => { ctx.gauges[n] = v; } },
    emit(envelopes, cp) {
      let bytes = 0;
      for (const e of envelopes) bytes += e.messageRaw.length;
      ctx.outstandingBytes += bytes;
      ctx.maxOutstandingBytes = Math.max(ctx.maxOutstandingBytes, ctx.outstandingBytes);
      const commit = () => {
        ctx.outstandingBytes -= bytes;
        ctx.count += envelopes.length;
        if (ctx.keep) {
          for (const e of envelopes) {
            ctx.envelopes.push(e);
            ctx.lines.push(e.messageRaw);
          }
        }
        ctx.committed = structuredClone(cp);
      };
      if (ctx.delayMs > 0) return new Promise<void>((resolve) => setTimeout(() => { commit(); resolve(); }, ctx.delayMs));
      if (!ctx.hold) {
        commit();
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => ctx.held.push(() => { commit(); resolve(); }));
    },
    reportError: (m) => { ctx.errors.push(m); },
    clearError: () => { ctx.errors.push(''); },
    release() {
      for (const r of ctx.held.splice(0)) r();
    },
    abort: () => ac.abort(),
  };
  return ctx;
}

export function options(o: Record<string, unknown>): FileOptions {
  return fileOptionsSchema.parse({ scan_interval_ms: 50, rotate_wait_ms: 200, partial_line_timeout_ms: 300, ...o });
}

export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function numbered(prefix: string, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `${prefix} ${i}\n`;
  return s;
}

export function range(prefix: string, from: number, to: number): string[] {
  const a: string[] = [];
  for (let i = from; i < to; i++) a.push(`${prefix} ${i}`);
  return a;
}

/** Start a tailer on a fake context; returns both. */
export async function startTailer(opts: Record<string, unknown>, checkpoint?: Checkpoint, setup?: (ctx: FakeCtx) => void, now?: () => number): Promise<{ tailer: FileTailer; ctx: FakeCtx }> {
  const ctx = fakeCtx(checkpoint);
  setup?.(ctx);
  const tailer = new FileTailer(options(opts), ctx, now);
  await tailer.start();
  return { tailer, ctx };
}

/** Multiset difference report: lines missing and lines repeated. */
export function exactlyOnce(got: string[], want: string[]): { missing: string[]; duplicated: string[]; unexpected: string[] } {
  const counts = new Map<string, number>();
  for (const g of got) counts.set(g, (counts.get(g) ?? 0) + 1);
  const missing: string[] = [];
  const duplicated: string[] = [];
  const wanted = new Set(want);
  for (const w of want) {
    const c = counts.get(w) ?? 0;
    if (c === 0) missing.push(w);
    if (c > 1) duplicated.push(w);
  }
  const unexpected = [...counts.keys()].filter((k) => !wanted.has(k));
  return { missing: missing.slice(0, 20), duplicated: duplicated.slice(0, 20), unexpected: unexpected.slice(0, 20) };
}
