import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePackages } from "../../scripts/debian/apt.ts";
import { repoRoot } from "../../scripts/lib/paths.ts";
import { ALG, E, F_AEAD, F_HASH, F_WRITE_IV, OP, STRUCTS, WIRE_VERSION } from "./wire.ts";

/**
 * The TypeScript view of the wire format (wire.ts) against the header
 * itself: a C program built with include/virtio_cryptodev.h prints every
 * struct's size, every member's offset and size, and every constant the
 * view names; each must match.
 */

/** What the C program prints: "name value" lines. */
function cProgram(): string {
  const lines: string[] = [];
  const print = (label: string, expr: string) =>
    lines.push(`\tprintf("%s %llu\\n", "${label}", (unsigned long long)(${expr}));`);
  for (const s of STRUCTS) {
    const t = `struct ${s.tag}`;
    print(`${s.tag}`, `sizeof(${t})`);
    for (const name of Object.keys(s.fields)) {
      print(`${s.tag}.${name}@`, `offsetof(${t}, ${name})`);
      print(`${s.tag}.${name}#`, `sizeof(((${t} *)0)->${name})`);
    }
  }
  for (const k of Object.keys(OP)) print(`OP.${k}`, `VIRTIO_CRYPTODEV_OP_${k}`);
  for (const k of Object.keys(ALG)) print(`ALG.${k}`, `CRYPTO_${k}`);
  for (const k of Object.keys(E)) print(`E.${k}`, k);
  print("F_WRITE_IV", "VIRTIO_CRYPTODEV_F_WRITE_IV");
  for (const k of Object.keys(F_HASH)) print(`F_HASH.${k}`, `VIRTIO_CRYPTODEV_F_HASH_${k}`);
  for (const k of Object.keys(F_AEAD)) print(`F_AEAD.${k}`, `VIRTIO_CRYPTODEV_F_AEAD_${k}`);
  print("WIRE_VERSION.BASE", "VIRTIO_CRYPTODEV_WIRE_VERSION");
  print("WIRE_VERSION.MAX", "VIRTIO_CRYPTODEV_WIRE_VERSION_MAX");
  return [
    "#include <errno.h>",
    "#include <stddef.h>",
    "#include <stdio.h>",
    "#include <virtio_cryptodev.h>",
    "#include <crypto/cryptodev.h>",
    "int main(void)",
    "{",
    ...lines,
    "\treturn 0;",
    "}",
    "",
  ].join("\n");
}

/** The same lines as the TypeScript view has them. */
function tsView(): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of STRUCTS) {
    m.set(s.tag, s.size);
    for (const [name, f] of Object.entries(s.fields)) {
      m.set(`${s.tag}.${name}@`, f.offset);
      m.set(`${s.tag}.${name}#`, f.size);
    }
  }
  for (const [k, v] of Object.entries(OP)) m.set(`OP.${k}`, v);
  for (const [k, v] of Object.entries(ALG)) m.set(`ALG.${k}`, v);
  for (const [k, v] of Object.entries(E)) m.set(`E.${k}`, v);
  m.set("F_WRITE_IV", F_WRITE_IV);
  for (const [k, v] of Object.entries(F_HASH)) m.set(`F_HASH.${k}`, v);
  for (const [k, v] of Object.entries(F_AEAD)) m.set(`F_AEAD.${k}`, v);
  m.set("WIRE_VERSION.BASE", WIRE_VERSION.BASE);
  m.set("WIRE_VERSION.MAX", WIRE_VERSION.MAX);
  return m;
}

describe("wire.ts against include/virtio_cryptodev.h", () => {
  let dir = "";
  let fromC = new Map<string, number>();

  beforeAll(async () => {
    await ensurePackages("driver");
    dir = await mkdtemp(join(tmpdir(), "vcd-wire-"));
    const src = join(dir, "layout.c");
    const bin = join(dir, "layout");
    await writeFile(src, cProgram());
    await execa("gcc", [
      "-std=gnu11",
      "-Wall",
      "-Werror",
      "-I",
      join(repoRoot, "include"),
      "-o",
      bin,
      src,
    ]);
    const { stdout } = await execa(bin);
    fromC = new Map(
      stdout
        .trim()
        .split("\n")
        .map((l) => {
          const [k = "", v = ""] = l.split(" ");
          return [k, Number(v)];
        }),
    );
  }, 120_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("has every struct's size and every member's offset and size, and every constant", () => {
    expect(Object.fromEntries(tsView())).toEqual(Object.fromEntries(fromC));
  });

  it("describes every byte of each struct exactly once", () => {
    for (const s of STRUCTS) {
      const covered = Object.values(s.fields).reduce((n, f) => n + f.size, 0);
      expect(covered, s.tag).toBe(fromC.get(s.tag));
    }
  });
});
