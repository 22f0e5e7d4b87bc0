// Online template mining, Drain-style: masked tokens are routed by service, token count and
// leading tokens to a small leaf; a line joins the most similar cluster of its leaf (differing
// tokens become `<*>`) or starts a new one. A cluster's key is fixed when it is created, so a
// signature keeps its key while its template generalizes; the store persists the clusters.
import { createHash } from 'node:crypto';
import { isVariable } from './mask.js';

export const WILDCARD = '<*>';

export interface MinerOptions {
  /** Minimum share of equal tokens for a line to join a cluster (0–1). */
  similarity: number;
  /** Leading tokens used for routing below the token-count level. */
  depth: number;
  /** Children per routing node before further tokens are routed to `<*>`. */
  maxChildren: number;
}

export const DEFAULT_MINER_OPTIONS: MinerOptions = { similarity: 0.5, depth: 2, maxChildren: 100 };

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
}

export interface MatchResult {
  cluster: Cluster;
  /** The cluster was created by this line. */
  created: boolean;
  /** The cluster's template generalized because of this line. */
  changed: boolean;
}

interface RouteNode {
  children: Map<string, RouteNode>;
  clusters: Cluster[];
}

const newNode = (): RouteNode => ({ children: new Map(), clusters: [] });

/** Stable key of a cluster from the template it was created with. */
export function clusterKey(service: string, template: string): string {
  return createHash('sha1').update(service).update('\u0000').update(template).digest('hex').slice(0, 16);
}

export class TemplateMiner {
  private readonly root = new Map<string, RouteNode>();
  private readonly opts: MinerOptions;
  private readonly byKey = new Map<string, Cluster>();

  constructor(opts: Partial<MinerOptions> = {}) {
    this.opts = { ...DEFAULT_MINER_OPTIONS, ...opts };
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Restore clusters persisted by an earlier run. */
  load(records: Iterable<ClusterRecord>): void {
    for (const r of records) {
      const cluster: Cluster = { key: r.key, service: r.service ?? '', tokens: r.template.split(' ') };
      this.byKey.set(cluster.key, cluster);
      this.leafFor(cluster.service, cluster.tokens).clusters.push(cluster);
    }
  }

  get(key: string): Cluster | undefined {
    return this.byKey.get(key);
  }

  /** Assign a line (already masked, split into tokens) to a cluster. */
  match(service: string, tokens: string[]): MatchResult {
    const leaf = this.leafFor(service, tokens);
    let best: Cluster | undefined;
    let bestSim = -1;
    let bestParams = -1;
    for (const c of leaf.clusters) {
      const [sim, params] = similarity(c.tokens, tokens);
      if (sim > bestSim || (sim === bestSim && params > bestParams)) {
        best = c;
        bestSim = sim;
        bestParams = params;
      }
    }
    if (best && bestSim >= this.opts.similarity) {
      let changed = false;
      const t = best.tokens;
      for (let i = 0; i < t.length; i++) {
        if (t[i] !== tokens[i] && t[i] !== WILDCARD) {
          if (!changed) best.tokens = t.slice();
          best.tokens[i] = WILDCARD;
          changed = true;
        }
      }
      return { cluster: best, created: false, changed };
    }
    const template = tokens.join(' ');
    let key = clusterKey(service, template);
    // A template equal to an existing cluster's first form but routed elsewhere is impossible;
    // a clash can only come from a key collision, so derive a distinct key deterministically.
    for (let n = 1; this.byKey.has(key); n++) key = clusterKey(service, `${template}\u0000${n}`);
    const cluster: Cluster = { key, service, tokens: tokens.slice() };
    leaf.clusters.push(cluster);
    this.byKey.set(key, cluster);
    return { cluster, created: true, changed: false };
  }

  private leafFor(service: string, tokens: string[]): RouteNode {
    let byLen = this.root.get(service);
    if (!byLen) this.root.set(service, (byLen = newNode()));
    const lenKey = String(tokens.length);
    let node: RouteNode | undefined = byLen.children.get(lenKey);
    if (!node) byLen.children.set(lenKey, (node = newNode()));
    const depth = Math.min(this.opts.depth, tokens.length);
    for (let i = 0; i < depth; i++) {
      const tok = tokens[i]!;
      const routeKey = isVariable(tok) ? WILDCARD : tok;
      let child: RouteNode | undefined = node.children.get(routeKey);
      if (!child) {
        if (node.children.size >= this.opts.maxChildren && routeKey !== WILDCARD) {
          child = node.children.get(WILDCARD);
          if (!child) node.children.set(WILDCARD, (child = newNode()));
        } else {
          node.children.set(routeKey, (child = newNode()));
        }
      }
      node = child;
    }
    return node;
  }
}

/** Share of positions with equal tokens, and the number of wildcard positions (tie-break). */
function similarity(template: string[], tokens: string[]): [number, number] {
  if (template.length === 0) return [1, 0];
  let same = 0;
  let params = 0;
  for (let i = 0; i < template.length; i++) {
    const t = template[i]!;
    if (t === WILDCARD) params++;
    else if (t === tokens[i]) same++;
  }
  return [same / template.length, params];
}
