import type { Socket } from "node:net";

/** QMP events and replies as parsed JSON. */
type QmpMessage = Record<string, unknown>;

/**
 * A minimal QMP client on an accepted socket: negotiates capabilities,
 * runs commands one at a time, and reports events to listeners.
 */
export class Qmp {
  private buf = "";
  private pending: ((m: QmpMessage) => void)[] = [];
  private listeners = new Set<(ev: QmpMessage) => void>();
  private greeted: Promise<void>;

  constructor(private readonly sock: Socket) {
    let greet: () => void = () => {};
    this.greeted = new Promise((r) => (greet = r));
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (!line) continue;
        let msg: QmpMessage;
        try {
          msg = JSON.parse(line) as QmpMessage;
        } catch {
          continue;
        }
        if ("QMP" in msg) greet();
        else if ("event" in msg) for (const l of this.listeners) l(msg);
        else if ("return" in msg || "error" in msg) this.pending.shift()?.(msg);
      }
    });
    sock.on("close", () => {
      for (const p of this.pending.splice(0)) p({ error: { desc: "QMP connection closed" } });
    });
  }

  async start(): Promise<void> {
    await this.greeted;
    await this.execute("qmp_capabilities");
  }

  /** Runs a command; resolves to its `return`, rejects with the error's description. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.push((m) => {
        const err = m.error as { desc?: string } | undefined;
        if (err) reject(new Error(err.desc ?? "QMP error"));
        else resolve(m.return);
      });
      this.sock.write(JSON.stringify({ execute: command, arguments: args }) + "\n");
    });
  }

  onEvent(fn: (ev: QmpMessage) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Unplugs a device and waits for QEMU's DEVICE_DELETED event for it (the
   * guest released it). Resolves "ok" or "error: <reason>".
   */
  async deviceDel(id: string, timeoutMs = 15_000): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    let off = () => {};
    const deleted = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("error: timed out waiting for DEVICE_DELETED"), timeoutMs);
      off = this.onEvent((ev) => {
        const data = ev.data as { device?: string } | undefined;
        if (ev.event === "DEVICE_DELETED" && data?.device === id) resolve("ok");
      });
    });
    try {
      await this.execute("device_del", { id });
      return await deleted;
    } catch (e) {
      return `error: ${(e as Error).message}`;
    } finally {
      clearTimeout(timer);
      off();
    }
  }
}
