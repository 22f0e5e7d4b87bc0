// From received bytes to a RawEnvelope: decode (flagging invalid UTF-8 and keeping the exact
// bytes), parse, and map syslog fields onto the envelope. Pure; shared by UDP and TCP.
import type { RawEnvelope } from '../../src/plugin/contract.js';
import { parseSyslog, type ParseOptions } from './parse.js';

/** How and from whom a message arrived. */
export interface Receipt {
  sender: string;
  senderPort: number;
  protocol: 'udp' | 'tcp' | 'tls';
  /** Set when the message was cut to max_message_bytes: its length as sent (-1 if unknown). */
  originalLength?: number;
  /** Why framing failed for this chunk of bytes (incomplete frame at close, bad octet count). */
  framingError?: string;
  /** The same object for every message of a connection: its messages then share their metadata. */
  persistent?: boolean;
}

/**
 * The metadata of a persistent receipt's ordinary messages, one frozen object per format: the
 * pipeline keeps a frozen object's JSON (canonicalize.ts), so a TCP stream's messages do not
 * each serialize the same sender, port and protocol again.
 */
const sharedMetadata = new WeakMap<Receipt, Map<string, Record<string, unknown>>>();

function receiptMetadata(receipt: Receipt, format: string | undefined): Record<string, unknown> {
  let byFormat = sharedMetadata.get(receipt);
  if (!byFormat) sharedMetadata.set(receipt, (byFormat = new Map()));
  const k = format ?? '';
  let m = byFormat.get(k);
  if (!m) {
    m = { sender: receipt.sender, sender_port: receipt.senderPort, protocol: receipt.protocol };
    if (format) m.format = format;
    byFormat.set(k, Object.freeze(m));
  }
  return m;
}

/** Syslog comes from devices that do not always speak UTF-8; replacement chars mark where. */
export function decodeMessage(bytes: Uint8Array): { text: string; invalidUtf8: boolean } {
  const buf = asBuffer(bytes);
  const text = buf.toString('utf8');
  return { text, invalidUtf8: isInvalidUtf8(text, buf, 0, buf.length) };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** U+FFFD is rare in real logs: only then pay for the exact check. */
function isInvalidUtf8(text: string, buf: Buffer, start: number, end: number): boolean {
  return text.includes('\uFFFD') && !Buffer.from(text).equals(buf.subarray(start, end));
}

export function buildEnvelope(bytes: Uint8Array, receipt: Receipt, opts: ParseOptions): RawEnvelope {
  return buildEnvelopeAt(asBuffer(bytes), 0, bytes.byteLength, receipt, opts);
}

/** The envelope of the message in `buf[start, end)`: no view of the bytes is made unless needed. */
export function buildEnvelopeAt(buf: Buffer, start: number, end: number, receipt: Receipt, opts: ParseOptions): RawEnvelope {
  const text = buf.toString('utf8', start, end);
  const invalidUtf8 = isInvalidUtf8(text, buf, start, end);
  // A frame's trailing line break is transport, not content (UDP senders often append one).
  const trimmed = text.endsWith('\n') ? text.replace(/\r?\n+$/, '') : text;
  const p = parseSyslog(trimmed, opts);
  if (receipt.persistent && receipt.originalLength === undefined && !invalidUtf8) {
    return envelopeOf(trimmed, p, receiptMetadata(receipt, p.format), receipt);
  }
  const metadata: Record<string, unknown> = {
    sender: receipt.sender, sender_port: receipt.senderPort, protocol: receipt.protocol,
  };
  if (p.format) metadata.format = p.format;
  if (receipt.originalLength !== undefined) {
    metadata.truncated = true;
    metadata.original_length = receipt.originalLength;
  }
  if (invalidUtf8) {
    metadata.invalid_utf8 = true;
    metadata.raw_base64 = buf.toString('base64', start, end);
  }
  return envelopeOf(trimmed, p, metadata, receipt);
}

function envelopeOf(trimmed: string, p: ReturnType<typeof parseSyslog>, metadata: Record<string, unknown>, receipt: Receipt): RawEnvelope {
  let structured: Record<string, unknown> | undefined;
  if (p.structuredData || p.procid || p.msgid || p.pid || p.mnemonic || p.sequence) {
    structured = { ...p.structuredData };
    if (p.procid) structured.procid = p.procid;
    if (p.msgid) structured.msgid = p.msgid;
    if (p.pid) structured.pid = p.pid;
    if (p.mnemonic) structured.mnemonic = p.mnemonic;
    if (p.sequence) structured.sequence = p.sequence;
  }
  const parseError = receipt.framingError ?? p.error;
  const env: RawEnvelope = {
    messageRaw: trimmed,
    host: p.hostname ?? receipt.sender,
    metadata,
  };
  if (!parseError) env.message = p.message;
  else env.parseError = parseError;
  if (p.timestamp !== undefined) env.timestamp = p.timestamp;
  if (p.appName !== undefined) env.service = p.appName;
  if (p.severity !== undefined) env.severity = p.severity;
  if (p.facility !== undefined) env.facility = p.facility;
  if (structured) env.structuredFields = structured;
  return env;
}
