import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LabError } from "../../lib/errors.ts";
import { buildrootPin, sharedBuildrootTarball } from "../../guest/buildroot.ts";
import { buildrootTree, tarballCommit } from "./source.ts";

describe("the Buildroot tree is verified", () => {
  const dir = mkdtempSync(join(tmpdir(), "lab-br-src-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses an unpacked tree of another release, and a path that is not there", async () => {
    const tree = join(dir, "buildroot-2024.02");
    mkdirSync(join(tree, "support", "kconfig"), { recursive: true });
    writeFileSync(join(tree, "Makefile"), "export BR2_VERSION := 2024.02\n");
    await expect(buildrootTree(tree)).rejects.toThrow(/BR2_VERSION 2024\.02/);
    await expect(buildrootTree(join(dir, "nothing"))).rejects.toBeInstanceOf(LabError);
  });

  it("accepts an unpacked tree of the pinned release", async () => {
    const tree = join(dir, "buildroot-pinned");
    mkdirSync(join(tree, "support", "kconfig"), { recursive: true });
    writeFileSync(join(tree, "Makefile"), `export BR2_VERSION := ${buildrootPin.version}\n`);
    expect(await buildrootTree(tree)).toBe(tree);
  });

  it("refuses a tarball without the pinned commit id", async () => {
    const t = join(dir, "other.tar");
    writeFileSync(join(dir, "f"), "x");
    const { execFileSync } = await import("node:child_process");
    execFileSync("tar", ["-cf", t, "-C", dir, "f"]);
    expect(await tarballCommit(t)).toBeUndefined();
    await expect(buildrootTree(t)).rejects.toThrow(/no git commit id/);
  });

  const shared = sharedBuildrootTarball();
  it.skipIf(!shared)(
    `reads the pinned commit id from the shared tarball${shared ? "" : " (skipped: no shared/buildroot tarball beside this checkout)"}`,
    async () => {
      expect(await tarballCommit(shared as string)).toBe(buildrootPin.commit);
    },
  );
});
