// File identity and the connector's checkpoint. A file is the same file when its device and
// inode match and its first bytes still hash to the recorded fingerprint: inode numbers are
// reused after deletion, and a file truncated and rewritten keeps its inode but not its start.
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';

/** One tailed file as committed with a batch: where it is, what it is, how far it is stored. */
export interface FileCheckpointEntry {
  /** Last known path (a rotated file is searched for by identity in this path's directory). */
  path: string;
  dev: number;
  ino: number;
  /** Hash of the first `fpLen` bytes ('' when the file was empty). */
  fp: string;
  fpLen: number;
  /** Every byte before this offset is in a committed event; reading resumes here. */
  offset: number;
}

export interface FileCheckpoint {
  v: 1;
  files: FileCheckpointEntry[];
}

export function identityKey(dev: number, ino: number): string {
  return `${dev}:${ino}`;
}

const EMPTY = { fp: '', fpLen: 0 };

/** Hash of the first min(size, maxBytes) bytes of an open file. */
export function fingerprintFd(fd: number, size: number, maxBytes: number, scratch: Buffer): { fp: string; fpLen: number } {
  const want = Math.min(size, maxBytes);
  if (want <= 0) return EMPTY;
  const n = readSync(fd, scratch, 0, want, 0);
  if (n <= 0) return EMPTY;
  return { fp: hashBytes(scratch.subarray(0, n)), fpLen: n };
}

/** Does the open file still start with the bytes that hashed to `fp`? */
export function fingerprintMatches(fd: number, size: number, fp: string, fpLen: number, scratch: Buffer): boolean {
  if (fpLen === 0) return true;
  if (size < fpLen) return false;
  const n = readSync(fd, scratch, 0, fpLen, 0);
  return n === fpLen && hashBytes(scratch.subarray(0, n)) === fp;
}

function hashBytes(b: Buffer): string {
  return createHash('sha256').update(b).digest('base64url').slice(0, 22);
}

/** Read a stored checkpoint; anything unrecognizable counts as none (logged by the caller). */
export function parseCheckpoint(raw: unknown): FileCheckpoint | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const cp = raw as Partial<FileCheckpoint>;
  if (cp.v !== 1 || !Array.isArray(cp.files)) return undefined;
  const files = cp.files.filter(
    (f): f is FileCheckpointEntry =>
      !!f && typeof f.path === 'string' && typeof f.dev === 'number' && typeof f.ino === 'number' &&
      typeof f.fp === 'string' && typeof f.fpLen === 'number' && typeof f.offset === 'number',
  );
  return { v: 1, files };
}
