import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { execa } from "execa";
import { intArg, intListArg, oneOfArg } from "../../lib/args.ts";
import { defineCommand } from "../../lib/command.ts";
import { LabError, UsageError } from "../../lib/errors.ts";
import { info, step } from "../../lib/log.ts";
import { guestRepoPath, repoRoot } from "../../lib/paths.ts";
import { type RunResult, ensureBuilt, guestArgs, runGuest, vmUnavailable } from "../../vm/index.ts";
import {
  type Impl,
  type Row,
  type Sample,
  parseSamples,
  softCpu,
  summarize,
  svgPlot,
  table,
} from "./report.ts";

/**
 * `lab bench device`: AES-128-CBC encryption, one request at a time, per
 * request size, four ways: through /dev/cryptodev0 in the guest (the speed
 * program); with node:crypto in the same guest boot (the lab's default
 * `-cpu max`, whose AES-NI instructions TCG emulates); with node:crypto in a
 * second boot under `-cpu qemu64` (no AES-NI, no SSSE3: OpenSSL's table
 * AES, the software reference); and with node:crypto on the host
 * (the physical limit the device's host-native engine can approach). Each
 * size runs for a fixed time, repeated; medians are reported as a table, a
 * JSON file and an SVG plot.
 */

/** The guest programs: the C speed program (built by `lab build conformance`) and node's. */
const speedProgram = `${guestRepoPath}/guest-driver/tests/build/speed`;
const nodeSpeed = join("guest-driver", "tests", "node-speed.mjs");

export interface DeviceOptions {
  sizes: number[];
  ms: number;
  repeat: number;
  accel: "auto" | "kvm" | "tcg";
}

export interface DeviceReport {
  accel: string;
  options: DeviceOptions;
  rows: Row[];
  samples: Sample[];
}

/** Runs the three measurements (two guest boots, the host) and summarizes them. */
export async function measureDevice(o: DeviceOptions): Promise<DeviceReport> {
  if (o.sizes.some((s) => s % 16)) throw new UsageError("--sizes: multiples of 16");
  await ensureBuilt("qemu", "initramfs", "noderoot", "driver", "conformance");
  const why = vmUnavailable();
  if (why) throw new LabError(why);
  const sizes = o.sizes.join(",");
  const rep = String(o.repeat);
  const ms = String(o.ms);
  // One boot: the device first, then software AES in the same guest.
  const guestCmd =
    `if dmesg | grep -q "Hypervisor detected: KVM"; then echo ACCEL=KVM; else echo ACCEL=TCG; fi; ` +
    `${speedProgram} --repeat ${rep} --ms ${ms} --sizes ${sizes} && ` +
    `node ${guestRepoPath}/${nodeSpeed} guest-node ${rep} ${ms} ${sizes}`;
  const budget = Math.ceil((2 * o.repeat * o.sizes.length * o.ms) / 1000) + 300;
  const failed = (what: string, r: RunResult) =>
    new LabError(
      `the ${what} benchmark failed (exit ${r.code}${r.reason ? `: ${r.reason}` : ""}):\n${r.stderr.trim().split("\n").slice(-15).join("\n")}`,
    );
  const guest = await step("guest: /dev/cryptodev0 and node:crypto (-cpu max)", () =>
    runGuest(
      guestArgs({
        devices: 1,
        accel: o.accel,
        timeoutS: budget,
        command: ["sh", "-c", guestCmd],
      }),
    ),
  );
  if (guest.code !== 0) throw failed("guest", guest);
  // A second boot without AES-NI: node:crypto's software AES, the reference
  // the device is meant to beat by 10x (under -cpu max, TCG emulates AES-NI
  // and node:crypto is faster than real software AES would be).
  const soft = await step(`guest: node:crypto (-cpu ${softCpu})`, () =>
    runGuest(
      guestArgs({
        devices: 0,
        cpu: softCpu,
        accel: o.accel,
        timeoutS: Math.ceil(budget / 2) + 150,
        command: ["node", `${guestRepoPath}/${nodeSpeed}`, `guest-node-${softCpu}`, rep, ms, sizes],
      }),
    ),
  );
  if (soft.code !== 0) throw failed(`-cpu ${softCpu} guest`, soft);
  const host = await step("host: node:crypto", () =>
    execa(process.execPath, [join(repoRoot, nodeSpeed), "host-node", rep, ms, sizes]),
  );
  const samples = [
    ...parseSamples(guest.stdout, "device"),
    ...parseSamples(soft.stdout, "guest-node-qemu64"),
    ...parseSamples(host.stdout, "host-node"),
  ];
  const rows = summarize(samples);
  const accel = /^ACCEL=(\w+)$/m.exec(guest.stdout)?.[1] ?? o.accel;
  return { accel, options: o, rows, samples };
}

/** The table and the ratios at 64 KiB, as `lab bench device` prints them. */
export function formatDevice(r: DeviceReport): string {
  const { rows, accel } = r;
  const o = r.options;
  const out: string[] = [];
  out.push(
    `AES-128-CBC encrypt, one request at a time, median of ${o.repeat} x ${o.ms} ms (guest accel: ${accel})\n`,
  );
  out.push(table(rows) + "\n");
  const at = (impl: Impl) => rows.find((r) => r.impl === impl && r.size === 65536)?.mibps;
  const d = at("device");
  const ratio = (b: number | undefined, digits: number) => (d && b ? (d / b).toFixed(digits) : "-");
  if (d)
    out.push(
      `64 KiB (target >= 10x in-guest node:crypto under TCG): ` +
        `device/in-guest node:crypto -cpu max (AES-NI emulated) = ${ratio(at("guest-node"), 1)}x, ` +
        `device/in-guest node:crypto -cpu ${softCpu} (software AES) = ${ratio(at("guest-node-qemu64"), 1)}x, ` +
        `device/host-native = ${ratio(at("host-node"), 2)}x\n`,
    );

  return out.join("");
}

export default defineCommand({
  summary: "AES-128-CBC through /dev/cryptodev0 vs in-guest node:crypto vs host",
  usage: `usage: lab bench device [--sizes 16,256,4096,65536,1048576] [--ms 1000]
                        [--repeat 3] [--out out/bench-device.svg] [--accel auto|kvm|tcg]

Prints MiB/s and ops/s (medians of --repeat runs of --ms each) for
/dev/cryptodev0 in the guest, node:crypto in the guest under the default
-cpu max (TCG emulates its AES-NI) and, in a second boot, under -cpu qemu64
(software AES), node:crypto on the host, and the device's ratios to each at
64 KiB. Writes the plot to --out and the numbers beside it (.json).`,
  options: {
    sizes: { type: "string" },
    ms: { type: "string" },
    repeat: { type: "string" },
    out: { type: "string" },
    accel: { type: "string" },
  },
  async run({ values }) {
    const o = {
      sizes: values.sizes
        ? intListArg("--sizes", values.sizes, 16, 64 << 20)
        : [16, 256, 4096, 65536, 1048576],
      ms: values.ms ? intArg("--ms", values.ms, 1, 600_000) : 1000,
      repeat: values.repeat ? intArg("--repeat", values.repeat, 1, 100) : 3,
      out: resolve(values.out ?? join(repoRoot, "out", "bench-device.svg")),
      accel: oneOfArg("--accel", values.accel ?? "auto", ["auto", "kvm", "tcg"]),
    };
    const rep = await measureDevice(o);
    process.stdout.write(formatDevice(rep));
    const { rows, accel, samples } = rep;
    await mkdir(dirname(o.out), { recursive: true });
    await writeFile(
      o.out,
      svgPlot(rows, `AES-128-CBC throughput per request size (guest: ${accel})`),
    );
    const jsonOut = o.out.replace(/\.svg$/, "") + ".json";
    await writeFile(jsonOut, JSON.stringify({ accel, options: o, rows, samples }, null, 2) + "\n");
    info(`plot: ${o.out}, numbers: ${jsonOut}`);
    return 0;
  },
});
