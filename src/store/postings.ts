// Per-signature event postings: which events a signature has, as rows of delta-encoded ids (one
// row per signature per aggregate apply). They replace an index on events(signature_id): that
// index took one random B-tree insert per event and dirtied a page per signature in every
// commit, the largest single cost of the write path; a posting row costs one insert per
// signature per second. Readers decode the rows newest first.
import type Database from 'better-sqlite3';

/** Ascending ids as LEB128 varints of their differences (the first from 0). */
export function encodeIds(ids: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(ids.length * 9);
  let p = 0;
  let prev = 0;
  for (const id of ids) {
    let d = id - prev;
    prev = id;
    while (d >= 0x80) {
      out[p++] = (d % 0x80) | 0x80;
      d = Math.floor(d / 0x80);
    }
    out[p++] = d;
  }
  return out.subarray(0, p);
}

export function decodeIds(buf: Uint8Array): number[] {
  const ids: number[] = [];
  let prev = 0;
  for (let p = 0; p < buf.length;) {
    let d = 0;
    let scale = 1;
    let b: number;
    do {
      b = buf[p++]!;
      d += (b & 0x7f) * scale;
      scale *= 0x80;
    } while (b & 0x80);
    prev += d;
    ids.push(prev);
  }
  return ids;
}

/** Insert one posting row: `insert` takes (signature_id, first_id, last_id, ids). */
export function writePostings(insert: Database.Statement, signatureId: number, ids: readonly number[]): void {
  insert.run(signatureId, ids[0], ids[ids.length - 1], encodeIds(ids));
}
