import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { servedKernelSeries } from "../lib/apt-index.ts";
import type { Command } from "../lib/command.ts";
import { newestFirst } from "../lib/debian-version.ts";
import { LabError, UsageError } from "../lib/errors.ts";
import { describeChange, newestKernelSet, resolveKernel } from "../lib/kernel-resolve.ts";
import { readResolvedKernel } from "../lib/kernel.ts";
import { info } from "../lib/log.ts";
import { type Pins, formatPins, loadPins, pinsFile } from "../lib/pins.ts";
import { ensureDebSrc } from "../lib/qemu-debsrc.ts";
import { inQemuSeries } from "../lib/qemu-source.ts";

/** Source versions of the QEMU package apt serves, within the pinned series, newest first. */
async function servedQemuVersions(pins: Pins): Promise<string[]> {
  await ensureDebSrc(pins.qemu.source);
  const { execa } = await import("execa");
  const r = await execa("apt-cache", ["showsrc", "--only-source", pins.qemu.source], {
    reject: false,
  });
  const all = [...r.stdout.matchAll(/^Version:\s*(\S+)$/gm)].map((m) => m[1] as string);
  return newestFirst(all.filter((v) => inQemuSeries(v, pins.qemu.series)));
}

async function show(): Promise<number> {
  const pins = loadPins();
  const served = await servedKernelSeries(pins.kernel.series);
  const out = (s: string) => process.stdout.write(s + "\n");
  out(`kernel series: linux-image-${pins.kernel.series.abi}-N-${pins.kernel.series.flavour}`);
  out(`pinned ${pins.kernel.release}:`);
  for (const p of pins.kernel.packages) {
    const ok = served.get(p.name)?.some((x) => x.version === p.version);
    out(`  ${ok ? "served " : "GONE   "} ${p.name} ${p.version}`);
  }
  const newest = newestKernelSet(pins.kernel.series, served);
  out(`newest served: ${newest ? describeChange(pins.kernel, newest) : "none"}`);
  try {
    const r = resolveKernel(pins.kernel, served);
    out(`lab build kernel would take: ${r.set.release} (${r.source})`);
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    out(`lab build kernel would fail: ${e.message}`);
  }
  const rec = readResolvedKernel();
  out(`in use (cache): ${rec ? `${rec.set.release} (${rec.source}, ${rec.resolvedAt})` : "none"}`);
  const q = await servedQemuVersions(pins);
  out(
    `qemu source: pinned ${pins.qemu.version} (${q.includes(pins.qemu.version) ? "served" : "GONE"}); ` +
      `newest of ${pins.qemu.series}: ${q[0] ?? "none"}`,
  );
  return 0;
}

async function update(dryRun: boolean): Promise<number> {
  const pins = loadPins();
  const newest = newestKernelSet(pins.kernel.series, await servedKernelSeries(pins.kernel.series));
  if (!newest)
    throw new LabError(
      `apt serves no complete kernel of the series ${pins.kernel.series.abi}-N-${pins.kernel.series.flavour}`,
      1,
      "run `apt-get update`, or set a new kernel.series in vm/pins.json",
    );
  const qemu = (await servedQemuVersions(pins))[0] ?? pins.qemu.version;
  const next: Pins = {
    kernel: { ...newest, series: pins.kernel.series },
    qemu: { ...pins.qemu, version: qemu },
  };
  const text = formatPins(next);
  if (text === formatPins(pins)) {
    info("vm/pins.json already names what the archive serves; nothing to do");
    return 0;
  }
  info(`kernel: ${describeChange(pins.kernel, newest)}`);
  if (qemu !== pins.qemu.version) info(`qemu source: ${pins.qemu.version} -> ${qemu}`);
  if (dryRun) {
    process.stdout.write(text);
    return 0;
  }
  await writeFile(pinsFile, text);
  info("wrote vm/pins.json; test it (`npm test`) before committing");
  return 0;
}

const command: Command = {
  summary: "the Debian versions the lab is pinned to, and what the archive serves now",
  usage: `usage: lab pins [show | update [--dry-run]]

vm/pins.json records the Debian inputs last tested: the guest kernel (image,
headers, headers-common and kbuild of one ABI, with sha256) and the QEMU
source version, each with the series it may move within. \`lab build\` takes
the pinned versions while apt serves them and otherwise the newest consistent
set of the series, with a notice.

  show       the pins, whether apt still serves each, and what a build takes (default)
  update     rewrite vm/pins.json to the newest set the archive serves (maintainers)
  --dry-run  with update: print the new file instead of writing it`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { "dry-run": { type: "boolean", default: false } },
      allowPositionals: true,
      strict: true,
    });
    const [sub = "show", ...rest] = positionals;
    if (rest.length) throw new UsageError(`lab pins: unexpected ${rest.join(" ")}`);
    if (sub === "show") return show();
    if (sub === "update") return update(values["dry-run"]);
    throw new UsageError(`lab pins: unknown subcommand '${sub}' (show, update)`);
  },
};
export default command;
