import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qemuSrcDir } from "./configure.ts";
import { syncWorkTree } from "./worktree.ts";

/*
 * The work tree logic on a tiny fake "QEMU" tree: patches replace each
 * other by reverse + apply, files whose bytes did not change keep their
 * mtime (so ninja skips them), files a patch created go away with it, and a
 * tree edited by hand is copied afresh.
 */

const newFile = (path: string, lines: string[]) =>
  [
    `diff --git a/${path} b/${path}`,
    "new file mode 100644",
    "--- /dev/null",
    `+++ b/${path}`,
    `@@ -0,0 +1,${lines.length} @@`,
    ...lines.map((l) => `+${l}`),
    "",
  ].join("\n");

const hook = [
  "diff --git a/meson.build b/meson.build",
  "--- a/meson.build",
  "+++ b/meson.build",
  "@@ -1,2 +1,3 @@",
  " project('fake')",
  "+files('dev.c')",
  " # end",
  "",
].join("\n");

const patchA = hook + newFile("dev.c", ["int dev(void);", "int dev(void) { return 1; }"]);
const patchB = hook + newFile("dev.c", ["int dev(void);", "int dev(void) { return 2; }"]);
const patchC = newFile("other.c", ["int other;"]);

let cache: string;
let pristine: string;
const old = new Date("2020-01-01T00:00:00Z");
const src = (p: string) => join(qemuSrcDir(), p);
const mtime = async (p: string) => (await stat(src(p))).mtimeMs;

beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), "lab-worktree-test-"));
  process.env.LAB_CACHE = cache;
  pristine = join(cache, "pristine-fake");
  await mkdir(pristine);
  await writeFile(join(pristine, "meson.build"), "project('fake')\n# end\n");
  await writeFile(join(pristine, "untouched.c"), "int x;\n");
});

afterAll(async () => {
  delete process.env.LAB_CACHE;
  await rm(cache, { recursive: true, force: true });
});

describe("syncWorkTree", () => {
  it("copies the pristine tree and applies the first patch", async () => {
    const r = await syncWorkTree(pristine, "v1", patchA);
    expect(r.fresh).toBe(true);
    expect(await readFile(src("dev.c"), "utf8")).toContain("return 1;");
    expect(await readFile(src("meson.build"), "utf8")).toContain("files('dev.c')");
  });

  it("does nothing when the same patch is applied again", async () => {
    const r = await syncWorkTree(pristine, "v1", patchA);
    expect(r).toEqual({ fresh: false, changed: [] });
  });

  it("replaces a patch, keeping the mtime of files whose bytes did not change", async () => {
    await utimes(src("meson.build"), old, old);
    await utimes(src("dev.c"), old, old);
    const r = await syncWorkTree(pristine, "v1", patchB);
    expect(r).toEqual({ fresh: false, changed: ["dev.c"] });
    expect(await readFile(src("dev.c"), "utf8")).toContain("return 2;");
    expect(await mtime("meson.build")).toBe(old.getTime());
    expect(await mtime("dev.c")).toBeGreaterThan(old.getTime());
  });

  it("removes the files the previous patch created", async () => {
    const r = await syncWorkTree(pristine, "v1", patchC);
    expect(r.fresh).toBe(false);
    expect(r.changed).toEqual(["dev.c", "meson.build", "other.c"]);
    expect(existsSync(src("dev.c"))).toBe(false);
    expect(await readFile(src("meson.build"), "utf8")).toBe("project('fake')\n# end\n");
    expect(existsSync(src("other.c"))).toBe(true);
  });

  it("starts from a fresh copy when the tree was edited by hand", async () => {
    await writeFile(src("other.c"), "edited by hand\n");
    const r = await syncWorkTree(pristine, "v1", patchA);
    expect(r.fresh).toBe(true);
    expect(existsSync(src("other.c"))).toBe(false);
    expect(await readFile(src("dev.c"), "utf8")).toContain("return 1;");
  });

  it("starts from a fresh copy for another source version", async () => {
    const r = await syncWorkTree(pristine, "v2", patchA);
    expect(r.fresh).toBe(true);
  });
});
