// The syslog connector at runtime: TCP/TLS servers on the main thread (backpressure by pausing
// sockets while emits are pending) and one UDP receiving Worker per UDP listener. What either
// receives waits as raw bytes and is parsed and emitted only when the pipeline has room; drops
// of either kind are counted, never silent.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Worker } from 'node:worker_threads';
import type { Connector, ConnectorContext, EnvelopeList, RawEnvelope } from '../../src/plugin/contract.js';
import { buildEnvelopeAt, type Receipt } from './envelope.js';
import { FrameBatch, FrameDecoder, type Framing } from './framing.js';
import type { ParseOptions, SyslogFormat } from './parse.js';
import { plainAddress, sourceFilter } from './sources.js';
import type { FromWorker, ToWorker, UdpWorkerConfig } from './udp-worker.js';
import { wallClockIn } from './zone.js';

export interface ListenConfig {
  protocol: 'udp' | 'tcp' | 'tls';
  address: string;
  port: number;
  cert?: string;
  key?: string;
  ca?: string;
  client_auth: boolean;
}

export interface SyslogConfig {
  listen: ListenConfig[];
  format: SyslogFormat;
  framing: Framing;
  max_message_bytes: number;
  max_connections: number;
  /** Seconds without data before a TCP peer is disconnected; 0 = never. */
  idle_timeout: number;
  allowed_sources: string[];
  timezone: string;
  udp_receive_buffer_bytes: number;
}

type UdpBatch = Extract<FromWorker, { type: 'batch' }>;

/**
 * Received messages: a UDP worker's batch or the frames of one TCP read, kept as bytes (off the
 * JS heap) until the pipeline takes them into a batch, and parsed only then.
 */
interface RawWork {
  kind: 'udp' | 'tcp';
  n: number;
  /**
   * The envelopes to emit, made as the pipeline reads them (again for a retry, with the same
   * `opts`; `first` is false then): parsed envelopes waiting in the pipeline's queue survived
   * young-generation collections, and copying them was a fifth of the main thread's time at full
   * TCP load.
   */
  envelopes(opts: ParseOptions, first: boolean): EnvelopeList;
  /** The envelopes committed, or were counted as dropped. */
  done(): void;
}

/** Messages of one TCP connection received and not yet committed before its socket is paused, and when it resumes. */
const TCP_HIGH_WATER = 20_000;
const TCP_LOW_WATER = 5_000;
/** Datagrams a UDP worker may have handed over unacknowledged before it drops (memory bound). */
const UDP_MAX_PENDING = 200_000;
/** Consecutive unparseable binary frames after which a TCP peer is taken for garbage and cut off. */
const MAX_GARBAGE_FRAMES = 100;
/**
 * Senders (and ports per sender) whose datagrams share one metadata object from their second
 * datagram on; past this many the table starts over. A sender that uses a new port for every
 * message (`logger`) gets a metadata object per message, as before.
 */
const UDP_SHARED_SENDERS = 1024;
/** Parsed messages handed to the pipeline and not yet committed (its queue holds 20,000). */
const PARSED_IN_FLIGHT = 20_000;
const DROP_LOG_MS = 10_000;
const EMIT_ATTEMPTS = 3;

/** A PEM given inline, or the path of a PEM file. */
function pem(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8');
}

export class SyslogReceiver implements Connector {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly rawSockets = new Set<net.Socket>();
  private readonly workers: Worker[] = [];
  private readonly rawQueue: RawWork[] = [];
  /** UDP sender → port → the receipt its datagrams share (see udpReceipt). */
  private readonly udpSenders = new Map<string, Map<number, Receipt>>();
  private parsedInFlight = 0;
  /** Resolved when the raw queue is empty and nothing parsed is in flight (stop waits for it). */
  private onIdle: (() => void) | undefined;
  private readonly allowed: ((address: string) => boolean) | undefined;
  private readonly parseBase: Omit<ParseOptions, 'now'>;
  private stopping = false;
  private droppedSinceLog: Record<string, number> = {};
  private lastDropLog = 0;
  /** The addresses actually bound (port 0 resolved), in `listen` order. */
  readonly bound: Array<{ protocol: string; address: string; port: number }> = [];

  constructor(private readonly config: SyslogConfig, private readonly ctx: ConnectorContext) {
    this.allowed = sourceFilter(config.allowed_sources);
    this.parseBase = { format: config.format, wallClock: wallClockIn(config.timezone) };
  }

  async start(): Promise<void> {
    try {
      for (const l of this.config.listen) {
        if (l.protocol === 'udp') await this.startUdp(l);
        else await this.startTcp(l);
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const closed = this.servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const s of this.sockets) s.destroy();
    for (const s of this.rawSockets) s.destroy();
    await Promise.all(closed);
    await Promise.all(this.workers.map((w) => this.stopWorker(w)));
    this.servers.length = 0;
    this.workers.length = 0;
    // what was received is emitted before we report stopped: the daemon then waits for its commit
    if (this.rawQueue.length > 0 || this.parsedInFlight > 0) await new Promise<void>((r) => (this.onIdle = r));
  }

  private parseOptions(): ParseOptions {
    return { ...this.parseBase, now: Date.now() };
  }

  private enqueue(work: RawWork): void {
    this.rawQueue.push(work);
    this.pump();
  }

  /** Parse and emit queued raw work, in arrival order, while the parsed messages in flight allow. */
  private pump(): void {
    while (this.parsedInFlight < PARSED_IN_FLIGHT && this.rawQueue.length > 0) {
      const work = this.rawQueue.shift()!;
      this.parsedInFlight += work.n;
      void this.emit(work).then(() => {
        this.parsedInFlight -= work.n;
        work.done();
        this.pump();
      });
    }
    let udp = 0;
    let tcp = 0;
    for (const w of this.rawQueue) {
      if (w.kind === 'udp') udp += w.n;
      else tcp += w.n;
    }
    this.ctx.metrics.gauge('udp_backlog', udp);
    this.ctx.metrics.gauge('tcp_backlog', tcp);
    if (this.onIdle && this.rawQueue.length === 0 && this.parsedInFlight === 0) {
      this.onIdle();
      this.onIdle = undefined;
    }
  }

  /**
   * Emit, retrying a rejected batch a few times: the pipeline rejects every batch queued behind
   * one that failed to commit, and those are worth another try. What still fails is counted.
   */
  private async emit(work: RawWork): Promise<void> {
    const opts = this.parseOptions();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ctx.emit(work.envelopes(opts, attempt === 1));
        return;
      } catch (err) {
        if (this.stopping || this.ctx.signal.aborted || attempt >= EMIT_ATTEMPTS) {
          this.countDropped(work.n, 'store_failed');
          if (!this.stopping) this.ctx.reportError(`syslog: could not store ${work.n} messages: ${(err as Error).message}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  }

  private countDropped(count: number, reason: string): void {
    if (count <= 0) return;
    this.ctx.metrics.dropped(count, reason);
    this.droppedSinceLog[reason] = (this.droppedSinceLog[reason] ?? 0) + count;
    const now = Date.now();
    if (now - this.lastDropLog >= DROP_LOG_MS) {
      this.ctx.logger.warn({ dropped: this.droppedSinceLog }, 'syslog messages dropped');
      this.droppedSinceLog = {};
      this.lastDropLog = now;
    }
  }

  // ------------------------------------------------------------ TCP / TLS

  private async startTcp(l: ListenConfig): Promise<void> {
    const onSocket = (socket: net.Socket) => this.onConnection(socket, l.protocol as 'tcp' | 'tls');
    const server = l.protocol === 'tls'
      ? tls.createServer({
        cert: pem(l.cert), key: pem(l.key), ca: pem(l.ca),
        requestCert: l.client_auth, rejectUnauthorized: l.client_auth,
      }, onSocket)
      : net.createServer(onSocket);
    server.maxConnections = this.config.max_connections;
    // Refuse unknown sources before any TLS handshake, and track raw sockets (also those still
    // in a handshake) so that stop() can close them all.
    server.prependListener('connection', (raw: net.Socket) => {
      if (this.stopping || (this.allowed && !this.allowed(plainAddress(raw.remoteAddress)))) {
        this.ctx.logger.info({ remote: plainAddress(raw.remoteAddress), protocol: l.protocol }, 'syslog: connection refused (not in allowed_sources)');
        raw.destroy();
        return;
      }
      this.rawSockets.add(raw);
      raw.once('close', () => this.rawSockets.delete(raw));
    });
    server.on('drop', (d) => this.ctx.logger.warn({ remote: d?.remoteAddress, max: this.config.max_connections }, 'syslog: connection refused, max_connections reached'));
    if (server instanceof tls.Server) {
      server.on('tlsClientError', (err, socket) => this.ctx.logger.info({ err: err.message, remote: socket.remoteAddress }, 'syslog: TLS handshake failed'));
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(l.port, l.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.ctx.reportError(`syslog ${l.protocol} ${l.address}:${l.port}: ${err.message}`));
    this.servers.push(server);
    const a = server.address() as net.AddressInfo;
    this.bound.push({ protocol: l.protocol, address: a.address, port: a.port });
    this.ctx.logger.info({ protocol: l.protocol, address: a.address, port: a.port }, 'syslog listening');
  }

  private onConnection(socket: net.Socket, protocol: 'tcp' | 'tls'): void {
    const sender = plainAddress(socket.remoteAddress);
    if (socket.destroyed) return; // refused at connect
    this.sockets.add(socket);
    this.ctx.metrics.gauge('connections', this.sockets.size);
    const receipt: Receipt = { sender, senderPort: socket.remotePort ?? 0, protocol, persistent: true };
    const decoder = new FrameDecoder(this.config.framing, this.config.max_message_bytes);
    /** Messages received and not yet committed. */
    let pending = 0;
    let paused = false;
    let garbageRun = 0;

    /** Frame i of a batch as an envelope; `first`: the emit's first attempt (garbage is counted once). */
    const envelope = (batch: FrameBatch, i: number, opts: ParseOptions, first: boolean): RawEnvelope => {
      const f = batch.flags?.get(i);
      const r: Receipt = f === undefined ? receipt : { ...receipt, originalLength: f.originalLength, framingError: f.error, persistent: false };
      const env = buildEnvelopeAt(batch.buf!, batch.bounds[2 * i]!, batch.bounds[2 * i + 1]!, r, opts);
      if (first) {
        garbageRun = env.parseError && env.metadata?.invalid_utf8 ? garbageRun + 1 : 0;
        if (garbageRun === MAX_GARBAGE_FRAMES && !socket.destroyed) {
          this.ctx.logger.warn({ remote: sender, protocol, frames: garbageRun }, 'syslog: peer sends binary garbage, disconnected');
          socket.destroy();
        }
      }
      return env;
    };

    const deliver = (batch: FrameBatch) => {
      const n = batch.length;
      if (n === 0) return;
      pending += n;
      if (pending >= TCP_HIGH_WATER && !paused) {
        paused = true;
        socket.pause();
      }
      this.enqueue({
        kind: 'tcp',
        n,
        envelopes: (opts, first) => ({ length: n, at: (i) => envelope(batch, i, opts, first) }),
        done: () => {
          pending -= n;
          if (paused && pending <= TCP_LOW_WATER) {
            paused = false;
            socket.resume();
          }
        },
      });
    };

    if (this.config.idle_timeout > 0) {
      const idleMs = this.config.idle_timeout * 1000;
      socket.setTimeout(idleMs);
      socket.on('timeout', () => {
        // Paused by our own backpressure is not idle: wait another period.
        if (paused) {
          socket.setTimeout(idleMs);
          return;
        }
        this.ctx.logger.info({ remote: sender, protocol, buffered: decoder.buffered }, 'syslog: idle TCP peer disconnected');
        socket.destroy();
      });
    }
    socket.on('data', (chunk: Buffer) => {
      const frames = new FrameBatch();
      decoder.push(chunk, frames);
      deliver(frames);
      if (decoder.protocolError && !socket.destroyed) {
        this.ctx.logger.warn({ remote: sender, protocol, error: decoder.protocolError }, 'syslog: framing error, peer disconnected');
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.ctx.logger.debug({ err: err.message, remote: sender }, 'syslog: connection error'));
    socket.on('close', () => {
      const frames = new FrameBatch();
      decoder.end(frames);
      deliver(frames);
      this.sockets.delete(socket);
      this.ctx.metrics.gauge('connections', this.sockets.size);
    });
  }

  // ------------------------------------------------------------ UDP

  private startUdp(l: ListenConfig): Promise<void> {
    const workerData: UdpWorkerConfig = {
      address: l.address, port: l.port, recvBufferSize: this.config.udp_receive_buffer_bytes,
      maxMessageBytes: this.config.max_message_bytes, maxPending: UDP_MAX_PENDING,
      allowedSources: this.config.allowed_sources,
    };
    const worker = new Worker(new URL('./udp-worker.js', import.meta.url), { workerData });
    this.workers.push(worker);
    return new Promise<void>((resolve, reject) => {
      let listening = false;
      worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'listening':
            listening = true;
            this.bound.push({ protocol: 'udp', address: m.address, port: m.port });
            this.ctx.metrics.gauge('udp_receive_buffer_bytes', m.recvBufferSize);
            if (m.recvBufferSize < this.config.udp_receive_buffer_bytes) {
              this.ctx.logger.warn({ requested: this.config.udp_receive_buffer_bytes, granted: m.recvBufferSize },
                'syslog: the kernel granted a smaller UDP receive buffer (raise net.core.rmem_max)');
            }
            this.ctx.logger.info({ protocol: 'udp', address: m.address, port: m.port, recvBufferSize: m.recvBufferSize }, 'syslog listening');
            resolve();
            break;
          case 'batch':
            this.onUdpBatch(worker, m);
            break;
          case 'dropped':
            this.countDropped(m.backlog, 'udp_backlog');
            this.countDropped(m.denied, 'source_not_allowed');
            this.countDropped(m.kernel, 'udp_kernel_buffer');
            break;
          case 'error':
            if (!listening) reject(new Error(`syslog udp ${l.address}:${l.port}: ${m.message}`));
            else this.ctx.reportError(`syslog udp ${l.address}:${l.port}: ${m.message}`);
            break;
          case 'stopped':
            break;
        }
      });
      worker.on('error', (err) => {
        if (!listening) reject(err);
        else this.ctx.reportError(`syslog udp receiver failed: ${err.message}`, { degraded: true });
      });
      worker.on('exit', (code) => {
        if (!listening) reject(new Error(`syslog udp receiver exited with code ${code}`));
        else if (!this.stopping) this.ctx.reportError(`syslog udp receiver exited with code ${code}`, { degraded: true });
      });
    });
  }

  /**
   * Raw batches wait in the queue and are parsed only when the pipeline has room: a backlog of raw
   * datagrams costs a fraction of the memory of parsed envelopes.
   */
  private onUdpBatch(worker: Worker, m: UdpBatch): void {
    this.enqueue({
      kind: 'udp',
      n: m.ends.length,
      envelopes: (opts) => this.udpEnvelopes(m, opts),
      done: () => worker.postMessage({ type: 'ack', count: m.ends.length } satisfies ToWorker),
    });
  }

  private udpEnvelopes(m: UdpBatch, opts: ParseOptions): EnvelopeList {
    const truncated = m.truncated.length > 0 ? new Map(m.truncated) : undefined;
    const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    return {
      length: m.ends.length,
      at: (i) => {
        const original = truncated?.get(i);
        const receipt: Receipt = original === undefined ? this.udpReceipt(m.senders[i]!, m.ports[i]!)
          : { sender: m.senders[i]!, senderPort: m.ports[i]!, protocol: 'udp', originalLength: original };
        return buildEnvelopeAt(data, i === 0 ? 0 : m.ends[i - 1]!, m.ends[i]!, receipt, opts);
      },
    };
  }

  /**
   * The receipt of a datagram from `sender`:`port`: its own for the first datagram of the pair,
   * then one shared (`persistent`) receipt, so that a device's datagrams share their metadata as a
   * TCP connection's messages do (stored once, events/metadata JSON not made per message).
   */
  private udpReceipt(sender: string, port: number): Receipt {
    let ports = this.udpSenders.get(sender);
    if (!ports) {
      if (this.udpSenders.size >= UDP_SHARED_SENDERS) this.udpSenders.clear();
      this.udpSenders.set(sender, (ports = new Map()));
    }
    const shared = ports.get(port);
    if (shared) return shared;
    if (ports.size >= UDP_SHARED_SENDERS) ports.clear();
    ports.set(port, { sender, senderPort: port, protocol: 'udp', persistent: true });
    return { sender, senderPort: port, protocol: 'udp' };
  }

  private async stopWorker(worker: Worker): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'stopped') {
          clearTimeout(t);
          resolve();
        }
      });
      worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    worker.postMessage({ type: 'stop' } satisfies ToWorker);
    await stopped;
    await worker.terminate();
  }
}
