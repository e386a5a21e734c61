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

  it("refuses a git clone whose HEAD is not the pinned commit", async () => {
    const tree = join(dir, "buildroot-clone");
    mkdirSync(join(tree, "support", "kconfig"), { recursive: true });
    writeFileSync(join(tree, "Makefile"), `export BR2_VERSION := ${buildrootPin.version}\n`);
    const { execFileSync } = await import("node:child_process");
    const git = (...a: string[]) =>
      execFileSync("git", ["-C", tree, "-c", "user.name=lab", "-c", "user.email=lab@lab", ...a]);
    git("init", "-q");
    git("add", "Makefile");
    git("commit", "-qm", "not the release");
    const head = execFileSync("git", ["-C", tree, "rev-parse", "HEAD"], {
      encoding: "utf8",
    }).trim();
    // The Makefile says the right version: the commit id is what counts.
    await expect(buildrootTree(tree)).rejects.toThrow(
      new RegExp(`its HEAD is ${head}, expected commit ${buildrootPin.commit}`),
    );
  });

  it("with nothing given and no shared tarball: one error naming --buildroot, $LAB_BUILDROOT and the download", async () => {
    const before = process.env.LAB_BUILDROOT;
    delete process.env.LAB_BUILDROOT;
    try {
      // A checkout with no shared/buildroot beside it or above it (a user's offline clone).
      const checkout = join(dir, "clone-without-shared");
      mkdirSync(checkout, { recursive: true });
      const err = await buildrootTree(undefined, checkout).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LabError);
      const e = err as LabError;
      expect(e.message).toMatch(/^no Buildroot tree: .*Buildroot 2025\.02\.16/);
      expect(e.hint).toMatch(/--buildroot PATH/);
      expect(e.hint).toMatch(/\$LAB_BUILDROOT/);
      expect(e.hint).toMatch(/buildroot-2025\.02\.16\.tar\.xz/);
      expect(e.hint).toMatch(/git clone --branch 2025\.02\.16/);
      expect(e.hint).toContain(buildrootPin.commit);
    } finally {
      if (before !== undefined) process.env.LAB_BUILDROOT = before;
    }
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
