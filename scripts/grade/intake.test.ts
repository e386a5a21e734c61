import { mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Limits, RejectedSubmission, defaultLimits } from "./archive.ts";
import { findLayout, intake, submissionName } from "./intake.ts";
import { sh } from "../lib/sh.ts";
import { referenceDriver, tarEnd, tarEntry, writeTree, zipOf } from "./test/fixtures.ts";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "grade-intake-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let n = 0;
const fresh = () => join(tmp, `case${n++}`);
const parts = ["driver", "device"] as const;
const c = "guest-driver/module/main.c";

async function rejected(src: string, limits?: Limits): Promise<string> {
  try {
    await intake(src, fresh(), parts, limits);
  } catch (e) {
    if (e instanceof RejectedSubmission) return e.message;
    throw e;
  }
  throw new Error("accepted");
}

async function file(name: string, data: Buffer): Promise<string> {
  const p = join(tmp, name);
  await writeFile(p, data);
  return p;
}

describe("intake: archives", () => {
  it("takes a tar.gz of the project layout with a MANIFEST inside one folder", async () => {
    const tgz = await file(
      "alice.tar.gz",
      gzipSync(
        Buffer.concat([
          tarEntry("alice/MANIFEST", "guest-driver/module/main.c sha256...\n"),
          tarEntry("alice/guest-driver/module/main.c", "int x;\n"),
          tarEntry("alice/guest-driver/module/Kbuild", "obj-m += vcryptodev.o\n"),
          tarEnd,
        ]),
      ),
    );
    const dest = fresh();
    const got = await intake(tgz, dest, parts);
    expect(got.parts).toEqual(["driver"]);
    expect(got.files).toEqual(["guest-driver/module/Kbuild", c]);
    expect(await readFile(join(dest, c), "utf8")).toBe("int x;\n");
    expect(got.notes.join("\n")).toMatch(/inside alice\//);
    expect(submissionName(tgz)).toBe("alice");
  });

  it.each([
    ["../", tarEntry("../evil/guest-driver/module/main.c", "x"), /'\.\.'/],
    ["absolute", tarEntry("/etc/guest-driver/module/main.c", "x"), /absolute path/],
    [
      "symlink out",
      tarEntry("s/link", "", { type: "2", link: "../../etc/passwd" }),
      /points outside/,
    ],
    [
      "absolute symlink",
      tarEntry("link", "", { type: "2", link: "/etc/shadow" }),
      /points outside/,
    ],
    [
      "hard link",
      tarEntry("h", "", { type: "1", link: "guest-driver/module/main.c" }),
      /hard link/,
    ],
    ["device node", tarEntry("dev", "", { type: "3" }), /special file/],
    // a 2 GiB entry: refused from its header, before any of its data is read
    ["2 GiB file", tarEntry(c, "", { size: 2 * 1024 ** 3 }), /2048 MiB \(limit 64 MiB/],
  ])("rejects a tar with %s before extraction", async (_what, entry, why) => {
    const dest = fresh();
    const tar = await file(`t${n}.tar`, Buffer.concat([tarEntry(c, "ok"), entry, tarEnd]));
    expect(await rejected(tar)).toMatch(why);
    const { existsSync } = await import("node:fs");
    expect(existsSync(dest)).toBe(false);
  });

  it("rejects a gzip bomb as it expands", async () => {
    // 16 MiB of zeros in a 16 KiB file, against a 4 MiB cap (the cap is what is tested)
    const big = Buffer.alloc(16 * 1024 * 1024);
    const tgz = await file("bomb.tgz", gzipSync(Buffer.concat([tarEntry(c, big), tarEnd])));
    const limits: Limits = { ...defaultLimits, totalBytes: 4 * 1024 * 1024 };
    expect(await rejected(tgz, limits)).toMatch(/more than 4 MiB/);
  });

  it("zip: takes the layout, rejects traversal, symlinks out and lying sizes", async () => {
    const ok = await file("bob.zip", zipOf([{ name: c, data: Buffer.from("int y;\n") }]));
    expect((await intake(ok, fresh(), parts)).files).toEqual([c]);
    const trav = await file("t.zip", zipOf([{ name: "../../x.c", data: Buffer.from("x") }]));
    expect(await rejected(trav)).toMatch(/'\.\.'/);
    const link = await file(
      "l.zip",
      zipOf([{ name: "l", data: Buffer.from("/etc/passwd"), mode: 0o120777 }]),
    );
    expect(await rejected(link)).toMatch(/points outside/);
    const data = Buffer.alloc(1024 * 1024);
    const lie = await file(
      "lie.zip",
      zipOf([{ name: c, data, deflated: deflateRawSync(data), usize: 100 }]),
    );
    expect(await rejected(lie)).toMatch(/inflates beyond/);
    const huge = await file("h.zip", zipOf([{ name: c, data: Buffer.from("x"), usize: 2 ** 31 }]));
    expect(await rejected(huge)).toMatch(/limit 64 MiB/);
  });
});

describe("intake: the tarball of lab submit", () => {
  it("takes a GNU tar.gz with MANIFEST.json and long paths, ignoring the manifest", async () => {
    const src = await writeTree(fresh(), {
      "MANIFEST.json": '{"files": []}\n',
      [c]: "int x;\n",
      [`host-backend/qemu/hw/virtio/${"d".repeat(90)}/${"f".repeat(60)}.c`]: "int y;\n",
    });
    const tgz = join(tmp, "carol.tar.gz");
    await sh({
      cwd: src,
    })`tar -czf ${tgz} --owner=0 --group=0 --numeric-owner --format=gnu MANIFEST.json guest-driver host-backend`;
    const got = await intake(tgz, fresh(), parts);
    expect(got.parts).toEqual(["driver", "device"]);
    expect(got.files).toHaveLength(2);
    expect(got.files).not.toContain("MANIFEST.json");
    expect(got.files.some((f) => f.endsWith(`${"f".repeat(60)}.c`))).toBe(true);
  });
});

describe("intake: folders and layouts", () => {
  it("copies only the graded parts of a folder; the source is left as it was", async () => {
    const src = await referenceDriver(fresh());
    await writeTree(src, { "notes.txt": "hi", "host-backend/qemu/hw/virtio/x.c": "int z;" });
    const dest = fresh();
    const got = await intake(src, dest, parts);
    expect(got.parts).toEqual(["driver", "device"]);
    expect(got.files).toContain("guest-driver/module/chrdev.c");
    expect(got.files).not.toContain("notes.txt");
  });

  it("rejects a folder with a 2 GiB file (sparse: nothing is read)", async () => {
    const src = await writeTree(fresh(), { [c]: "int x;" });
    await writeFile(join(src, "guest-driver/module/big.bin"), "");
    await truncate(join(src, "guest-driver/module/big.bin"), 2 * 1024 ** 3);
    expect(await rejected(src)).toMatch(/big\.bin is 2048 MiB/);
  });

  it("rejects a folder with a symlink out", async () => {
    const src = await writeTree(fresh(), { [c]: "int x;" });
    await symlink("/etc/shadow", join(src, "guest-driver/module/key.c"));
    expect(await rejected(src)).toMatch(/points outside/);
  });

  it("empty and wrong layouts say what was expected", async () => {
    const empty = fresh();
    await mkdir(empty);
    expect(await rejected(empty)).toMatch(/empty submission/);
    const wrong = await writeTree(fresh(), { "src/main.c": "int x;", Makefile: "all:" });
    const why = await rejected(wrong);
    expect(why).toMatch(/wrong layout: expected guest-driver\/module\/\*\.c/);
    expect(why).toMatch(/found .*src\/main\.c/);
  });

  it("finds the layout at the top or in one folder", () => {
    expect(findLayout([c]).parts).toEqual(["driver"]);
    expect(findLayout([`x/${c}`, "x/host-backend/qemu/hw/a.c"])).toEqual({
      prefix: "x/",
      parts: ["driver", "device"],
    });
    expect(findLayout(["a/b/" + c]).parts).toEqual([]);
  });
});
