import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LabError } from "../lib/errors.ts";
import { selectQemu } from "./binary.ts";
import { ConsoleTail } from "./console.ts";

describe("console tail", () => {
  it("finds the panic line across split chunks and keeps the lines that explain it", () => {
    const t = new ConsoleTail();
    const log = [
      ...Array.from({ length: 100 }, (_, i) => `[    1.${i}] boot line ${i}`),
      "[    4.76] sysrq: Trigger a crash",
      "[    4.77] Kernel panic - not syncing: sysrq triggered crash",
      "[    4.78] CPU: 0 PID: 152 Comm: sh",
      "[    4.79] Call Trace:",
    ].join("\r\n");
    // Fed in awkward pieces, as a socket delivers it.
    for (let i = 0; i < log.length; i += 7) t.push(Buffer.from(log.slice(i, i + 7)));
    t.finish();
    expect(t.panicLine).toBe("[    4.77] Kernel panic - not syncing: sysrq triggered crash");
    const lines = t.explain();
    expect(lines[0]).toMatch(/boot line 99/);
    expect(lines[1]).toMatch(/sysrq: Trigger a crash/);
    expect(lines).toContain("[    4.79] Call Trace:");
    expect(t.lines.length).toBeLessThanOrEqual(400);
  });

  it("without a crash marker, explains with the last lines", () => {
    const t = new ConsoleTail();
    t.push(Buffer.from(Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n") + "\n"));
    expect(t.panicLine).toBeUndefined();
    expect(t.explain()).toHaveLength(25);
    expect(t.explain().at(-1)).toBe("line 39");
  });
});

describe("QEMU selection", () => {
  const saved = process.env.LAB_CACHE;
  let dir = "";
  afterEach(async () => {
    if (saved === undefined) delete process.env.LAB_CACHE;
    else process.env.LAB_CACHE = saved;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses devices without the patched QEMU, with the fix", async () => {
    dir = await mkdtemp(join(tmpdir(), "lab-cache-"));
    process.env.LAB_CACHE = dir;
    expect(() => selectQemu(1)).toThrow(LabError);
    expect(() => selectQemu(1)).toThrow(/needs the patched QEMU/);
  });
});
