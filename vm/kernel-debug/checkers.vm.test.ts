import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDebugModules } from "../../scripts/build/driver-debug.ts";
import {
  type LabProcessResult,
  ensureBuilt,
  labProcess,
  vmUnavailable,
} from "../../scripts/vm/index.ts";

/**
 * Proof that the debug kernel's checkers fire, and that the lab fails the
 * run with the report: three deliberately broken modules (fixtures/, built
 * here against the debug kernel's tree) in one boot of `lab run --kernel
 * debug`. Each marks its step on the console (`lab-test: NAME` in
 * /dev/kmsg), loads, and is triggered by a write to its /proc file.
 *
 * One boot is sound in this order: lockdep reports only once (it turns
 * itself off after a report), and a KASAN report taints the kernel, which
 * also turns lockdep off; the atomic-sleep check does not depend on
 * lockdep. So lock order first, then the atomic copy, then KASAN.
 */

const fixtures = [
  {
    name: "lab_lock_order",
    kind: "lockdep",
    title: /^WARNING: possible circular locking dependency detected/,
    detail: /fixture_lock_[ab]/,
  },
  {
    name: "lab_atomic_copy",
    kind: "atomic-sleep",
    title: /^BUG: sleeping function called from invalid context/,
    detail: /in_atomic\(\): 1/,
  },
  {
    name: "lab_use_after_free",
    kind: "kasan",
    title: /^BUG: KASAN: (slab-)?use-after-free in fixture_write/,
    detail: /Read of size 4/,
  },
] as const;

const fixtureDir = join(import.meta.dirname, "fixtures");
const unavailable = vmUnavailable();

describe.skipIf(unavailable !== undefined)(
  `debug kernel: broken modules are caught${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let dir = "";
    let r: LabProcessResult;

    beforeAll(async () => {
      await ensureBuilt("kernel-debug", "initramfs-debug");
      dir = await mkdtemp(join(tmpdir(), "lab-fixtures-"));
      for (const f of await readdir(fixtureDir)) await copyFile(join(fixtureDir, f), join(dir, f));
      await makeDebugModules(dir);
      const script = fixtures
        .map(
          (f) =>
            `echo "<5>lab-test: ${f.name}" > /dev/kmsg; echo "step ${f.name}"; ` +
            `insmod /mnt/fixtures/${f.name}.ko && echo x > /proc/${f.name}; rmmod ${f.name}`,
        )
        .join("; ");
      r = await labProcess([
        "run",
        "--kernel",
        "debug",
        "--devices",
        "0",
        "--timeout",
        "600",
        "--share",
        `${dir}:/mnt/fixtures`,
        "--",
        "sh",
        "-c",
        `${script}; echo done`,
      ]);
    });

    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("the fixtures ran to the end, yet the run failed (exit 1)", () => {
      const out = r.stdout.toString();
      expect(out, r.stderr).toMatch(/^done$/m);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        /lab: kernel lockdep report during lab_lock_order: WARNING: possible circular locking dependency detected \(\+2 more\)/,
      );
    });

    it.each(fixtures)("$name: its report, charged to it", (f) => {
      const lines = r.stderr.split("\n");
      const at = lines.findIndex((l) =>
        l.startsWith(`lab: kernel ${f.kind} report during ${f.name}: `),
      );
      expect(at, r.stderr).toBeGreaterThanOrEqual(0);
      const head = (lines[at] as string).replace(/^lab: kernel \S+ report during \S+: /, "");
      expect(head).toMatch(f.title);
      // The report's first lines follow, indented.
      const body = [];
      for (let i = at + 1; i < lines.length && lines[i]?.startsWith("    "); i++)
        body.push(lines[i]);
      expect(body.join("\n"), r.stderr).toMatch(f.detail);
    });
  },
);
