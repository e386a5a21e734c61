/**
 * One accepted TCP connection, protocol-agnostic: a never-reused id, a
 * sequential task queue for its requests, backpressure both ways (output
 * counted per connection and against a server-wide budget), and the login,
 * idle and slow-peer timers. The wire protocols (secure, classic) sit on top.
 */
import type { Socket } from "node:net";
import type { Logger } from "../log.ts";
import { addressGroup } from "./limits.ts";

export interface ConnectionLimits {
  /** Close when no complete frame arrived for this long (0 = never). */
  idleTimeoutMs: number;
  /** Close when a started frame is not complete after this long (slowloris). */
  frameTimeoutMs: number;
  /** Stop reading while this many bytes wait to be sent. */
  outHighWater: number;
  /** Drop the peer when this many bytes wait to be sent (it does not read). */
  outMax: number;
  /** Stop reading while this many requests of this connection are unanswered. */
  maxInflight: number;
}

/** Bytes gathered before a corked socket is flushed (Connection.write). */
const corkMax = 16 * 1024;

export const defaultLimits: ConnectionLimits = {
  idleTimeoutMs: 10 * 60_000,
  frameTimeoutMs: 10_000,
  outHighWater: 256 * 1024,
  outMax: 4 * 1024 * 1024,
  maxInflight: 64,
};

export type TimeoutKind = "idle" | "frame" | "login";

/**
 * Bytes written and not yet taken by the kernel, summed over every
 * connection. Past `max`, a connection that writes more while it holds
 * over its fair share (max / connections, at least `minShare`) is dropped:
 * the peers that do not read pay, not the server's memory, which stays
 * within about twice `max`.
 */
export class OutputBudget {
  used = 0;
  connections = 0;
  constructor(
    readonly max: number,
    readonly minShare: number,
  ) {}

  overFor(held: number): boolean {
    if (this.used <= this.max) return false;
    return held > Math.max(this.minShare, this.max / Math.max(1, this.connections));
  }
}

export class Connection {
  closed = false;
  private queue: Promise<void> = Promise.resolve();
  private inflight = 0;
  private readonly settleWaiters: (() => void)[] = [];
  private pausedBy = new Set<"inflight" | "output">();
  private idleTimer: NodeJS.Timeout | undefined;
  private frameTimer: NodeJS.Timeout | undefined;
  private loginTimer: NodeJS.Timeout | undefined;
  /** Bytes written and not yet taken by the kernel, as last seen. */
  private outBytes = 0;
  /** Writes of this tick are being gathered (write()). */
  private corked = false;
  /** The peer's address group (limits count by it): an IPv4 address or an IPv6 /64. */
  readonly address: string;
  private readonly closers: (() => void)[] = [];
  /** Set by the protocol: what to do when a timer fires. */
  onTimeout: (kind: TimeoutKind) => void = () => this.destroy();

  constructor(
    readonly id: number,
    readonly socket: Socket,
    readonly limits: ConnectionLimits,
    readonly log: Logger,
    private readonly budget: OutputBudget = new OutputBudget(Infinity, 0),
  ) {
    this.address = addressGroup(socket.remoteAddress);
    budget.connections++;
    socket.on("drain", () => this.syncOutput());
    socket.on("close", () => this.finish());
    socket.on("error", (e: NodeJS.ErrnoException) => {
      this.log.debug(`socket error: ${e.code ?? e.message}`);
      this.destroy();
    });
    this.touch();
  }

  /**
   * Starts the slow-peer clock before any byte arrived: the first frame must
   * then be complete within the limit too (secure mode's hello, which a
   * client sends at once; classic clients may connect before their user typed).
   */
  expectFrameNow(): void {
    this.partial(1);
  }

  /** Runs when the connection is gone (registry removal, unsubscribes). */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closers.push(fn);
  }

  /**
   * Queues a request's work; tasks run one at a time in arrival order. A
   * thrown error is logged and closes the connection (protocols catch their
   * expected errors themselves).
   */
  enqueue(task: () => Promise<void>): void {
    this.inflight++;
    if (this.inflight >= this.limits.maxInflight) this.pause("inflight");
    this.queue = this.queue.then(async () => {
      if (this.closed) return;
      try {
        await task();
      } catch (e) {
        this.log.error(`internal error: ${(e as Error).stack ?? String(e)}`);
        this.destroy();
      }
    });
  }

  /** Counts a request answered outside the queue (its answer calls done()). */
  enqueueDetached(): void {
    this.inflight++;
    if (this.inflight >= this.limits.maxInflight) this.pause("inflight");
  }

  /** Stops reading for good (server shutdown). */
  stopReading(): void {
    this.pausedBy.add("inflight");
    this.pausedBy.add("output");
    this.socket.pause();
  }

  /** Marks one queued or detached request as answered. */
  done(): void {
    this.inflight--;
    if (this.inflight < this.limits.maxInflight) this.unpause("inflight");
    if (this.inflight === 0) for (const w of this.settleWaiters.splice(0)) w();
  }

  /** Resolves once every request read so far has been answered (detached ones too). */
  settled(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((r) => this.settleWaiters.push(r));
  }

  /** Resolves when every queued task has run. */
  idle(): Promise<void> {
    return this.queue;
  }

  /**
   * Queues bytes for the peer. What is written in one turn of the event loop
   * (an ack and the push of the same message, a fan-out's records) leaves in
   * one writev(2): the socket is corked at the first write and uncorked on
   * the next tick, after the promise jobs of this turn ran, or as soon as
   * `corkMax` bytes are gathered (so that the output limits below see what
   * the kernel did not take, never bytes merely held back here). A loopback
   * write costs about as much as sealing the record.
   */
  write(buf: Buffer): void {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => this.uncork());
    }
    this.socket.write(buf, () => this.syncOutput());
    if (this.socket.writableLength >= corkMax) this.uncork();
    this.syncOutput();
    this.checkOutput();
  }

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  /** Takes the socket's unsent byte count into this connection's and the budget's. */
  private syncOutput(): void {
    if (this.closed) return;
    const now = this.socket.writableLength;
    this.budget.used += now - this.outBytes;
    this.outBytes = now;
    if (now <= this.limits.outHighWater) this.unpause("output");
  }

  private checkOutput(): void {
    const mine = this.outBytes;
    if (mine > this.limits.outMax) {
      this.log.warn(`peer does not read (${mine} bytes queued): dropping it`);
      this.destroy();
    } else if (this.budget.overFor(mine)) {
      this.log.warn(`server output budget spent; this peer holds ${mine} bytes: dropping it`);
      this.destroy();
    } else if (mine > this.limits.outHighWater) {
      this.pause("output");
    }
  }

  /** Graceful close: sends what is queued, then FIN; destroyed after 2 s at worst. */
  end(last?: Buffer): void {
    if (this.closed || this.socket.writableEnded) return;
    if (last) this.socket.write(last);
    this.socket.end();
    setTimeout(() => this.destroy(), 2000).unref();
  }

  destroy(): void {
    if (!this.socket.destroyed) this.socket.destroy();
    this.finish();
  }

  /** Starts the deadline for logging in (cleared by loggedIn()). */
  startLoginDeadline(ms: number): void {
    if (ms > 0 && !this.closed) this.loginTimer = setTimeout(() => this.fire("login"), ms);
  }

  loggedIn(): void {
    clearTimeout(this.loginTimer);
    this.loginTimer = undefined;
  }

  /** A complete frame arrived: restart the idle timer. */
  touch(): void {
    clearTimeout(this.idleTimer);
    if (this.limits.idleTimeoutMs > 0 && !this.closed)
      this.idleTimer = setTimeout(() => this.fire("idle"), this.limits.idleTimeoutMs);
  }

  /** After each read: a partial frame starts the slow-peer clock, none stops it. */
  partial(pendingBytes: number): void {
    if (pendingBytes === 0) {
      clearTimeout(this.frameTimer);
      this.frameTimer = undefined;
    } else if (!this.frameTimer && this.limits.frameTimeoutMs > 0 && !this.closed) {
      this.frameTimer = setTimeout(() => this.fire("frame"), this.limits.frameTimeoutMs);
    }
  }

  /** Restarts the slow-peer clock when a frame completed and another began. */
  frameCompleted(pendingBytes: number): void {
    clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
    this.partial(pendingBytes);
  }

  private fire(kind: TimeoutKind): void {
    if (this.closed) return;
    this.log.info(
      kind === "idle"
        ? "idle timeout"
        : kind === "login"
          ? "no login in time"
          : "slow peer: frame not completed in time",
    );
    this.onTimeout(kind);
  }

  private pause(why: "inflight" | "output"): void {
    this.pausedBy.add(why);
    this.socket.pause();
  }

  private unpause(why: "inflight" | "output"): void {
    if (!this.pausedBy.delete(why)) return;
    if (this.pausedBy.size === 0 && !this.closed) this.socket.resume();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.frameTimer);
    clearTimeout(this.loginTimer);
    this.budget.used -= this.outBytes;
    this.budget.connections--;
    this.outBytes = 0;
    for (const fn of this.closers.splice(0)) fn();
  }
}
