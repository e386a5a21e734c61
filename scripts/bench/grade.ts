import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { intArg } from "../lib/args.ts";
import { defineCommand } from "../lib/command.ts";
import { info } from "../lib/log.ts";
import { ensureBuilt } from "../vm/index.ts";
import { autoJobs, gradeBatch } from "../grade/batch.ts";
import type { GradeResult } from "../grade/report.ts";
import { referenceDevice, referenceDriver } from "../grade/samples.ts";
import { edit } from "../grade/edit.ts";

/**
 * `lab bench grade`: wall time of `lab grade` for a driver-only submission
 * and a device submission (the reference device with one file changed, so
 * QEMU is rebuilt: ninja over the reference build), then a batch of N
 * driver submissions with -j auto beside -j 1. Targets here (2 cores, TCG):
 * <= 90 s per driver submission, <= 2 min per device submission.
 */

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function timed(fn: () => Promise<GradeResult[]>): Promise<[number, GradeResult[]]> {
  const t0 = performance.now();
  const r = await fn();
  return [performance.now() - t0, r];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Median seconds per phase over the results (the boots overlap when run at once). */
function phaseMedians(rs: readonly GradeResult[]): string {
  const by = new Map<string, number[]>();
  for (const r of rs)
    for (const p of r.phases) by.set(p.name, [...(by.get(p.name) ?? []), p.seconds]);
  return [...by].map(([n, xs]) => `${n} ${median(xs).toFixed(0)}`).join(", ");
}

export default defineCommand({
  summary: "lab grade: a driver, a device, a batch with -j auto beside -j 1",
  usage: `usage: lab bench grade [--batch N] [--no-serial]

Grades, in a temporary folder: one driver-only submission (the reference
driver), one device submission (the reference device with a changed file:
a QEMU rebuild), then a batch of N driver submissions (default 8) with
-j auto and with -j 1 (--no-serial: -j auto only). Prints wall times, the
batch throughput side by side, the median time per submission and the
median of each phase (intake, builds, boots: boots after the first overlap).`,
  options: { batch: { type: "string" }, "no-serial": { type: "boolean" } },
  async run({ values }) {
    const n = values.batch === undefined ? 8 : intArg("--batch", values.batch, 1, 64);
    const tmp = await mkdtemp(join(tmpdir(), "bench-grade-"));
    const quiet = { resume: false, table: false } as const;
    try {
      const drv = await referenceDriver(join(tmp, "one", "driver-only"));
      const dev = await referenceDevice(join(tmp, "one", "device-only"));
      await edit(
        dev,
        "host-backend/qemu/hw/virtio/virtio-cryptodev.c",
        "#include",
        "/* a change */\n#include",
      );
      const batch = join(tmp, "batch");
      for (let i = 0; i < n; i++) await referenceDriver(join(batch, `student${i + 1}`));
      const out = (s: string) => ({ outDir: join(tmp, `out-${s}`), ...quiet });

      // the lab's own builds first: the timings are of grading alone
      await ensureBuilt("driver", "conformance", "qemu", "guest", "app");
      const [tDriver, rDriver] = await timed(() => gradeBatch([drv], { ...out("drv"), jobs: 1 }));
      const [tDevice, rDevice] = await timed(() => gradeBatch([dev], { ...out("dev"), jobs: 1 }));
      const jAuto = autoJobs();
      const [tAuto, rAuto] = await timed(() =>
        gradeBatch([batch], { ...out("auto"), jobs: "auto" }),
      );
      const one = values["no-serial"]
        ? undefined
        : await timed(() => gradeBatch([batch], { ...out("one"), jobs: 1 }));
      const each = (rs: GradeResult[]) => `median ${sec(1000 * median(rs.map((r) => r.seconds)))}`;
      const rows = [
        ["driver-only submission", sec(tDriver), "<= 90 s", phaseMedians(rDriver)],
        ["device submission (QEMU rebuilt)", sec(tDevice), "<= 120 s", phaseMedians(rDevice)],
        [
          `batch of ${n}, -j auto (${jAuto})`,
          `${sec(tAuto)} (${sec(tAuto / n)} per submission)`,
          each(rAuto),
          phaseMedians(rAuto),
        ],
        ...(one === undefined
          ? []
          : [
              [
                `batch of ${n}, -j 1`,
                `${sec(one[0])} (${sec(one[0] / n)} per submission)`,
                each(one[1]),
                phaseMedians(one[1]),
              ],
              ["-j auto speed-up", `${(one[0] / tAuto).toFixed(2)}x`, `cores: ${jAuto}`, ""],
            ]),
      ];
      const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)));
      for (const r of rows)
        process.stdout.write(
          r.map((c, i) => (c as string).padEnd(w[i] as number)).join("  ") + "\n",
        );
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    info("lab bench grade: done");
    return 0;
  },
});
