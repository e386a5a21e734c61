/**
 * A classic-mode (AN Protocol 2.0) client connection: one encrypted 304-byte
 * packet per request, answers read back in order.
 */
import { connect, type Socket } from "node:net";
import { ChatError } from "../errors.ts";
import type { CryptoProvider } from "../crypto/provider.ts";
import {
  Command,
  PacketReader,
  decodePacket,
  encodePacket,
  fieldText,
  type PacketFields,
} from "../protocol/classic.ts";
import { endSocket } from "./end-socket.ts";

export interface ClassicAnswer {
  ok: boolean;
  command: number;
  text: string;
  id: number;
  length: number;
}

export interface ClassicClientOptions {
  host: string;
  port: number;
  provider: CryptoProvider;
  key: Buffer;
  iv: Buffer;
  timeoutMs?: number;
}

export class ClassicClient {
  private readonly reader = new PacketReader();
  private readonly waiting: { resolve: (a: ClassicAnswer) => void; reject: (e: Error) => void }[] =
    [];
  private chain: Promise<void> = Promise.resolve();
  private closedError: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly opts: ClassicClientOptions,
  ) {
    socket.on("data", (chunk: Buffer) => {
      for (const p of this.reader.push(chunk)) this.chain = this.chain.then(() => this.answer(p));
    });
    const end = (e?: Error) => {
      this.closedError ??= e ?? new ChatError("shutdown", "server closed the connection");
      for (const w of this.waiting.splice(0)) w.reject(this.closedError);
    };
    socket.on("error", (e) => end(e));
    socket.on("close", () => end());
  }

  static connect(opts: ClassicClientOptions): Promise<ClassicClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: opts.host, port: opts.port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ChatError("timeout", `cannot connect to ${opts.host}:${opts.port}`));
      }, opts.timeoutMs ?? 10_000);
      socket.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new ClassicClient(socket, opts));
      });
    });
  }

  private async answer(wire: Buffer): Promise<void> {
    const w = this.waiting.shift();
    if (!w) return;
    try {
      const p = decodePacket(
        await this.opts.provider.aesCbcDecrypt(this.opts.key, this.opts.iv, wire),
      );
      const len = Math.max(0, Math.min(p.length, p.body.length));
      const raw = p.body.subarray(0, len);
      w.resolve({
        ok: p.command === Command.SERVER_SUCCESS,
        command: p.command,
        text: fieldText(raw),
        id: p.id,
        length: p.length,
      });
    } catch (e) {
      w.reject(e as Error);
    }
  }

  /** Sends one request packet; resolves with the server's answer. */
  async request(fields: PacketFields): Promise<ClassicAnswer> {
    if (this.closedError) throw this.closedError;
    const wire = await this.opts.provider.aesCbcEncrypt(
      this.opts.key,
      this.opts.iv,
      encodePacket(fields),
    );
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(wire);
    });
  }

  /** The connection is closed (by either side): requests would fail. */
  get isClosed(): boolean {
    return this.closedError !== undefined || this.socket.destroyed;
  }

  /** Resolves when the connection is closed, by either side. */
  closed(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((r) => this.socket.once("close", () => r()));
  }

  async close(): Promise<void> {
    await endSocket(this.socket);
  }
}
