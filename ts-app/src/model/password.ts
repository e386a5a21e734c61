/**
 * Salted password hashes: scrypt (N=2^14, r=8, p=1), 16-byte random salt,
 * stored as "scrypt$N$r$p$<salt b64>$<hash b64>".
 *
 * Hashing runs on worker threads of its own, not on libuv's thread pool:
 * there the cryptodev provider's device requests run, and a flood of logins
 * must not stall every other client's cipher work. Jobs wait in a bounded
 * queue, served round-robin by key (the peer's address), so one address
 * flooding logins delays another address by at most one hash per other
 * busy address; past the bounds a job is refused at once (`too_many` for
 * the address, `busy` for the whole queue), before any hashing.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { Worker } from "node:worker_threads";
import { ChatError } from "../errors.ts";

const N = 1 << 14;
const R = 8;
const P = 1;
const KEYLEN = 32;

interface ScryptJob {
  password: string;
  salt: Buffer;
  n: number;
  r: number;
  p: number;
}

interface Queued {
  job: ScryptJob;
  resolve: (key: Buffer) => void;
  reject: (e: Error) => void;
}

/** The worker: one synchronous scrypt per message (CommonJS, evaluated, so no file to ship). */
const workerSource = `
const { parentPort } = require("node:worker_threads");
const { scryptSync } = require("node:crypto");
parentPort.on("message", (m) => {
  try {
    const key = scryptSync(m.password, Buffer.from(m.salt), ${KEYLEN}, {
      N: m.n, r: m.r, p: m.p, maxmem: 256 * m.n * m.r,
    });
    parentPort.postMessage({ key });
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.message) || e) });
  }
});
`;

interface Slot {
  worker: Worker;
  busy: Queued | undefined;
}

export interface HasherOptions {
  threads: number;
  /** Jobs waiting per key (address). */
  queuePerKey: number;
  /** Jobs waiting in all. */
  queue: number;
}

export class PasswordHasher {
  private readonly slots: Slot[] = [];
  /** Waiting jobs by key; the Map's order is the round-robin order. */
  private readonly waiting = new Map<string, Queued[]>();
  private waitingCount = 0;
  private closed = false;

  constructor(private readonly opts: HasherOptions) {}

  /** A new salted hash of `password`, in the stored format. */
  async hash(password: string, key = ""): Promise<string> {
    const salt = randomBytes(16);
    const h = await this.run(key, { password, salt, n: N, r: R, p: P });
    return `scrypt$${N}$${R}$${P}$${salt.toString("base64")}$${h.toString("base64")}`;
  }

  /**
   * Constant-work check: a missing user (`stored` undefined) costs the same
   * scrypt as a wrong password, against a random salt.
   */
  async verify(password: string, stored: string | undefined, key = ""): Promise<boolean> {
    const parts = (stored ?? "").split("$");
    const params = parts.slice(1, 4).map(Number);
    const [n, r, p] = params as [number, number, number];
    const wellFormed =
      parts.length === 6 &&
      parts[0] === "scrypt" &&
      params.every((x) => Number.isSafeInteger(x) && x > 0) &&
      n <= 1 << 20 &&
      r <= 32 &&
      p <= 16;
    const job: ScryptJob = wellFormed
      ? { password, salt: Buffer.from(parts[4]!, "base64"), n, r, p }
      : { password, salt: randomBytes(16), n: N, r: R, p: P };
    const got = await this.run(key, job);
    if (!wellFormed) return false;
    const want = Buffer.from(parts[5]!, "base64");
    return want.length === got.length && timingSafeEqual(want, got);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const list of this.waiting.values())
      for (const q of list) q.reject(new ChatError("shutdown", "the server is stopping"));
    this.waiting.clear();
    this.waitingCount = 0;
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private run(key: string, job: ScryptJob): Promise<Buffer> {
    if (this.closed) return Promise.reject(new ChatError("shutdown", "the server is stopping"));
    const mine = this.waiting.get(key);
    if ((mine?.length ?? 0) >= this.opts.queuePerKey)
      return Promise.reject(
        new ChatError("too_many", "too many password checks from your address at once"),
      );
    if (this.waitingCount >= this.opts.queue)
      return Promise.reject(
        new ChatError("busy", "the server is busy checking passwords: try again shortly"),
      );
    return new Promise<Buffer>((resolve, reject) => {
      const q = { job, resolve, reject };
      if (mine) mine.push(q);
      else this.waiting.set(key, [q]);
      this.waitingCount++;
      this.pump();
    });
  }

  private next(): Queued | undefined {
    const first = this.waiting.entries().next();
    if (first.done) return undefined;
    const [key, list] = first.value;
    const q = list.shift()!;
    this.waiting.delete(key);
    if (list.length) this.waiting.set(key, list); // to the back of the rotation
    this.waitingCount--;
    return q;
  }

  private pump(): void {
    while (this.waitingCount > 0) {
      const slot = this.slots.find((s) => !s.busy) ?? this.spawn();
      if (!slot) return;
      const q = this.next()!;
      slot.busy = q;
      slot.worker.ref();
      slot.worker.postMessage(q.job);
    }
  }

  private spawn(): Slot | undefined {
    if (this.slots.length >= this.opts.threads) return undefined;
    const worker = new Worker(workerSource, { eval: true });
    worker.unref();
    const slot: Slot = { worker, busy: undefined };
    worker.on("message", (m: { key?: Uint8Array; error?: string }) => {
      const q = slot.busy;
      slot.busy = undefined;
      worker.unref();
      if (m.key) q?.resolve(Buffer.from(m.key));
      else q?.reject(new Error(`scrypt: ${m.error ?? "failed"}`));
      this.pump();
    });
    const gone = (e: unknown) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      slot.busy?.reject(new Error(`password worker failed: ${String(e)}`));
      slot.busy = undefined;
      if (!this.closed) this.pump();
    };
    worker.on("error", gone);
    worker.on("exit", (code) => gone(`exit ${code}`));
    this.slots.push(slot);
    return slot;
  }
}
