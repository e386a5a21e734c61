import { writeFile } from "node:fs/promises";
import { servedKernelSeries } from "../debian/apt-index.ts";
import { type CommandGroup, defineCommand } from "../lib/command.ts";
import { newestFirst } from "../debian/version.ts";
import { LabError } from "../lib/errors.ts";
import { describeChange, newestKernelSet, resolveKernel } from "../debian/kernel-resolve.ts";
import { readResolvedKernel } from "../guest/kernel.ts";
import { info } from "../lib/log.ts";
import { sh } from "../lib/sh.ts";
import { type Pins, formatPins, loadPins, pinsFile } from "../debian/pins.ts";
import { ensureDebSrc } from "../debian/debsrc.ts";
import { inQemuSeries } from "../build/qemu/source.ts";

/** Source versions of the QEMU package apt serves, within the pinned series, newest first. */
async function servedQemuVersions(pins: Pins): Promise<string[]> {
  await ensureDebSrc(pins.qemu.source);
  const r = await sh({ nothrow: true })`apt-cache showsrc --only-source ${pins.qemu.source}`;
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

const pinsHelp = `vm/pins.json records the Debian inputs last tested: the guest kernel (image,
headers, headers-common and kbuild of one ABI, with sha256) and the QEMU
source version, each with the series it may move within. \`lab build\` takes
the pinned versions while apt serves them and otherwise the newest consistent
set of the series, with a notice.`;

const group: CommandGroup = {
  summary: "the Debian versions the lab is pinned to, and what the archive serves now",
  usage: `usage: lab pins show | update [--dry-run]

${pinsHelp}

  show       the pins, whether apt still serves each, and what a build takes
  update     rewrite vm/pins.json to the newest set the archive serves (maintainers)`,
  subcommands: {
    show: async () => ({
      default: defineCommand({
        summary: "the pins and what apt serves",
        usage: `usage: lab pins show\n\n${pinsHelp}`,
        run: () => show(),
      }),
    }),
    update: async () => ({
      default: defineCommand({
        summary: "rewrite vm/pins.json to what the archive serves",
        usage: `usage: lab pins update [--dry-run]

Rewrites vm/pins.json to the newest consistent kernel set of the series and
the newest QEMU source of its series that apt serves. Test before committing.

  --dry-run  print the new file instead of writing it`,
        options: { "dry-run": { type: "boolean" } },
        run: ({ values }) => update(!!values["dry-run"]),
      }),
    }),
  },
};
export default group;
