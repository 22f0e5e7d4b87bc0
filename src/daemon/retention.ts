// Retention beyond age: the optional `storage.max_bytes` cap (oldest events go first) and
// returning surplus free pages to the file system. Deleted pages land on SQLite's free list and
// are reused by later inserts, so a capped store reaches a steady size without VACUUM; on
// stores created with auto_vacuum=INCREMENTAL, free pages beyond a reserve are also released
// in small `incremental_vacuum` steps (no long exclusive lock, unlike VACUUM).
import type { SqliteStore } from '../store/sqlite.js';
import { statSync } from 'node:fs';

const fileSize = (p: string): number => {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
};

/** Database size on disk and in use (live = pages in use; free pages are reused before the file grows). */
export function storeSizes(store: SqliteStore): { fileBytes: number; liveBytes: number; freeBytes: number } {
  const pageSize = store.db.pragma('page_size', { simple: true }) as number;
  const pages = store.db.pragma('page_count', { simple: true }) as number;
  const free = store.db.pragma('freelist_count', { simple: true }) as number;
  const fileBytes = store.path === ':memory:' ? pages * pageSize : fileSize(store.path) + fileSize(`${store.path}-wal`);
  return { fileBytes, liveBytes: (pages - free) * pageSize, freeBytes: free * pageSize };
}

/** After the cap is hit, delete down to this share of it, so the cap is not hit again at once. */
export const CAP_LOW_WATER = 0.9;

/**
 * One step of the size cap: when the live size is above `maxBytes` (or the previous step left it
 * above the low-water mark), delete up to `limit` of the oldest events. Returns how many went.
 */
export function enforceMaxBytes(store: SqliteStore, maxBytes: number, limit: number, draining: boolean): number {
  const { liveBytes } = storeSizes(store);
  const threshold = draining ? maxBytes * CAP_LOW_WATER : maxBytes;
  if (liveBytes <= threshold) return 0;
  return store.deleteOldestEvents(limit);
}

/**
 * Release free pages beyond a reserve (a fifth of the file, at least `minReservePages`), at
 * most `maxPages` per call. Returns the pages released; 0 when auto_vacuum is not incremental.
 */
export function reclaimFreePages(store: SqliteStore, maxPages = 2000, minReservePages = 1024): number {
  if (store.db.pragma('auto_vacuum', { simple: true }) !== 2) return 0;
  const pages = store.db.pragma('page_count', { simple: true }) as number;
  const free = store.db.pragma('freelist_count', { simple: true }) as number;
  const surplus = free - Math.max(minReservePages, Math.floor(pages / 5));
  if (surplus <= 0) return 0;
  const n = Math.min(surplus, maxPages);
  store.db.pragma(`incremental_vacuum(${n})`);
  return n;
}
