import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type CpioEntry, withParents, writeCpio } from "./cpio.ts";

const entries: CpioEntry[] = [
  { path: "init", type: "file", mode: 0o755, data: Buffer.from("#!/bin/sh\n") },
  { path: "bin/sh", type: "symlink", target: "busybox" },
  { path: "dev/console", type: "char", major: 5, minor: 1 },
];

describe("cpio newc writer", () => {
  it("is deterministic whatever the entry order", () => {
    const a = writeCpio(withParents(entries));
    const b = writeCpio(withParents([...entries].reverse()));
    expect(a.equals(b)).toBe(true);
    expect(a.length % 4).toBe(0);
    expect(a.subarray(0, 6).toString()).toBe("070701");
    expect(a.includes(Buffer.from("TRAILER!!!"))).toBe(true);
  });

  it("rejects duplicates and unsafe paths", () => {
    expect(() => writeCpio([entries[0] as CpioEntry, entries[0] as CpioEntry])).toThrow(
      /duplicate/,
    );
    expect(() => writeCpio([{ path: "../x", type: "dir" }])).toThrow(/bad archive path/);
  });

  it.skipIf(!existsSync("/usr/bin/cpio"))("is read back by GNU cpio (skipped without cpio)", () => {
    const listing = execFileSync("cpio", ["-itv", "--quiet"], {
      input: writeCpio(withParents(entries)),
    }).toString();
    expect(listing).toMatch(/-rwxr-xr-x .* init/);
    expect(listing).toMatch(/lrwxrwxrwx .* bin\/sh -> busybox/);
    expect(listing).toMatch(/crw------- .* dev\/console/);
    expect(listing).toMatch(/drwxr-xr-x .* bin/);
  });
});
