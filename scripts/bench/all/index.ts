import { readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg, release } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { defineCommand } from "../../lib/command.ts";
import { LabError } from "../../lib/errors.ts";
import { info, step } from "../../lib/log.ts";
import { repoRoot } from "../../lib/paths.ts";
import { sh } from "../../lib/sh.ts";
import { resolveAccel } from "../../vm/accel.ts";
import { selectQemu } from "../../vm/binary.ts";
import { measureBoot } from "../boot.ts";
import { fullBuildTargets, measureBuilds, quickBuildTargets } from "../builds.ts";
import { measureChat } from "../chat/index.ts";
import type { SystemName } from "../chat/systems.ts";
import { measureDevice } from "../device/index.ts";
import {
  type AllReport,
  type Machine,
  figures,
  missingFigures,
  plots,
  readmeWithFigures,
  reportMarkdown,
} from "./report.ts";

/**
 * `lab bench all`: every benchmark in one run (boot, the device from 16 B
 * to 1 MiB, the chat with its handshakes, the rebuild timings), written as
 * report.md with tables and SVG plots, and report.json with every figure
 * and the machine. `--quick` is the smoke check `npm test` runs: the same
 * code paths with few, short measurements.
 */

interface Plan {
  boot: { runs: number };
  device: { sizes: number[]; ms: number; repeat: number };
  chat: {
    clients: number[];
    messages?: number;
    systems: SystemName[];
    handshakes: number;
  };
  builds: string[];
}

const plans: Record<"full" | "quick", Plan> = {
  full: {
    boot: { runs: 7 },
    device: {
      sizes: [16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576],
      ms: 1000,
      repeat: 3,
    },
    chat: {
      clients: [1, 10, 100],
      systems: ["host", "host-power", "ngircd", "guest", "guest-node"],
      handshakes: 200,
    },
    builds: fullBuildTargets,
  },
  quick: {
    boot: { runs: 1 },
    device: { sizes: [16, 256, 65536, 1048576], ms: 100, repeat: 1 },
    chat: { clients: [1, 10], messages: 20, systems: ["host", "ngircd", "guest"], handshakes: 10 },
    builds: quickBuildTargets,
  },
};

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? "unknown";
}

async function commitOf(): Promise<string> {
  const r = await sh({ nothrow: true, cwd: repoRoot })`git describe --always --dirty`;
  return r.exitCode === 0 ? r.stdout.trim() : "unknown";
}

function commandsFor(p: Plan, quick: boolean, out: string): AllReport["commands"] {
  const d = p.device;
  const c = p.chat;
  return {
    all: `npx lab bench all${quick ? " --quick" : ""} --out ${out}`,
    boot: `npx lab bench boot --runs ${p.boot.runs}`,
    device: `npx lab bench device --sizes ${d.sizes.join(",")} --ms ${d.ms} --repeat ${d.repeat}`,
    chat:
      `npx lab bench chat --clients ${c.clients.join(",")} --systems ${c.systems.join(",")}` +
      `${c.messages ? ` --messages ${c.messages}` : ""} --handshakes ${c.handshakes}`,
    builds: p.builds.map((t) => `npx lab build --force ${t}`).join("; "),
  };
}

export default defineCommand({
  summary: "every benchmark in one run: report.md with plots, report.json",
  usage: `usage: lab bench all [--out DIR] [--quick] [--readme]

Runs every benchmark one after the other, on this machine: boot (warm
\`lab run\`, where the time goes), the device (AES-128-CBC from 16 B to
1 MiB: /dev/cryptodev0, node:crypto in the guest, on the host), the chat
(host, host with fsync, ngircd, the guest through the device and on
node:crypto; 1, 10, 100 clients; secure handshakes at 1 and 8 in flight)
and the rebuild timings (driver, QEMU device, initramfs, chat bundle).
Writes DIR/report.md (tables, SVG plots beside it) and DIR/report.json
(every figure, the machine: CPU, cores, kernel, accelerator, load).
About 15-20 minutes here under TCG.

  --out DIR   where to write (default out/bench)
  --quick     the smoke check (\`npm test\` runs it): one boot per row, short
              device runs, 20 chat messages, host/ngircd/guest only; about
              2-3 minutes; its figures are not for quoting
  --readme    also rewrite the figures block of README.md from this report`,
  options: {
    out: { type: "string" },
    quick: { type: "boolean" },
    readme: { type: "boolean" },
  },
  async run({ values }) {
    const quick = !!values.quick;
    const plan = plans[quick ? "quick" : "full"];
    const outDir = resolve(values.out ?? join(repoRoot, "out", "bench"));
    const rel = relative(repoRoot, outDir);
    const shownOut = rel.startsWith("..") || isAbsolute(rel) ? outDir : rel || ".";
    const loadStart = loadavg();
    const t0 = performance.now();
    await mkdir(outDir, { recursive: true });

    const boot = await step("bench all: boot", () => measureBoot({ ...plan.boot, accel: "auto" }));
    const device = await step("bench all: device", () =>
      measureDevice({ ...plan.device, accel: "auto" }),
    );
    const chat = await step("bench all: chat", () =>
      measureChat({ ...plan.chat, handshakeInFlight: [1, 8] }),
    );
    const builds = await step("bench all: rebuilds", () => measureBuilds(plan.builds));

    const machine: Machine = {
      cpu: cpuModel(),
      cores: cpus().length,
      kernel: release(),
      node: process.version,
      accel: await resolveAccel("auto", selectQemu(0)),
      loadStart,
      loadEnd: loadavg(),
    };
    const parts = {
      date: new Date().toISOString(),
      commit: await commitOf(),
      quick,
      seconds: (performance.now() - t0) / 1000,
      machine,
      commands: commandsFor(plan, quick, shownOut),
      boot,
      device,
      chat,
      builds,
    };
    const report: AllReport = { ...parts, figures: figures(parts) };
    await writeFile(join(outDir, "report.json"), JSON.stringify(report, null, 2) + "\n");
    for (const [name, svg] of Object.entries(plots(report)))
      await writeFile(join(outDir, name), svg);
    await writeFile(join(outDir, "report.md"), reportMarkdown(report));
    info(
      `report: ${join(shownOut, "report.md")} (plots beside it), figures: ${join(shownOut, "report.json")}`,
    );
    if (values.readme) {
      const readme = join(repoRoot, "README.md");
      await writeFile(
        readme,
        readmeWithFigures(await readFile(readme, "utf8"), report, join(shownOut, "report.md")),
      );
      info("README.md: figures block rewritten from this report");
    }
    const missing = missingFigures(report.figures);
    if (missing.length || chat.failures.length)
      throw new LabError(`the report lacks figures: ${[...missing, ...chat.failures].join("; ")}`);
    return 0;
  },
});
