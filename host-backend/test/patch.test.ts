import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../scripts/lib/paths.ts";
import { patchFile } from "../../scripts/build/qemu/patch.ts";
import { qemuPristineDir } from "../../scripts/build/qemu/source.ts";

/*
 * The checked-in QEMU patch is the one `lab export-patch` would write now,
 * and it applies to the pristine Debian QEMU tree. That it also builds is
 * proven by `lab build qemu`, which applies these very bytes (npm test runs
 * the build before the tests).
 */
const pristine = qemuPristineDir();
const havePristine = existsSync(join(pristine, "VERSION"));
const why = "skipped: the pristine QEMU source is not in the cache (run `npx lab build qemu`)";

describe("host-backend/patches/0001-virtio-cryptodev.patch", () => {
  it("is a git format-patch style patch of the device", () => {
    const text = readFileSync(patchFile, "utf8");
    expect(text).toMatch(/^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001\n/);
    expect(text).toMatch(/^From: .+ <.+>$/m);
    expect(text).toMatch(/^Date: .+$/m);
    expect(text).toMatch(/^Subject: \[PATCH\] .*virtio-cryptodev/m);
    expect(text).toMatch(/^ \d+ files? changed, \d+ insertions?\(\+\)/m);
    expect(text).toContain("diff --git a/include/standard-headers/linux/virtio_cryptodev.h ");
  });

  it.skipIf(!havePristine)(
    `is current (lab export-patch --check)${havePristine ? "" : ` — ${why}`}`,
    async () => {
      const r = await execa("node", [join(repoRoot, "bin", "lab.mjs"), "export-patch", "--check"], {
        cwd: repoRoot,
        reject: false,
        env: { CI: "true" },
      });
      expect(r.stderr).toContain("is current");
      expect(r.exitCode).toBe(0);
    },
  );

  it.skipIf(!havePristine)(
    `applies to a pristine tree with patch -p1${havePristine ? "" : ` — ${why}`}`,
    async () => {
      const r = await execa(
        "patch",
        ["-p1", "--dry-run", "--fuzz=0", "-f", "-s", "-d", pristine, "-i", patchFile],
        {
          reject: false,
        },
      );
      expect(r.stdout + r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
    },
  );
});
