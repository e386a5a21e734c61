import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SplatDetector, findSplats, formatSplat, splatKind, stripTimestamp } from "./splat.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures", name), "utf8");

describe("splat headers", () => {
  it.each([
    ["BUG: sleeping function called from invalid context at mm/memory.c:5767", "atomic-sleep"],
    ["BUG: scheduling while atomic: sh/93/0x00000002", "atomic-sleep"],
    ["WARNING: possible circular locking dependency detected", "lockdep"],
    ["WARNING: possible recursive locking detected", "lockdep"],
    ["WARNING: inconsistent lock state", "lockdep"],
    ["WARNING: suspicious RCU usage", "lockdep"],
    ["BUG: Invalid wait context", "lockdep"],
    ["BUG: KASAN: use-after-free in fixture_write+0x9a/0xc0 [lab_use_after_free]", "kasan"],
    ["BUG: KFENCE: out-of-bounds read in f+0x1/0x2", "kfence"],
    ["UBSAN: array-index-out-of-bounds in a.c:1:2", "ubsan"],
    ["INFO: task sh:101 blocked for more than 30 seconds.", "hung-task"],
    ["watchdog: BUG: soft lockup - CPU#0 stuck for 45s! [spin:120]", "lockup"],
    ["rcu: INFO: rcu_preempt self-detected stall on CPU", "rcu-stall"],
    ["WARNING: CPU: 0 PID: 77 at lib/list_debug.c:30 __list_add_valid+0x8c/0xb0", "warning"],
    ["kernel BUG at mm/usercopy.c:101!", "bug"],
    ["BUG: kernel NULL pointer dereference, address: 0000000000000000", "bug"],
    ["general protection fault, probably for non-canonical address 0xdffffc0000000000", "oops"],
    ["Kernel panic - not syncing: Fatal exception", "panic"],
  ])("%s", (line, kind) => {
    expect(splatKind(line)).toBe(kind);
  });

  it.each([
    "lab-init: insmod failed",
    "kfence: initialized - using 2097152 bytes for 255 objects",
    "Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar",
    "KernelAddressSanitizer initialized (generic)",
    "ok 3 kat: AES-128-CBC encrypt",
    "   BUG: indented text is not a header",
  ])("not a report: %s", (line) => {
    expect(splatKind(line)).toBeUndefined();
  });

  it("removes printk timestamps", () => {
    expect(stripTimestamp("[   12.345678] BUG: KASAN: x")).toBe("BUG: KASAN: x");
    expect(stripTimestamp("[    1.000000][    T1] UBSAN: y")).toBe("UBSAN: y");
    expect(stripTimestamp("no stamp\r")).toBe("no stamp");
  });
});

describe("recorded console text", () => {
  it("UBSAN, a hung task and a soft lockup, each charged to its lab-test marker", () => {
    const s = findSplats(fixture("splat-hung-ubsan.txt"));
    expect(s.map((x) => [x.kind, x.test])).toEqual([
      ["ubsan", "ubsan-index"],
      ["hung-task", "hang"],
      ["lockup", "hang"],
    ]);
    expect(s[0]?.title).toBe("UBSAN: array-index-out-of-bounds in /lab/out/fx/ubsan.c:21:14");
    // The report's lines up to its closing rule.
    expect(s[0]?.lines).toContain("index 8 is out of range for type 'int [4]'");
    expect(s[0]?.lines.at(-1)).toBe(" </TASK>");
    expect(s[1]?.lines[0]).toMatch(/^INFO: task sh:101 blocked for more than 20 seconds/);
  });

  it("a WARN keeps the message printed between `cut here` and its header", () => {
    const [w, ...rest] = findSplats(fixture("splat-warn-list.txt"));
    expect(rest).toEqual([]);
    expect(w?.kind).toBe("warning");
    expect(w?.test).toBe("list");
    expect(w?.lines[0]).toMatch(/^list_add corruption/);
    expect(w?.lines).not.toContain("lab: after the trace");
  });

  it("a console without reports has none", () => {
    const clean = fixture("splat-hung-ubsan.txt").split("\n").slice(0, 3).join("\n");
    expect(findSplats(clean)).toEqual([]);
  });
});

describe("SplatDetector", () => {
  it("returns the report when its header arrives, lines fed one by one", () => {
    const d = new SplatDetector();
    expect(d.push("[ 1.0] lab-test: one")).toBeUndefined();
    const s = d.push("[ 1.1] BUG: KASAN: use-after-free in f+0x1/0x2");
    expect(s?.test).toBe("one");
    d.push("[ 1.2] Read of size 4 at addr ffff888003f8b004 by task sh/90");
    d.push("[ 1.3] ==================================================================");
    d.push("[ 1.4] lab-init: unrelated");
    expect(d.splats[0]?.lines).toEqual([
      "BUG: KASAN: use-after-free in f+0x1/0x2",
      "Read of size 4 at addr ffff888003f8b004 by task sh/90",
    ]);
  });

  it("cuts a long report at its first lines", () => {
    const d = new SplatDetector();
    d.push("BUG: scheduling while atomic: sh/93/0x00000002");
    for (let i = 0; i < 100; i++) d.push(`line ${i}`);
    expect(d.splats[0]?.lines.length).toBeLessThanOrEqual(15);
  });

  it("formats the report with the test it happened in", () => {
    const [s] = findSplats(fixture("splat-warn-list.txt"));
    const text = formatSplat(s!, "the command `x`");
    expect(text.split("\n")[0]).toBe(
      "kernel warning report during the command `x`: WARNING: CPU: 0 PID: 77 at lib/list_debug.c:30 __list_add_valid+0x8c/0xb0",
    );
    expect(text).toMatch(/^ {4}list_add corruption/m);
  });
});
