// Shapes the store reads and writes. Internal camelCase; the wire format lives at the JSON edge.
import type { CanonicalEvent } from '../pipeline/event.js';

/** A signature created or generalized by the miner in this batch. */
export interface SignatureChange {
  key: string;
  service: string;
  /** Current template (normalized_pattern). */
  template: string;
  /** The template the cluster was created with (only stored when the signature is new). */
  firstTemplate: string;
  family: string;
}

export interface WriteBatch {
  events: CanonicalEvent[];
  signatures: SignatureChange[];
  /** The last checkpoint of each connector whose emits this batch completes. */
  checkpoints: Array<{ connector: string; checkpoint: unknown }>;
  counts: Array<{ connector: string; type: string; received: number; stored: number; parseErrors: number }>;
}

export interface ConnectorStatusUpdate {
  connector: string;
  type: string;
  state: string;
  lastError?: string;
  /** Drops since the last update (added to the stored total). */
  droppedDelta: number;
  gauges?: Record<string, number>;
}

export interface ConnectorStatsRow {
  connector: string;
  type: string | null;
  received: number;
  stored: number;
  parseErrors: number;
  dropped: number;
  state: string | null;
  lastError: string | null;
  gauges: Record<string, number>;
  updatedAt: number | null;
}

export interface EventQuery {
  signatureKey?: string;
  connector?: string;
  /** Paging cursor: only events with id below this (newest-first), or above it when ascending. */
  beforeId?: number;
  /** 0 or undefined: no limit. */
  limit?: number;
  ascending?: boolean;
}

export interface SignatureRow {
  signatureKey: string;
  template: string;
  firstTemplate: string;
  service?: string;
  eventFamily: string;
  occurrenceCount: number;
  firstSeen: number;
  lastSeen: number;
  /** Most severe level seen, 0 (emerg) … 7 (debug). */
  minSeverity: number;
  metadata: Record<string, unknown>;
}

export interface SignatureWindowRow extends SignatureRow {
  windowCount: number;
  hosts: Array<{ host: string; count: number }>;
}

export interface ScoreBreakdown {
  recurrence: number;
  recovery: number;
  spread: number;
  novelty: number;
  impact: number;
  precursor: number;
  memory_weight: number;
}

export interface CandidateRecord {
  candidateType: string;
  signatureKey: string;
  title: string;
  summary: string;
  scoreTotal: number;
  scoreBreakdown: ScoreBreakdown;
  decisionBand: string;
  attentionBand: string;
  sourceSignatureIds: string[];
  sourceEventIds: number[];
  confidence: number;
  metadata: Record<string, unknown>;
}

export interface StoreTotals {
  events: number;
  signatures: number;
  candidates: number;
  incidents: number;
  parseErrors: number;
}
