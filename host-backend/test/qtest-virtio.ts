/**
 * Drives the real virtio-cryptodev device in the patched QEMU from the host,
 * with no guest: QEMU runs with the qtest accelerator (`-qtest stdio`), and
 * this file plays the guest driver through qtest's port/memory commands —
 * PCI config cycles, the modern virtio-pci capabilities, one split
 * virtqueue, descriptor chains laid out as the test wants them (including
 * malformed ones). QMP (on a unix socket) reads the QOM counters.
 */
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { Qmp } from "../../scripts/vm/qmp.ts";

/** One qtest connection over QEMU's stdin/stdout. */
class Qtest {
  private buf = "";
  private waiting: ((line: string) => void)[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly input: NodeJS.WritableStream,
    output: NodeJS.ReadableStream,
  ) {
    output.setEncoding("utf8");
    output.on("data", (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.startsWith("IRQ")) continue; // asynchronous, not a reply
        this.waiting.shift()?.(line);
      }
    });
  }

  /** Sends one command; resolves to the text after "OK". */
  cmd(line: string): Promise<string> {
    const run = () =>
      new Promise<string>((resolve, reject) => {
        this.waiting.push((reply) => {
          if (reply.startsWith("OK")) resolve(reply.slice(2).trim());
          else reject(new Error(`qtest: ${line.slice(0, 60)} -> ${reply}`));
        });
        this.input.write(line + "\n");
      });
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }

  async out(size: "b" | "w" | "l", port: number, v: number): Promise<void> {
    await this.cmd(`out${size} 0x${port.toString(16)} 0x${v.toString(16)}`);
  }
  async in(size: "b" | "w" | "l", port: number): Promise<number> {
    return Number(await this.cmd(`in${size} 0x${port.toString(16)}`));
  }
  async read(size: "b" | "w" | "l", addr: number): Promise<number> {
    return Number(await this.cmd(`read${size} 0x${addr.toString(16)}`));
  }
  async write(size: "b" | "w" | "l", addr: number, v: number): Promise<void> {
    await this.cmd(`write${size} 0x${addr.toString(16)} 0x${v.toString(16)}`);
  }
  async memwrite(addr: number, data: Buffer): Promise<void> {
    if (data.length === 0) return;
    await this.cmd(`b64write 0x${addr.toString(16)} ${data.length} ${data.toString("base64")}`);
  }
  async memread(addr: number, size: number): Promise<Buffer> {
    if (size === 0) return Buffer.alloc(0);
    return Buffer.from(await this.cmd(`b64read 0x${addr.toString(16)} ${size}`), "base64");
  }
}

const VIRTQ_DESC_F_NEXT = 1;
const VIRTQ_DESC_F_WRITE = 2;
const RAM_MIB = 512;
const RING_BASE = 0x0100_0000;
const BUF_BASE = 0x0200_0000;
const BUF_END = RAM_MIB * 0x10_0000;

/** A request as descriptors: device-readable buffers, then writable sizes. */
export interface Chain {
  readable: Buffer[];
  writable: number[];
  /** put a writable descriptor first (a wrong direction) */
  writableFirst?: boolean;
  /** pre-fill the writable buffers with this byte (to see what was written) */
  fill?: number;
}

export interface Completion {
  usedLen: number;
  /** the writable buffers, concatenated */
  data: Buffer;
}

/** Chains put on the ring: their head descriptors and writable buffers. */
export interface Submitted {
  heads: number[];
  writable: { addr: number; len: number }[][];
}

/** VIRTIO_F_RING_RESET: bit 40, bit 8 of the second feature word. */
const RING_RESET_HI = 1 << 8;
/** VIRTIO_CONFIG_S_NEEDS_RESET */
export const STATUS_NEEDS_RESET = 0x40;

/** One modern virtio-pci function of the device, its queue 0 driven by us. */
export class VirtioCryptodev {
  private qsize = 0;
  private desc = 0;
  private avail = 0;
  private used = 0;
  private availIdx = 0;
  private usedIdx = 0;
  private notifyAddr = 0;
  deviceCfg = 0;

  constructor(
    private readonly qt: Qtest,
    readonly slot: number,
    private readonly bar: number,
    private readonly ringBase: number,
  ) {}

  private cfgAddr(reg: number): number {
    return (0x8000_0000 | (this.slot << 11) | (reg & 0xfc)) >>> 0;
  }
  async cfgRead(reg: number, size: 1 | 2 | 4): Promise<number> {
    await this.qt.out("l", 0xcf8, this.cfgAddr(reg));
    const v = await this.qt.in("l", 0xcfc);
    const shift = (reg & 3) * 8;
    return size === 4 ? v >>> 0 : (v >>> shift) & (size === 1 ? 0xff : 0xffff);
  }
  private async cfgWrite(reg: number, size: "w" | "l", v: number): Promise<void> {
    await this.qt.out("l", 0xcf8, this.cfgAddr(reg));
    await this.qt.out(size, 0xcfc + (reg & 3), v);
  }

  /** BAR 4 placement, capabilities, feature negotiation, queue 0. */
  async init(queueSize = 64): Promise<void> {
    await this.cfgWrite(0x20, "l", this.bar); // BAR4 low (64-bit memory BAR)
    await this.cfgWrite(0x24, "l", 0);
    await this.cfgWrite(0x04, "w", 0x0006); // memory space + bus master
    let common = 0;
    let notify = 0;
    let mult = 0;
    for (let p = await this.cfgRead(0x34, 1); p; p = await this.cfgRead(p + 1, 1)) {
      if ((await this.cfgRead(p, 1)) !== 0x09) continue;
      const type = await this.cfgRead(p + 3, 1);
      const barNo = await this.cfgRead(p + 4, 1);
      const off = await this.cfgRead(p + 8, 4);
      if (type === 5) continue; // VIRTIO_PCI_CAP_PCI_CFG: no BAR of its own
      if (barNo !== 4) throw new Error(`virtio capability ${type} in BAR ${barNo}`);
      if (type === 1) common = this.bar + off;
      else if (type === 2) {
        notify = this.bar + off;
        mult = await this.cfgRead(p + 16, 4);
      } else if (type === 4) this.deviceCfg = this.bar + off;
    }
    if (!common || !notify || !this.deviceCfg) throw new Error("virtio capabilities missing");
    const qt = this.qt;
    await qt.write("b", common + 0x14, 0);
    await qt.write("b", common + 0x14, 1 | 2);
    await qt.write("l", common + 0x00, 1);
    const offeredHi = await qt.read("l", common + 0x04);
    if ((offeredHi & 1) === 0) throw new Error("no VIRTIO_F_VERSION_1");
    this.ringReset = (offeredHi & RING_RESET_HI) !== 0;
    await qt.write("l", common + 0x08, 0);
    await qt.write("l", common + 0x0c, 0);
    await qt.write("l", common + 0x08, 1);
    await qt.write("l", common + 0x0c, 1 | (this.ringReset ? RING_RESET_HI : 0));
    await qt.write("b", common + 0x14, 1 | 2 | 8);
    if (((await qt.read("b", common + 0x14)) & 8) === 0) throw new Error("FEATURES_OK refused");
    this.common = common;
    await this.setupQueue(queueSize, this.ringBase);
    const notifyOff = await qt.read("w", common + 0x1e);
    this.notifyAddr = notify + notifyOff * mult;
    await qt.write("b", common + 0x14, 1 | 2 | 4 | 8);
  }
  private common = 0;
  /** VIRTIO_F_RING_RESET was offered (and so negotiated) */
  ringReset = false;

  /** Queue 0: size, a zeroed split ring at `base` (48 KiB), enabled. */
  private async setupQueue(queueSize: number, base: number): Promise<void> {
    const qt = this.qt;
    const common = this.common;
    await qt.write("w", common + 0x16, 0);
    this.qsize = Math.min(queueSize, await qt.read("w", common + 0x18));
    await qt.write("w", common + 0x18, this.qsize);
    this.desc = base;
    this.avail = base + 0x4000;
    this.used = base + 0x8000;
    this.availIdx = 0;
    this.usedIdx = 0;
    await qt.memwrite(base, Buffer.alloc(0xc000));
    for (const [off, addr] of [
      [0x20, this.desc],
      [0x28, this.avail],
      [0x30, this.used],
    ] as const) {
      await qt.write("l", common + off, addr);
      await qt.write("l", common + off + 4, 0);
    }
    await qt.write("w", common + 0x1c, 1);
  }

  /** The heads in the used ring, in ring order (up to 64 K entries). */
  private async usedHeads(): Promise<number[]> {
    const n = await this.qt.read("w", this.used + 2);
    const ring = await this.qt.memread(this.used + 4, Math.min(n, this.qsize) * 8);
    return Array.from({ length: Math.min(n, this.qsize) }, (_, i) => ring.readUInt32LE(i * 8));
  }

  /**
   * Resets queue 0 alone (queue_reset, VIRTIO_F_RING_RESET) and enables it
   * again with a fresh ring at `base`. Returns the heads the old ring's used
   * ring held once the reset was done (answered before it).
   */
  async queueReset(base: number): Promise<number[]> {
    if (!this.ringReset) throw new Error("VIRTIO_F_RING_RESET not offered");
    const qt = this.qt;
    await qt.write("w", this.common + 0x16, 0);
    await qt.write("w", this.common + 0x3a, 1);
    if ((await qt.read("w", this.common + 0x3a)) !== 0) throw new Error("queue reset pending");
    if ((await qt.read("w", this.common + 0x1c)) !== 0) throw new Error("queue still enabled");
    const answered = await this.usedHeads();
    await this.setupQueue(this.qsize, base);
    return answered;
  }

  /** `len` bytes of guest memory at `addr`. */
  async peek(addr: number, len: number): Promise<Buffer> {
    return this.qt.memread(addr, len);
  }

  /** The device status byte. */
  async status(): Promise<number> {
    return this.qt.read("b", this.common + 0x14);
  }

  /** The used ring's index as the device last wrote it. */
  async usedIndex(): Promise<number> {
    return this.qt.read("w", this.used + 2);
  }

  /**
   * Device reset (status 0), then the same setup again. Returns the heads
   * the used ring held once the reset was done (answered before it).
   */
  async reset(): Promise<number[]> {
    await this.qt.write("b", this.common + 0x14, 0);
    const answered = await this.usedHeads();
    await this.init(this.qsize);
    return answered;
  }

  async readConfig(off: number): Promise<number> {
    return this.qt.read("l", this.deviceCfg + off);
  }

  /**
   * Puts every chain on the ring, notifies once, waits until all are used
   * (unless `wait` is false: then it returns at once, nothing collected).
   * Buffers are laid out from BUF_BASE on; the batch must fit in RAM and in
   * the ring.
   */
  async batch(chains: Chain[], timeoutMs = 60_000, wait = true): Promise<Completion[]> {
    const sub = await this.submit(chains);
    return wait ? this.collect(sub, timeoutMs) : [];
  }

  /**
   * Lays the chains out from `bufBase` on (descriptors from slot 0: the
   * previous batch must be complete), makes them available, notifies.
   */
  async submit(chains: Chain[], bufBase = BUF_BASE): Promise<Submitted> {
    const qt = this.qt;
    let next = bufBase;
    const alloc = (n: number) => {
      const a = next;
      next += (n + 63) & ~63;
      if (next > BUF_END) throw new Error("batch does not fit in guest RAM");
      return a;
    };
    let d = 0;
    const heads: number[] = [];
    const outs: { addr: number; len: number }[][] = [];
    const descs = Buffer.alloc(this.qsize * 16);
    for (const c of chains) {
      const parts: { addr: number; len: number; write: boolean; data?: Buffer }[] = [];
      const w = c.writable.map((len) => ({ addr: alloc(len), len, write: true }));
      const r = c.readable.map((b) => ({
        addr: alloc(b.length),
        len: b.length,
        write: false,
        data: b,
      }));
      parts.push(...(c.writableFirst ? [...w, ...r] : [...r, ...w]));
      if (parts.length === 0) throw new Error("empty chain");
      if (d + parts.length > this.qsize) throw new Error("batch does not fit in the ring");
      heads.push(d);
      outs.push(w);
      for (const [i, p] of parts.entries()) {
        if (p.data) await qt.memwrite(p.addr, p.data);
        else if (c.fill !== undefined) await qt.memwrite(p.addr, Buffer.alloc(p.len, c.fill));
        const o = (d + i) * 16;
        descs.writeBigUInt64LE(BigInt(p.addr), o);
        descs.writeUInt32LE(p.len, o + 8);
        const last = i === parts.length - 1;
        descs.writeUInt16LE(
          (last ? 0 : VIRTQ_DESC_F_NEXT) | (p.write ? VIRTQ_DESC_F_WRITE : 0),
          o + 12,
        );
        descs.writeUInt16LE(last ? 0 : d + i + 1, o + 14);
      }
      d += parts.length;
    }
    await qt.memwrite(this.desc, descs.subarray(0, d * 16));
    const ring = Buffer.alloc(chains.length * 2);
    heads.forEach((h, i) => ring.writeUInt16LE(h, i * 2));
    // the ring may wrap: write entry by entry position
    for (let i = 0; i < heads.length; i++) {
      const pos = (this.availIdx + i) % this.qsize;
      await qt.memwrite(this.avail + 4 + pos * 2, ring.subarray(i * 2, i * 2 + 2));
    }
    this.availIdx = (this.availIdx + chains.length) & 0xffff;
    await qt.write("w", this.avail + 2, this.availIdx);
    await qt.write("w", this.notifyAddr, 0);
    return { heads, writable: outs };
  }

  /** Waits until every chain of `sub` is used; their used lengths and data. */
  async collect(sub: Submitted, timeoutMs = 60_000): Promise<Completion[]> {
    const qt = this.qt;
    const { heads, writable: outs } = sub;
    const want = (this.usedIdx + heads.length) & 0xffff;
    const deadline = Date.now() + timeoutMs;
    const usedSince = async () => ((await qt.read("w", this.used + 2)) - this.usedIdx) & 0xffff;
    while ((await usedSince()) < heads.length) {
      if (Date.now() > deadline) throw new Error("device did not complete the batch");
      await new Promise((r) => setTimeout(r, 1));
    }
    const done = new Map<number, number>();
    for (let i = 0; i < heads.length; i++) {
      const pos = (this.usedIdx + i) % this.qsize;
      const e = await qt.memread(this.used + 4 + pos * 8, 8);
      done.set(e.readUInt32LE(0), e.readUInt32LE(4));
    }
    this.usedIdx = want;
    const result: Completion[] = [];
    for (const [i, h] of heads.entries()) {
      const usedLen = done.get(h);
      if (usedLen === undefined) throw new Error(`head ${h} not in the used ring`);
      const bufs = await Promise.all((outs[i] ?? []).map((o) => qt.memread(o.addr, o.len)));
      result.push({ usedLen, data: Buffer.concat(bufs) });
    }
    return result;
  }
}

export interface Machine {
  devices: VirtioCryptodev[];
  qmp: Qmp;
  /** QEMU's stderr so far (trace output) */
  stderr(): string;
  /** true while QEMU runs */
  alive(): boolean;
  close(): Promise<void>;
}

/**
 * Starts `qemuPath` with the qtest accelerator and the given
 * `-device virtio-cryptodev-pci,...` option strings; finds and initialises
 * each device.
 */
export async function startMachine(
  qemuPath: string,
  firmwareArgs: string[],
  deviceOpts: string[],
  extraArgs: string[] = [],
): Promise<Machine> {
  const dir = await mkdtemp(join(tmpdir(), "vcd-qtest-"));
  const sockPath = join(dir, "qmp.sock");
  const server: Server = createServer();
  server.listen(sockPath);
  await once(server, "listening");
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const args = [
    ...firmwareArgs,
    "-machine",
    "q35,accel=qtest",
    "-m",
    String(RAM_MIB),
    "-nodefaults",
    "-display",
    "none",
    "-qtest",
    "stdio",
    "-qmp",
    `unix:${sockPath}`,
    ...deviceOpts.flatMap((o) => ["-device", o]),
    ...extraArgs,
  ];
  const proc: ResultPromise = execa(qemuPath, args, {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    reject: false,
    buffer: false,
  });
  let err = "";
  let running = true;
  proc.stderr?.setEncoding("utf8");
  proc.stderr?.on("data", (d: string) => (err += d));
  void proc.then(() => (running = false));
  const exited = proc.then(() => {
    throw new Error(`QEMU exited early: ${err.slice(-2000)}`);
  });
  exited.catch(() => {}); // only the race below cares
  const [sock] = await Promise.race([accepted, exited]);
  sock.on("error", () => {}); // QEMU closing it at quit is not a test error
  const qmp = new Qmp(sock);
  await qmp.start();
  if (!proc.stdin || !proc.stdout) throw new Error("no qtest pipes");
  const qt = new Qtest(proc.stdin, proc.stdout);

  const devices: VirtioCryptodev[] = [];
  for (let slot = 0; slot < 32; slot++) {
    await qt.out("l", 0xcf8, (0x8000_0000 | (slot << 11)) >>> 0);
    const id = (await qt.in("l", 0xcfc)) >>> 0;
    if (id === 0x107f_1af4) {
      const n = devices.length;
      devices.push(
        new VirtioCryptodev(qt, slot, 0xe000_0000 + n * 0x10_0000, RING_BASE + n * 0x1_0000),
      );
    }
  }
  for (const d of devices) await d.init();
  return {
    devices,
    qmp,
    stderr: () => err,
    alive: () => running,
    async close() {
      if (running) {
        await qmp.execute("quit").catch(() => {});
      }
      await Promise.race([proc, new Promise((r) => setTimeout(r, 5000))]);
      if (running) proc.kill("SIGKILL");
      sock.destroy();
      server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
