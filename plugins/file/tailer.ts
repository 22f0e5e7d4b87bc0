// The tail engine: one loop over all tracked files that reads what is new, cuts it into
// lines, emits batches with the checkpoint that is true once they are stored, and awaits
// the emits (backpressure). chokidar events only wake the loop; a periodic rescan and stat
// is the safety net, and the place where rotation, truncation and deletion are noticed.
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { ConnectorContext, RawEnvelope } from '../../src/plugin/contract.js';
import { toEnvelope, type EnvelopeOptions } from './envelope.js';
import {
  fingerprintFd, fingerprintMatches, identityKey, parseCheckpoint,
  type FileCheckpoint, type FileCheckpointEntry,
} from './identity.js';
import { LineSplitter, MultilineJoiner, type LineEvent } from './lines.js';
import type { FileOptions } from './options.js';
import { PathMatcher } from './paths.js';

const READ_CHUNK = 64 * 1024;
/** An emit is cut at whichever comes first. */
const BATCH_LINES = 1000;
const BATCH_BYTES = 1024 * 1024;
/**
 * Emits awaiting commit before reading pauses: enough for the pipeline to parse one batch while
 * the writer thread commits the previous one (as `brainstem ingest` does), and still bounded
 * (at most 16 × 1 MiB of lines held).
 */
export const MAX_IN_FLIGHT = 16;
/** Requested rescans (file created/removed) are coalesced to at most one per this many ms. */
const MIN_RESCAN_MS = 50;
/** Renamed/deleted files are not in the watched set: stat them this often while they drain. */
const ORPHAN_STAT_MS = 200;
/**
 * chokidar drops a file's change events that follow the previous one within 50 ms, so a file
 * that had data within HOT_MS is also stat-polled every HOT_STAT_MS: a busy log never waits for
 * the rescan.
 */
const HOT_MS = 2000;
const HOT_STAT_MS = 60;

interface TrackedFile {
  key: string;
  dev: number;
  ino: number;
  /** Last known path. */
  path: string;
  fp: string;
  fpLen: number;
  fd: number | undefined;
  splitter: LineSplitter;
  joiner: MultilineJoiner | undefined;
  /** Offset up to which lines have been handed to emit: the checkpoint's offset. */
  emitted: number;
  /** A matched path names this file now; false once it was renamed away or deleted. */
  live: boolean;
  /** Last time bytes arrived (partial-line, multiline and rotate-wait timers run from here). */
  lastDataAt: number;
  lastStatAt: number;
}

export class FileTailer {
  private readonly files = new Map<string, TrackedFile>();
  private readonly byPath = new Map<string, string>();
  private readonly dirty = new Set<string>();
  /** Open descriptors in least-recently-used order (Map keeps insertion order). */
  private readonly open = new Map<string, TrackedFile>();
  private readonly matcher: PathMatcher;
  private readonly envOpts: EnvelopeOptions;
  private readonly readBuf = Buffer.allocUnsafe(READ_CHUNK);
  private readonly fpBuf: Buffer;
  private watcher: FSWatcher | undefined;
  private readonly watchedDirs = new Set<string>();
  private inFlight: Array<{ promise: Promise<void>; settled: boolean; error?: unknown }> = [];
  private checkpointDirty = false;
  private rescanRequested = false;
  private nextScanAt = 0;
  private lastScanAt = 0;
  private problems = new Map<string, string>();
  private reportedProblems = '';
  private wake: (() => void) | undefined;
  private stopped = false;
  /** The checkpoint of the last emit that resolved: the state to resume from after a failure. */
  private committed: FileCheckpoint | undefined;
  private loop: Promise<void> | undefined;
  private onReady: (() => void) | undefined;

  constructor(private readonly opts: FileOptions, private readonly ctx: ConnectorContext, private readonly now: () => number = Date.now) {
    this.matcher = new PathMatcher(opts.paths, opts.exclude);
    this.envOpts = { format: opts.format, jsonFields: opts.json_fields, host: opts.host, service: opts.service };
    this.fpBuf = Buffer.allocUnsafe(opts.fingerprint_bytes);
  }

  /**
   * Resolves once the files are found and the loop runs (the daemon waits for every connector's
   * start). A failed emit later restarts the loop from the last committed checkpoint, with backoff.
   */
  start(): Promise<void> {
    this.stopped = false;
    const ready = new Promise<void>((resolve) => (this.onReady = resolve));
    this.loop = this.supervise();
    return ready;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp();
    await this.loop;
  }

  private async supervise(): Promise<void> {
    let backoffMs = 500;
    while (!this.stopped && !this.ctx.signal.aborted) {
      try {
        await this.run();
        return;
      } catch (err) {
        this.onReady?.();
        if (this.stopped || this.ctx.signal.aborted) return;
        this.ctx.logger.error({ err }, `file: emit failed; resuming from the last committed checkpoint in ${backoffMs} ms`);
        this.ctx.reportError(`emit failed: ${(err as Error)?.message ?? err}`, { degraded: true });
        this.reportedProblems = '\u0000'; // make the next rescan report (or clear) afresh
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoffMs);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    }
  }

  /** Open file descriptors (for tests and the `open_files` gauge). */
  get openFiles(): number {
    return this.open.size;
  }

  private async run(): Promise<void> {
    const onAbort = () => this.wakeUp();
    this.ctx.signal.addEventListener('abort', onAbort);
    try {
      const cp = this.committed ?? parseCheckpoint(this.ctx.checkpoint);
      if (this.ctx.checkpoint !== undefined && !cp) this.ctx.logger.warn('file: stored checkpoint not understood; starting as on a first run');
      this.reset();
      if (cp) this.restore(cp);
      this.rescan(cp === undefined);
      // persist the start positions now, so a crash before the first line does not re-decide them
      this.checkpointDirty = true;
      this.startWatcher();
      this.onReady?.();
      this.onReady = undefined;
      while (!this.stopped && !this.ctx.signal.aborted) {
        const now = this.now();
        if (now >= this.nextScanAt || (this.rescanRequested && now - this.lastScanAt >= MIN_RESCAN_MS)) this.rescan(false);
        const batch: RawEnvelope[] = [];
        this.collect(batch, now);
        if (batch.length > 0 || this.checkpointDirty) {
          await this.emit(batch);
          continue;
        }
        await this.idle();
      }
      for (const e of this.inFlight) await e.promise;
      this.reap();
    } finally {
      this.ctx.signal.removeEventListener('abort', onAbort);
      await this.watcher?.close();
      this.watcher = undefined;
      this.watchedDirs.clear();
      for (const f of [...this.open.values()]) this.closeFd(f);
      this.inFlight = [];
    }
  }

  private reset(): void {
    for (const f of [...this.open.values()]) this.closeFd(f);
    this.files.clear();
    this.byPath.clear();
    this.dirty.clear();
    this.problems.clear();
    this.checkpointDirty = false;
    this.nextScanAt = 0;
  }

  // ---- emitting -------------------------------------------------------------------------

  private snapshot(): FileCheckpoint {
    const files: FileCheckpointEntry[] = [];
    for (const f of this.files.values()) {
      files.push({ path: f.path, dev: f.dev, ino: f.ino, fp: f.fp, fpLen: f.fpLen, offset: f.emitted });
    }
    return { v: 1, files };
  }

  private async emit(batch: RawEnvelope[]): Promise<void> {
    const cp = this.snapshot();
    this.checkpointDirty = false;
    const entry: (typeof this.inFlight)[number] = { promise: Promise.resolve(), settled: false };
    entry.promise = this.ctx.emit(batch, cp).then(
      () => {
        this.committed = cp;
        entry.settled = true;
      },
      (error: unknown) => {
        entry.error = error ?? new Error('emit failed');
        entry.settled = true;
      },
    );
    this.inFlight.push(entry);
    this.ctx.metrics.gauge('open_files', this.open.size);
    this.ctx.metrics.gauge('tracked_files', this.files.size);
    // the backpressure: reading goes on only while few emits wait for their commit
    this.reap();
    while (this.inFlight.length >= MAX_IN_FLIGHT) {
      await this.inFlight[0]!.promise;
      this.reap();
    }
  }

  /** Drop committed emits from the head; a failed one ends the loop (the supervisor restarts us). */
  private reap(): void {
    while (this.inFlight[0]?.settled) {
      const e = this.inFlight.shift()!;
      if (e.error !== undefined) throw e.error;
    }
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async idle(): Promise<void> {
    // nothing to read: sleep until a file event, the next timer or the oldest commit
    this.reap();
    const now = this.now();
    let until = this.nextScanAt;
    for (const f of this.files.values()) {
      if (f.splitter.hasPartial) until = Math.min(until, f.lastDataAt + this.opts.partial_line_timeout_ms);
      if (f.joiner?.pending) until = Math.min(until, f.lastDataAt + this.opts.multiline!.flush_ms);
      if (!f.live) until = Math.min(until, f.lastDataAt + this.opts.rotate_wait_ms);
      if (f.fd !== undefined && (!f.live || now - f.lastDataAt < HOT_MS)) until = Math.min(until, f.lastStatAt + (f.live ? HOT_STAT_MS : ORPHAN_STAT_MS));
    }
    if (this.rescanRequested) until = Math.min(until, this.lastScanAt + MIN_RESCAN_MS);
    const ms = Math.max(1, until - now);
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => this.wakeUp(), ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
      this.inFlight[0]?.promise.then(() => this.wakeUp());
    });
    this.reap();
  }

  // ---- reading --------------------------------------------------------------------------

  /** Read dirty files round-robin into `batch` until it is full; then run the timers. */
  private collect(batch: RawEnvelope[], now: number): void {
    const budget = { lines: BATCH_LINES, bytes: BATCH_BYTES };
    for (const key of [...this.dirty]) {
      if (budget.lines <= 0 || budget.bytes <= 0) break;
      const f = this.files.get(key);
      this.dirty.delete(key);
      if (!f) continue;
      const atEof = this.readFile(f, batch, budget, now);
      if (!atEof) this.dirty.add(key); // re-added at the end: the next file gets its turn
    }
    if (budget.lines <= 0 || budget.bytes <= 0) return;
    for (const f of [...this.files.values()]) this.runTimers(f, batch, now);
  }

  private runTimers(f: TrackedFile, batch: RawEnvelope[], now: number): void {
    const out: LineEvent[] = [];
    if (f.fd !== undefined && !this.dirty.has(f.key) && now - f.lastStatAt >= (f.live ? HOT_STAT_MS : ORPHAN_STAT_MS) && (!f.live || now - f.lastDataAt < HOT_MS)) {
      f.lastStatAt = now;
      if (fstatSync(f.fd).size !== f.splitter.pos) this.dirty.add(f.key);
    }
    // a partial line is cut off only when the rest has not arrived: the file may have grown while
    // the loop was busy (no file event yet), and then the rest is read first
    if (f.splitter.hasPartial && now - f.lastDataAt >= this.opts.partial_line_timeout_ms && !this.grew(f)) this.flushPartial(f, out);
    if (f.joiner?.pending && now - f.lastDataAt >= this.opts.multiline!.flush_ms) f.joiner.flush(out);
    this.push(f, out, batch);
    if (!f.live && !this.dirty.has(f.key) && now - f.lastDataAt >= this.opts.rotate_wait_ms) {
      // rotated away or deleted and quiet: read what landed since the last stat, finish, let go
      if (f.fd !== undefined && !this.readFile(f, batch, { lines: Infinity, bytes: Infinity }, now)) return;
      out.length = 0;
      this.finish(f, out);
      this.push(f, out, batch);
      this.release(f);
    }
  }

  /** Has the file more bytes than were read? Then it is marked dirty (read in the next pass). */
  private grew(f: TrackedFile): boolean {
    if (this.dirty.has(f.key)) return true;
    if (f.fd === undefined) return false;
    try {
      if (fstatSync(f.fd).size <= f.splitter.pos) return false;
    } catch {
      return false;
    }
    this.dirty.add(f.key);
    return true;
  }

  /** Emit everything held for a file that ends here (rotation, deletion, truncation, timeout). */
  private finish(f: TrackedFile, out: LineEvent[]): void {
    this.flushPartial(f, out);
    f.joiner?.flush(out);
  }

  private flushPartial(f: TrackedFile, out: LineEvent[]): void {
    if (!f.joiner) return f.splitter.flushPartial(out);
    const raw: LineEvent[] = [];
    f.splitter.flushPartial(raw);
    for (const l of raw) f.joiner.add(l, out);
  }

  private push(f: TrackedFile, out: LineEvent[], batch: RawEnvelope[]): void {
    if (out.length === 0) return;
    for (const ev of out) batch.push(toEnvelope(ev, f.path, this.envOpts));
    f.emitted = out[out.length - 1]!.end;
    this.checkpointDirty = true;
  }

  /** Read what is new in one file; true when it reached the end of the file. */
  private readFile(f: TrackedFile, batch: RawEnvelope[], budget: { lines: number; bytes: number }, now: number): boolean {
    if (f.fd === undefined && !this.openTracked(f)) return true;
    this.touch(f);
    const fd = f.fd!;
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (e) {
      this.ctx.logger.warn({ err: e, path: f.path }, 'file: stat failed');
      return true;
    }
    const out: LineEvent[] = [];
    if (st.size < f.splitter.pos || (st.size > f.splitter.pos && !fingerprintMatches(fd, st.size, f.fp, f.fpLen, this.fpBuf))) {
      // copytruncate, truncation or content rewritten in place: what was held ends here,
      // the file starts over at byte 0
      this.finish(f, out);
      this.push(f, out, batch);
      out.length = 0;
      this.ctx.logger.info({ path: f.path, size: st.size, offset: f.splitter.pos }, 'file: truncated or replaced, reading from the start');
      f.splitter.reset(0);
      f.emitted = 0;
      f.fp = '';
      f.fpLen = 0;
      this.checkpointDirty = true;
    }
    if (f.fpLen < this.opts.fingerprint_bytes && st.size > f.fpLen) {
      ({ fp: f.fp, fpLen: f.fpLen } = fingerprintFd(fd, st.size, this.opts.fingerprint_bytes, this.fpBuf));
      this.checkpointDirty = true;
    }
    let eof = false;
    while (budget.lines > 0 && budget.bytes > 0) {
      let n: number;
      try {
        n = readSync(fd, this.readBuf, 0, READ_CHUNK, f.splitter.pos);
      } catch (e) {
        this.ctx.logger.warn({ err: e, path: f.path }, 'file: read failed');
        eof = true;
        break;
      }
      if (n === 0) {
        eof = true;
        break;
      }
      f.lastDataAt = now;
      budget.bytes -= n;
      const before = out.length;
      if (f.joiner) {
        const raw: LineEvent[] = [];
        f.splitter.push(this.readBuf, 0, n, raw);
        for (const l of raw) f.joiner.add(l, out);
      } else {
        f.splitter.push(this.readBuf, 0, n, out);
      }
      budget.lines -= out.length - before;
    }
    this.push(f, out, batch);
    return eof;
  }

  // ---- descriptors ----------------------------------------------------------------------

  private touch(f: TrackedFile): void {
    this.open.delete(f.key);
    this.open.set(f.key, f);
  }

  private closeFd(f: TrackedFile): void {
    if (f.fd === undefined) return;
    try {
      closeSync(f.fd);
    } catch {
      // already gone
    }
    f.fd = undefined;
    this.open.delete(f.key);
  }

  /** Make room under `max_open_files` by closing the least recently read file that can be reopened. */
  private makeRoom(): boolean {
    if (this.open.size < this.opts.max_open_files) return true;
    for (const f of this.open.values()) {
      // a renamed or deleted file may not be findable again: keep it open until it is finished
      if (f.live) {
        this.closeFd(f);
        return true;
      }
    }
    return false;
  }

  /** (Re)open a tracked file by identity: its path, or, if that names another file now, its directory. */
  private openTracked(f: TrackedFile): boolean {
    if (!this.makeRoom()) return false;
    const fd = this.openIdentity(f.path, f.dev, f.ino) ?? this.findInDir(f);
    if (fd === undefined) {
      this.ctx.logger.warn({ path: f.path }, 'file: closed while idle and gone before it was reopened; lines written to it since are lost');
      this.release(f);
      this.checkpointDirty = true;
      return false;
    }
    f.fd = fd;
    this.touch(f);
    return true;
  }

  private openIdentity(p: string, dev: number, ino: number): number | undefined {
    let fd: number;
    try {
      fd = openSync(p, 'r');
    } catch {
      return undefined;
    }
    const st = fstatSync(fd);
    if (st.dev === dev && st.ino === ino) return fd;
    closeSync(fd);
    return undefined;
  }

  /** Open a file that is no longer at its path but was renamed within its directory; updates `f.path`. */
  private findInDir(f: { path: string; dev: number; ino: number }): number | undefined {
    const found = findByIdentity(path.dirname(f.path), f.dev, f.ino);
    if (!found) return undefined;
    const fd = this.openIdentity(found, f.dev, f.ino);
    if (fd !== undefined) f.path = found;
    return fd;
  }

  private release(f: TrackedFile): void {
    this.closeFd(f);
    this.files.delete(f.key);
    this.dirty.delete(f.key);
    if (this.byPath.get(f.path) === f.key) this.byPath.delete(f.path);
    this.checkpointDirty = true;
  }

  // ---- discovery ------------------------------------------------------------------------

  private track(key: string, dev: number, ino: number, p: string, offset: number, fp: string, fpLen: number): TrackedFile {
    const f: TrackedFile = {
      key, dev, ino, path: p, fp, fpLen, fd: undefined,
      splitter: new LineSplitter(this.opts.max_line_bytes, offset),
      joiner: this.opts.multiline
        ? new MultilineJoiner({ start: new RegExp(this.opts.multiline.start), maxLines: this.opts.multiline.max_lines, maxBytes: this.opts.max_line_bytes })
        : undefined,
      emitted: offset, live: false, lastDataAt: this.now(), lastStatAt: 0,
    };
    this.files.set(key, f);
    return f;
  }

  /** Find every checkpointed file again by identity, wherever rotation moved it meanwhile. */
  private restore(cp: FileCheckpoint): void {
    for (const entry of cp.files) {
      const e = { ...entry };
      const key = identityKey(e.dev, e.ino);
      const fd = this.openIdentity(e.path, e.dev, e.ino) ?? this.findInDir(e);
      if (fd === undefined) {
        this.ctx.logger.info({ path: e.path }, 'file: checkpointed file is gone');
        continue;
      }
      try {
        const st = fstatSync(fd);
        if (st.size < e.offset || !fingerprintMatches(fd, st.size, e.fp, e.fpLen, this.fpBuf)) {
          // same inode, different content: truncated and rewritten while we were down
          this.ctx.logger.info({ path: e.path }, 'file: content replaced while stopped, reading from the start');
          this.track(key, e.dev, e.ino, e.path, 0, '', 0);
        } else {
          this.track(key, e.dev, e.ino, e.path, e.offset, e.fp, e.fpLen);
        }
        this.dirty.add(key);
      } finally {
        closeSync(fd);
      }
    }
  }

  /** Rescan the globs: new files, renamed ones, rotated-away ones, and stat for missed growth. */
  private rescan(firstStart: boolean): void {
    const now = this.now();
    this.lastScanAt = now;
    this.nextScanAt = now + this.opts.scan_interval_ms;
    this.rescanRequested = false;
    const { files, problems } = this.matcher.scan();
    const seen = new Set<string>();
    const fileProblems = new Map<string, string>();
    this.byPath.clear();
    for (const p of files) {
      let st: Stats;
      try {
        st = statSync(p);
      } catch {
        continue; // vanished between readdir and stat, or a dangling link
      }
      if (!st.isFile()) continue;
      const key = identityKey(st.dev, st.ino);
      if (seen.has(key)) continue; // two links to one file
      let f = this.files.get(key);
      if (!f) {
        // a file we have not seen: from its end only for files present at the very first start
        let fd: number;
        try {
          fd = openSync(p, 'r');
        } catch (e) {
          fileProblems.set(p, `${p}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
          continue;
        }
        try {
          const fst = fstatSync(fd);
          if (fst.dev !== st.dev || fst.ino !== st.ino) continue; // replaced between stat and open
          const atEnd = firstStart && this.opts.start_at === 'end';
          const { fp, fpLen } = fingerprintFd(fd, fst.size, this.opts.fingerprint_bytes, this.fpBuf);
          f = this.track(key, st.dev, st.ino, p, atEnd ? fst.size : 0, fp, fpLen);
          this.checkpointDirty = true;
        } finally {
          closeSync(fd);
        }
      }
      seen.add(key);
      f.path = p;
      f.live = true;
      this.byPath.set(p, key);
      if (st.size !== f.splitter.pos || st.mtimeMs > f.lastStatAt) this.dirty.add(key);
      f.lastStatAt = now;
    }
    for (const f of this.files.values()) {
      if (seen.has(f.key) || !f.live) continue;
      // renamed out of the globs or deleted: drain it; the timers release it once quiet
      f.live = false;
      f.lastDataAt = now;
      if (f.fd === undefined && this.makeRoom()) {
        f.fd = this.findInDir(f);
        if (f.fd !== undefined) this.touch(f);
      }
      this.dirty.add(f.key);
    }
    this.setProblems([...problems, ...fileProblems.values()]);
    this.watchNewDirs();
  }

  private setProblems(list: string[]): void {
    const text = list.join('; ');
    if (text === this.reportedProblems) return;
    for (const p of list) if (!this.problems.has(p)) this.ctx.logger.warn(`file: ${p}`);
    this.problems = new Map(list.map((p) => [p, p]));
    this.reportedProblems = text;
    if (list.length > 0) this.ctx.reportError(text);
    else this.ctx.clearError();
  }

  // ---- watching -------------------------------------------------------------------------

  private startWatcher(): void {
    this.watcher = watch([], {
      ignoreInitial: true,
      persistent: false,
      usePolling: this.opts.poll,
      interval: this.opts.poll_interval_ms,
      depth: this.matcher.watchDepth,
      // files outside the globs are not watched (rotated ones are stat-polled while they drain)
      ignored: (p, stats) => !!stats?.isFile() && !this.matcher.matches(p),
    });
    this.watcher.on('all', (event, p) => {
      if (event === 'change') {
        const key = this.byPath.get(p);
        if (key) this.dirty.add(key);
        else this.rescanRequested = true;
      } else {
        this.rescanRequested = true;
      }
      this.wakeUp();
    });
    this.watcher.on('error', (err) => this.ctx.logger.warn({ err }, 'file: watcher error'));
    this.watchNewDirs();
  }

  private watchNewDirs(): void {
    if (!this.watcher) return;
    for (const r of this.matcher.roots) {
      if (this.watchedDirs.has(r.dir)) continue;
      try {
        if (!statSync(r.dir).isDirectory()) continue;
      } catch {
        continue; // the rescan reports it and retries
      }
      this.watchedDirs.add(r.dir);
      this.watcher.add(r.dir);
    }
  }
}

/** The path in `dir` whose device and inode are these (a rotated file keeps both). */
export function findByIdentity(dir: string, dev: number, ino: number): string | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of names) {
    const p = path.join(dir, name);
    try {
      const st = statSync(p);
      if (st.ino === ino && st.dev === dev && st.isFile()) return p;
    } catch {
      // raced with a removal
    }
  }
  return undefined;
}
