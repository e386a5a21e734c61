/**
 * A secure-mode client connection: handshake, then requests matched to
 * responses by id, and pushes delivered to a listener. Used by the
 * interactive and scripted clients, the tests and the benchmark.
 */
import { connect, type Socket } from "node:net";
import { ChatError, isErrorCode } from "../errors.ts";
import type { CryptoProvider } from "../crypto/provider.ts";
import { FrameKind, FrameReader, type Frame } from "../protocol/frames.ts";
import type { Push, Response } from "../protocol/messages.ts";
import {
  deriveSessionKeys,
  encodeClientHello,
  macEqual,
  newNonce,
  open,
  parseAlert,
  parseServerHello,
  seal,
  serverConfirm,
  type SessionKeys,
} from "../protocol/secure.ts";
import { endSocket } from "./end-socket.ts";

export interface SecureClientOptions {
  host: string;
  port: number;
  provider: CryptoProvider;
  /** scrypt(passphrase): see deriveMaster(). */
  master: Buffer;
  /** Connect plus handshake deadline. */
  timeoutMs?: number;
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
  private closeCause: Error | undefined;
  private closeListeners: ((e: Error | undefined) => void)[] = [];
  /** Receives every push (live messages, shutdown notice). */
  onPush: (p: Push) => void = () => {};

  private constructor(
    private readonly socket: Socket,
    private readonly opts: SecureClientOptions,
  ) {}

  /** Connects and completes the handshake; rejects with ChatError on a wrong passphrase. */
  static connect(opts: SecureClientOptions): Promise<SecureClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: opts.host, port: opts.port, noDelay: true });
      const c = new SecureClient(socket, opts);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ChatError("timeout", `no handshake with ${opts.host}:${opts.port} in time`));
      }, opts.timeoutMs ?? 10_000);
      const nonce = newNonce();
      let settled = false;
      const fail = (e: Error) => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(e);
      };
      socket.once("connect", () => socket.write(encodeClientHello(nonce)));
      socket.on("error", (e) => {
        fail(e);
        c.terminate(e);
      });
      socket.on("close", () => {
        fail(new ChatError("bad_hello", "server closed the connection during the handshake"));
        c.terminate(c.closedError);
      });
      c.handshakeDone = async (f: Frame) => {
        try {
          if (f.kind === FrameKind.ALERT) {
            const a = parseAlert(f);
            throw new ChatError(isErrorCode(a.code) ? a.code : "internal", a.message);
          }
          const hello = parseServerHello(f);
          const keys = await deriveSessionKeys(opts.provider, opts.master, nonce, hello.nonce);
          const want = await serverConfirm(opts.provider, keys, nonce, hello.nonce);
          if (!macEqual(want, hello.confirm))
            throw new ChatError(
              "auth_failed",
              "the server's key confirmation failed: wrong passphrase",
            );
          c.keys = keys;
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
    if (this.closedError) return;
    try {
      if (!this.keys) return await this.handshakeDone(f);
      if (f.kind === FrameKind.ALERT) {
        const a = parseAlert(f);
        throw new ChatError(isErrorCode(a.code) ? a.code : "internal", `server: ${a.message}`);
      }
      const pt = await open(this.opts.provider, this.keys.s2c, this.recvSeq, f);
      this.recvSeq++;
      const msg = JSON.parse(pt.toString("utf8")) as Response | Push;
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
    if (!this.keys) return Promise.reject(new Error("not connected"));
    const keys = this.keys;
    const id = this.nextId++;
    const data = Buffer.from(JSON.stringify({ ...params, id, op }), "utf8");
    return new Promise<Response>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.outbound = this.outbound.then(async () => {
        try {
          const frame = await seal(this.opts.provider, keys.c2s, this.sendSeq++, data);
          if (!this.socket.destroyed) this.socket.write(frame);
        } catch (e) {
          this.pending.delete(id);
          reject(e as Error);
        }
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

  async close(): Promise<void> {
    await this.outbound;
    await endSocket(this.socket);
  }

  private terminate(e: Error | undefined): void {
    if (this.terminated) return;
    this.terminated = true;
    this.closeCause = e;
    this.closedError = e ?? new ChatError("shutdown", "connection closed");
    for (const p of this.pending.values()) p.reject(this.closedError);
    this.pending.clear();
    if (!this.socket.destroyed) this.socket.destroy();
    for (const l of this.closeListeners.splice(0)) l(e);
  }
}
