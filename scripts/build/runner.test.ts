import { describe, expect, it } from "vitest";
import type { BuildTarget } from "./target.ts";
import { buildTargets, expandNames, formatTimings, resolveOrder } from "./runner.ts";

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

  it("formats timings with the wall time of overlapping targets", () => {
    const s = formatTimings([
      { name: "kernel", result: "built", start: 0, seconds: 2 },
      { name: "qemu", result: "up-to-date", start: 0.5, seconds: 3 },
    ]);
    expect(s).toMatch(/kernel\s+built\s+2\.0 s/);
    expect(s).toMatch(/wall\s+3\.5 s/);
  });
});

describe("building targets", () => {
  /** Fake targets on the real `lab build` names; `events` records starts and ends. */
  function fakes(fail?: string) {
    const events: string[] = [];
    const gates = new Map<string, () => void>();
    const make = (name: string, deps: string[]): BuildTarget => ({
      name,
      summary: name,
      deps,
      async build() {
        events.push(`start ${name}`);
        await new Promise<void>((res) => gates.set(name, res));
        events.push(`end ${name}`);
        if (name === fail) throw new Error(`${name} failed`);
        return "built";
      },
      async clean() {},
    });
    const all: Record<string, BuildTarget> = {
      kernel: make("kernel", []),
      initramfs: make("initramfs", ["kernel"]),
      qemu: make("qemu", []),
      driver: make("driver", ["kernel"]),
    };
    const load = async (n: string) => all[n] as BuildTarget;
    const open = async (n: string) => {
      while (!gates.has(n)) await new Promise((r) => setTimeout(r, 1));
      gates.get(n)?.();
      gates.delete(n);
    };
    return { events, load, open };
  }

  it("starts independent targets together and each dependent after its dependency", async () => {
    const f = fakes();
    const p = buildTargets(["initramfs", "qemu", "driver"], { force: false }, f.load);
    await f.open("kernel");
    await f.open("initramfs");
    await f.open("driver");
    await f.open("qemu");
    const t = await p;
    expect(t.map((x) => x.name)).toEqual(["kernel", "initramfs", "qemu", "driver"]);
    // qemu ran alongside the kernel: it started before the kernel ended.
    expect(f.events.indexOf("start qemu")).toBeLessThan(f.events.indexOf("end kernel"));
    expect(f.events.indexOf("start initramfs")).toBeGreaterThan(f.events.indexOf("end kernel"));
  });

  it("on a failure lets running targets finish, starts no dependent, and throws the failure", async () => {
    const f = fakes("kernel");
    const p = buildTargets(["initramfs", "qemu"], { force: false }, f.load);
    void p.catch(() => {});
    await f.open("kernel");
    await new Promise((r) => setTimeout(r, 20));
    expect(f.events).not.toContain("end qemu");
    await f.open("qemu");
    await expect(p).rejects.toThrow(/kernel failed/);
    expect(f.events).toContain("end qemu");
    expect(f.events).not.toContain("start initramfs");
  });
});
