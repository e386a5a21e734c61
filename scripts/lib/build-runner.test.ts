import { describe, expect, it } from "vitest";
import { expandNames, formatTimings, resolveOrder } from "./build-runner.ts";

const graph: Record<string, string[]> = {
  kernel: [],
  initramfs: ["kernel"],
  driver: ["kernel"],
  app: ["binding"],
  binding: [],
};
const load = async (n: string) => ({ deps: graph[n] ?? [] });

describe("build target resolution", () => {
  it("expands aliases and keeps the given order without duplicates", () => {
    expect(expandNames(["guest", "kernel", "driver"])).toEqual([
      "kernel",
      "initramfs",
      "noderoot",
      "driver",
    ]);
    expect(expandNames([])).toContain("qemu");
  });

  it("rejects unknown targets with the list of known ones", () => {
    expect(() => expandNames(["kernal"])).toThrow(/unknown build target 'kernal'.*kernel/);
  });

  it("puts dependencies first, each once", async () => {
    expect(await resolveOrder(["driver", "initramfs", "app"], load)).toEqual([
      "kernel",
      "driver",
      "initramfs",
      "binding",
      "app",
    ]);
  });

  it("reports a dependency cycle instead of looping", async () => {
    const cyc = async (n: string) => ({ deps: n === "a" ? ["b"] : ["a"] });
    await expect(resolveOrder(["a"], cyc)).rejects.toThrow(/cycle: a -> b -> a/);
  });

  it("formats timings with a total", () => {
    const s = formatTimings([
      { name: "kernel", result: "built", seconds: 2 },
      { name: "qemu", result: "up-to-date", seconds: 0.5 },
    ]);
    expect(s).toMatch(/kernel\s+built\s+2\.0 s/);
    expect(s).toMatch(/total\s+2\.5 s/);
  });
});
