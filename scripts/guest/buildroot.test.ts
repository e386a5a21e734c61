import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildrootInput, buildrootTarballName, sharedBuildrootTarball } from "./buildroot.ts";

describe("where Buildroot comes from", () => {
  const top = mkdtempSync(join(tmpdir(), "lab-br-"));
  afterAll(() => rmSync(top, { recursive: true, force: true }));
  const tarball = join(top, "shared", "buildroot", buildrootTarballName);
  mkdirSync(join(top, "shared", "buildroot"), { recursive: true });
  writeFileSync(tarball, "");

  it("finds the shared test input beside a clone and above a worktree", () => {
    expect(sharedBuildrootTarball(join(top, "main"))).toBe(tarball);
    expect(sharedBuildrootTarball(join(top, "wt", "buildroot"))).toBe(tarball);
    expect(sharedBuildrootTarball(join(tmpdir(), "no-such-checkout-here", "x"))).toBeUndefined();
  });

  it("prefers --buildroot, then $LAB_BUILDROOT", () => {
    const saved = process.env.LAB_BUILDROOT;
    try {
      process.env.LAB_BUILDROOT = tarball;
      expect(buildrootInput("/some/tree")).toEqual({ path: "/some/tree", from: "--buildroot" });
      expect(buildrootInput()).toEqual({ path: tarball, from: "$LAB_BUILDROOT" });
    } finally {
      if (saved === undefined) delete process.env.LAB_BUILDROOT;
      else process.env.LAB_BUILDROOT = saved;
    }
  });
});
