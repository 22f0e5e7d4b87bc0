// Scripted answers and transport faults shared by the fake Slack and the fake webhook receiver:
// a status with a bare body and optional Retry-After, added latency, a hang past the client's
// timeout, a TCP reset, a redirect.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Scripted =
  | { status: number; body?: string; retryAfter?: number; contentType?: string; delayMs?: number }
  | { hang: true }
  | { reset: true }
  | { redirect: string; status?: 301 | 302 | 307 | 308 }
  | { delayMs: number; then?: 'normal' };

/** Per-key queues of scripted answers, consumed one per request; an empty queue means "behave normally". */
export class Script {
  private readonly queues = new Map<string, Scripted[]>();

  push(key: string, ...answers: Scripted[]): void {
    const q = this.queues.get(key) ?? [];
    q.push(...answers);
    this.queues.set(key, q);
  }

  next(key: string): Scripted | undefined {
    return this.queues.get(key)?.shift();
  }

  clear(): void {
    this.queues.clear();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Apply a scripted answer. Returns true when it answered (or dropped) the request, false when
 * the normal handler should go on (a pure delay).
 */
export async function applyScripted(s: Scripted, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if ('hang' in s) return true; // never answer; the server's close() destroys the socket
  if ('reset' in s) {
    req.socket.resetAndDestroy();
    return true;
  }
  if ('redirect' in s) {
    res.writeHead(s.status ?? 302, { location: s.redirect, 'content-type': 'text/html' }).end('moved');
    return true;
  }
  if (s.delayMs) await sleep(s.delayMs);
  if (!('status' in s)) return false;
  const headers: Record<string, string> = { 'content-type': s.contentType ?? 'text/html' };
  if (s.retryAfter !== undefined) headers['retry-after'] = String(s.retryAfter);
  res.writeHead(s.status, headers).end(s.body ?? '');
  return true;
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
