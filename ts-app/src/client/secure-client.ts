/**
 * A secure-mode client connection: the handshake (the server's host key
 * checked by a HostKeyPolicy), then requests matched to responses by id,
 * pushes delivered to a listener, and an authenticated close both ways.
 * Used by the interactive and scripted clients, the tests and the benchmark.
 */
import { connect, type Socket } from "node:net";
import { ChatError } from "../errors.ts";
import type { CryptoProvider } from "../crypto/provider.ts";
import { FrameKind, FrameReader, type Frame } from "../protocol/frames.ts";
import { finishClientHandshake, startClientHandshake } from "../protocol/handshake.ts";
import { fingerprint } from "../protocol/keys.ts";
import type { Push, Response } from "../protocol/messages.ts";
import {
  ContentType,
  alertBody,
  open,
  parseAlertBody,
  parseClearAlert,
  seal,
  type SessionKeys,
  type Suite,
} from "../protocol/secure.ts";
import { endSocket } from "./end-socket.ts";
import type { HostKeyPolicy } from "./host-keys.ts";

export interface SecureClientOptions {
  host: string;
  port: number;
  provider: CryptoProvider;
  /** Decides whether the server's host key is the right one (host-keys.ts). */
  hostKeys: HostKeyPolicy;
  /** Connect plus handshake deadline. */
  timeoutMs?: number;
  /** Local address to connect from. */
  localAddress?: string;
  /** Suites offered, most preferred first (default: protocol/secure.ts defaultSuites). */
  suites?: Suite[];
}

type Pending = { resolve: (r: Response) => void; reject: (e: Error) => void };

export class SecureClient {
  private readonly reader = new FrameReader();
  private keys: SessionKeys | undefined;
  private sendSeq = 0;
  private recvSeq = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private inbound: Promise<void> = Promise.resolve();
  private outbound: Promise<void> = Promise.resolve();
  private closedError: Error | undefined;
  private terminated = false;
  private closing = false;
  private closeCause: Error | undefined;
  private closeListeners: ((e: Error | undefined) => void)[] = [];
  /** The server's host key fingerprint (SHA256:...), once connected. */
  serverKey = "";
  /** Receives every push (live messages, and the server's shutdown). */
  onPush: (p: Push) => void = () => {};

  private constructor(
    private readonly socket: Socket,
    private readonly opts: SecureClientOptions,
  ) {}

  /**
   * Connects and completes the handshake. Rejects with a ChatError when the
   * server refuses (its unauthenticated alert gives only the code), the
   * hello is altered (bad_signature) or the host key is not accepted.
   */
  static connect(opts: SecureClientOptions): Promise<SecureClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: opts.host,
        port: opts.port,
        noDelay: true,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      });
      const c = new SecureClient(socket, opts);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ChatError("timeout", `no handshake with ${opts.host}:${opts.port} in time`));
      }, opts.timeoutMs ?? 10_000);
      const hs = startClientHandshake(opts.suites);
      let settled = false;
      const fail = (e: Error) => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(e);
      };
      socket.once("connect", () => socket.write(hs.hello));
      socket.on("error", (e) => {
        fail(e);
        c.terminate(e);
      });
      socket.on("close", () => {
        void c.inbound.then(() => {
          fail(new ChatError("bad_hello", "server closed the connection during the handshake"));
          c.terminate(
            c.closing
              ? undefined
              : new ChatError(
                  "truncated",
                  "the connection ended without the server's authenticated close",
                ),
          );
        });
      });
      c.handshakeDone = async (f: Frame) => {
        try {
          if (f.kind === FrameKind.ALERT) {
            const { code } = parseClearAlert(f);
            throw new ChatError(
              code,
              `the server refused the connection before the handshake (unauthenticated alert: ${code})`,
            );
          }
          const r = await finishClientHandshake(opts.provider, hs, f);
          await opts.hostKeys.check(opts.host, opts.port, r.hostKey);
          c.keys = r.keys;
          c.serverKey = fingerprint(r.hostKey);
          clearTimeout(timer);
          settled = true;
          resolve(c);
        } catch (e) {
          fail(e as Error);
        }
      };
      socket.on("data", (chunk: Buffer) => c.onData(chunk));
    });
  }

  private handshakeDone: (f: Frame) => Promise<void> = async () => {};

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.terminate(e as Error);
      return;
    }
    for (const f of frames) this.inbound = this.inbound.then(() => this.handle(f));
  }

  private async handle(f: Frame): Promise<void> {
    if (this.terminated) return;
    try {
      if (!this.keys) return await this.handshakeDone(f);
      const rec = await open(this.opts.provider, this.keys.s2c, this.recvSeq, f);
      this.recvSeq++;
      if (rec.type === ContentType.ALERT) {
        const a = parseAlertBody(rec.body);
        if (a.code === "shutdown") this.onPush({ push: "shutdown" });
        this.terminate(
          a.code === "close" || a.code === "shutdown"
            ? undefined
            : new ChatError(a.code, `server: ${a.message}`),
        );
        return;
      }
      const msg = JSON.parse(rec.body.toString("utf8")) as Response | Push;
      if ("push" in msg) {
        this.onPush(msg as Push);
        return;
      }
      const p = this.pending.get(msg.id);
      if (p) {
        this.pending.delete(msg.id);
        p.resolve(msg);
      }
    } catch (e) {
      this.terminate(e as Error);
    }
  }

  /** Sends a request and resolves with its response (ok or error, as sent). */
  request(op: string, params: Record<string, unknown> = {}): Promise<Response> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (!this.keys || this.closing) return Promise.reject(new Error("not connected"));
    const id = this.nextId++;
    const data = Buffer.from(JSON.stringify({ ...params, id, op }), "utf8");
    return new Promise<Response>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send(ContentType.DATA, data).catch((e: unknown) => {
        this.pending.delete(id);
        reject(e as Error);
      });
    });
  }

  /** Like request() but throws ChatError for an error response. */
  async call(op: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const r = await this.request(op, params);
    if (!r.ok) throw new ChatError(r.error.code, r.error.message);
    return r;
  }

  /** Resolves when the connection closes, with the error that closed it if any. */
  closed(): Promise<Error | undefined> {
    if (this.terminated) return Promise.resolve(this.closeCause);
    return new Promise((r) => this.closeListeners.push(r));
  }

  /**
   * Authenticated close: the `close` alert after every request sent, then
   * FIN; the server answers what it read, then closes likewise.
   */
  async close(): Promise<void> {
    if (!this.terminated && this.keys && !this.closing) {
      this.closing = true;
      await this.send(ContentType.ALERT, alertBody("close", "end of session")).catch(
        () => undefined,
      );
    }
    this.closing = true;
    await endSocket(this.socket);
  }

  /** Seals in order on the output chain. */
  private send(type: ContentType, data: Buffer): Promise<void> {
    const keys = this.keys!;
    const next = this.outbound.then(async () => {
      const frame = await seal(this.opts.provider, keys.c2s, this.sendSeq++, type, data);
      if (!this.socket.destroyed) this.socket.write(frame);
    });
    this.outbound = next.catch(() => undefined);
    return next;
  }

  private terminate(e: Error | undefined): void {
    if (this.terminated) return;
    this.terminated = true;
    this.closeCause = e;
    this.closedError = e ?? new ChatError("close", "connection closed");
    for (const p of this.pending.values()) p.reject(this.closedError);
    this.pending.clear();
    if (!this.socket.destroyed) this.socket.destroy();
    for (const l of this.closeListeners.splice(0)) l(e);
  }
}
