// Online template mining, Drain-style. A line's masked tokens (runs of values already collapsed
// by the masker) are routed by service, token count and leading constant tokens to a small leaf,
// and join the most similar cluster there (differing tokens become `<*>`) or start a new one.
// Routing is a pure function of the line and routed tokens are never generalized, so a cluster
// restored from its template lands where its lines go: a key survives generalization (it is
// fixed at creation) and restarts (the store keeps templates). Per line: one map lookup and a
// scan of one leaf, whatever the number of clusters.
import { createHash } from 'node:crypto';
import { containsPlaceholder, keyPrefixLength, WILDCARD } from './mask.js';

export { WILDCARD };

export interface MinerOptions {
  /** Minimum share of agreeing tokens for a line to join a cluster (0–1). */
  similarity: number;
  /** Leading constant (non-value) tokens used for routing below the token-count level. */
  depth: number;
  /**
   * Lines after which a cluster's remaining constant tokens are settled: a line that differs in
   * one of them starts a new cluster instead of generalizing it. Keyed values and value slots
   * still vary freely.
   */
  settled: number;
  /** Kept for compatibility with the first miner's options; routing no longer overflows. */
  maxChildren: number;
}

export const DEFAULT_MINER_OPTIONS: MinerOptions = { similarity: 0.8, depth: 2, settled: 100, maxChildren: 100 };

export interface Cluster {
  readonly key: string;
  readonly service: string;
  tokens: string[];
}

/** A cluster as persisted in the store. */
export interface ClusterRecord {
  key: string;
  service: string | null;
  template: string;
  /**
   * Lines the cluster matched so far (signatures.occurrence_count). Unknown counts as 0: the
   * restored cluster may generalize again, as a young one would, rather than split off new ones.
   */
  count?: number;
}

export interface MatchResult {
  cluster: Cluster;
  /** The cluster was created by this line. */
  created: boolean;
  /** The cluster's template generalized because of this line. */
  changed: boolean;
}

/**
 * Miner-internal view of a cluster. `shape` holds what each template token is compared by: its
 * text, its key for a keyed value (`uid=<NUM>` and `uid=root` agree), or one mark for every
 * value slot (`<NUM>`, `(<IP>)`, `blk_<NUM>` agree).
 */
interface Entry {
  cluster: Cluster;
  shape: string[];
  /** Lines matched (from the store's occurrence count after a restart). */
  count: number;
}

const SLOT = '\u0001';
const KEYED = '\u0002';

/** Distinct masked texts remembered by the exact-match cache (about 100 bytes each). */
const EXACT_MAX = 100_000;

/** Stable key of a cluster from the template it was created with. */
export function clusterKey(service: string, template: string): string {
  return createHash('sha1').update(service).update('\u0000').update(template).digest('hex').slice(0, 16);
}

function shapeOf(tokens: string[]): string[] {
  const shape = new Array<string>(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const k = t.length < 3 ? 0 : keyPrefixLength(t);
    if (k > 0) shape[i] = t.slice(0, k) + KEYED;
    else shape[i] = t.length >= 3 && t !== WILDCARD && containsPlaceholder(t) ? SLOT : t;
  }
  return shape;
}

export class TemplateMiner {
  private readonly routes = new Map<string, RouteNode>();
  private readonly opts: MinerOptions;
  private readonly byKey = new Map<string, Entry>();
  /**
   * Masked line text → the cluster it joined, per service. A cluster's template only generalizes,
   * so the same text fits it again without any change: a hit skips the leaf scan, and the same
   * masked text keeps the same signature even if a cluster created later would tie with it.
   * Cleared when clusters are loaded (they replace entries) and when it reaches EXACT_MAX texts.
   */
  private readonly exact = new Map<string, Map<string, Entry>>();
  private exactSize = 0;
  private compared = 0;

  constructor(opts: Partial<MinerOptions> = {}) {
    this.opts = { ...DEFAULT_MINER_OPTIONS, ...opts };
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Template comparisons made so far (the per-line work: the size of the lines' leaves). */
  get comparisons(): number {
    return this.compared;
  }

  /** Restore clusters persisted by an earlier run (a record for a known key replaces it). */
  load(records: Iterable<ClusterRecord>): void {
    this.exact.clear();
    this.exactSize = 0;
    for (const r of records) {
      const cluster: Cluster = { key: r.key, service: r.service ?? '', tokens: r.template.split(' ') };
      const entry: Entry = { cluster, shape: shapeOf(cluster.tokens), count: r.count ?? 0 };
      const old = this.byKey.get(r.key);
      if (old) {
        const leaf = this.leafOf(old.cluster.service, old.shape);
        leaf.splice(leaf.indexOf(old), 1);
      }
      this.byKey.set(cluster.key, entry);
      this.leafOf(cluster.service, entry.shape).push(entry);
    }
  }

  /** Every cluster as the store persists it (what `load` restores). */
  records(): ClusterRecord[] {
    const out: ClusterRecord[] = [];
    for (const e of this.byKey.values()) {
      out.push({ key: e.cluster.key, service: e.cluster.service, template: e.cluster.tokens.join(' '), count: e.count });
    }
    return out;
  }

  get(key: string): Cluster | undefined {
    return this.byKey.get(key)?.cluster;
  }

  /**
   * Assign a line (already masked, split into tokens) to a cluster. `text` is the tokens joined
   * by single spaces (message_normalized) when the caller has it: a line seen before is then
   * found by one lookup instead of a leaf scan.
   */
  match(service: string, tokens: string[], text?: string): MatchResult {
    let seen: Map<string, Entry> | undefined;
    if (text !== undefined) {
      seen = this.exact.get(service);
      if (!seen) this.exact.set(service, (seen = new Map()));
      const hit = seen.get(text);
      if (hit) {
        hit.count++;
        return { cluster: hit.cluster, created: false, changed: false };
      }
    }
    const result = this.scan(service, tokens);
    if (seen) {
      if (this.exactSize >= EXACT_MAX) {
        this.exact.clear();
        this.exactSize = 0;
        this.exact.set(service, seen = new Map());
      }
      seen.set(text!, this.byKey.get(result.cluster.key)!);
      this.exactSize++;
    }
    return result;
  }

  private scan(service: string, tokens: string[]): MatchResult {
    const shape = shapeOf(tokens);
    const leaf = this.leafOf(service, shape);
    let best: Entry | undefined;
    let bestSim = -1;
    let bestParams = -1;
    this.compared += leaf.length;
    for (const e of leaf) {
      const [sim, params, newWildcards] = similarity(e.shape, shape);
      if (sim < this.opts.similarity) continue;
      // A token that stayed the same over many lines is the statement's text, not a value.
      if (newWildcards > 0 && e.count >= this.opts.settled) continue;
      // Order-independent choice (similarity, then the more specific template, then the key) so
      // that a miner restored from the store in any order picks what the live one picked.
      if (sim > bestSim || (sim === bestSim && (params < bestParams || (params === bestParams && e.cluster.key < best!.cluster.key)))) {
        best = e;
        bestSim = sim;
        bestParams = params;
      }
    }
    if (best) {
      best.count++;
      let changed = false;
      const t = best.cluster.tokens;
      const bs = best.shape;
      for (let i = 0; i < t.length; i++) {
        if (t[i] === tokens[i] || t[i] === WILDCARD || (bs[i] === SLOT && shape[i] === SLOT)) continue;
        let general: string = WILDCARD;
        if (bs[i] === shape[i]) {
          // Same key, different value: keep the key (`uid=<*>`).
          general = bs[i]!.slice(0, -1) + WILDCARD;
          if (t[i] === general) continue;
        }
        if (!changed) best.cluster.tokens = t.slice();
        best.cluster.tokens[i] = general;
        if (general === WILDCARD) bs[i] = WILDCARD;
        changed = true;
      }
      return { cluster: best.cluster, created: false, changed };
    }
    const template = tokens.join(' ');
    let key = clusterKey(service, template);
    // A line always fits the cluster created from the same text, so a clash here means a hash
    // collision or a record restored from elsewhere: derive a distinct key deterministically.
    for (let n = 1; this.byKey.has(key); n++) key = clusterKey(service, `${template}\u0000${n}`);
    const cluster: Cluster = { key, service, tokens: tokens.slice() };
    const entry: Entry = { cluster, shape, count: 1 };
    leaf.push(entry);
    this.byKey.set(key, entry);
    return { cluster, created: true, changed: false };
  }

  /**
   * The leaf of a line: service, token count and the first `depth` tokens that are not value
   * slots, with their positions. Every line of a leaf has those tokens there and slots before
   * them, so they are never generalized and a template read back from the store routes alike.
   */
  private leafOf(service: string, shape: string[]): Entry[] {
    // Nested maps rather than one joined key: no string building or long-key hashing per line.
    let node = this.routes.get(service);
    if (!node) this.routes.set(service, (node = new RouteNode()));
    node = node.child(shape.length);
    for (let i = 0, taken = 0; i < shape.length && taken < this.opts.depth; i++) {
      const s = shape[i]!;
      if (s === SLOT || !hasWordChar(s)) continue;
      node = node.child(i).child(s);
      taken++;
    }
    return node.leaf;
  }
}

/** A routing level: children by service, token count, position or token; clusters at the end. */
class RouteNode {
  private readonly children = new Map<string | number, RouteNode>();
  readonly leaf: Entry[] = [];

  child(key: string | number): RouteNode {
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = new RouteNode()));
    return c;
  }
}

/** Routing skips tokens without a letter or digit (`-`, `|`, and the wildcard `<*>`). */
function hasWordChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c > 127) return true;
  }
  return false;
}

/**
 * Share of positions where template and line agree (same text, same key, or two value slots);
 * 1 when the line fits the template everywhere but its wildcards. Wildcards do not count
 * otherwise, so a template that generalized a lot does not go on to absorb other statements
 * (Drain's rule), while every line it was built from still fits it. Also returns the number of
 * wildcards (tie-break towards the more specific template) and of constant tokens that differ.
 */
function similarity(template: string[], line: string[]): [number, number, number] {
  if (template.length === 0) return [1, 0, 0];
  let same = 0;
  let params = 0;
  let newWildcards = 0;
  for (let i = 0; i < template.length; i++) {
    const t = template[i]!;
    if (t === WILDCARD) params++;
    else if (t === line[i]) same++;
    else if (t !== SLOT) newWildcards++;
  }
  return [same + params === template.length ? 1 : same / template.length, params, newWildcards];
}
