import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { byName, parseAptRecords } from "./apt-index.ts";
import { describeChange, resolveKernel } from "./kernel-resolve.ts";
import type { DebPin, KernelSeries, KernelSet } from "./pins.ts";

/**
 * The resolver on `apt-cache show` output recorded on 2026-12-01
 * (fixtures/apt-cache-show.txt: ABIs 55, 56 and 57 of Debian 12's 6.1
 * series, kbuild 6.1.192-3 and 6.1.176-1), each case filtered to one state
 * of the archive.
 */
const recorded = parseAptRecords(
  readFileSync(join(import.meta.dirname, "fixtures", "apt-cache-show.txt"), "utf8"),
);

const series: KernelSeries = { abi: "6.1.0", flavour: "amd64", kbuild: "linux-kbuild-6.1" };
const find = (name: string, version: string): DebPin => {
  const p = recorded.find((r) => r.name === name && r.version === version);
  if (!p) throw new Error(`fixture lacks ${name} ${version}`);
  return p;
};
/** The -56 set as it was pinned on 2026-11-22 (kbuild 6.1.192-2, no longer served). */
const kbuild2: DebPin = {
  name: "linux-kbuild-6.1",
  version: "6.1.192-2",
  arch: "amd64",
  sha256: "7e852381f1c455a439230ea3261e3669f2307afdbed57db0fc08ed8ffa689f60",
};
const pinned56: KernelSet & { series: KernelSeries } = {
  series,
  release: "6.1.0-56-amd64",
  packages: [
    find("linux-image-6.1.0-56-amd64", "6.1.192-2"),
    find("linux-headers-6.1.0-56-amd64", "6.1.192-2"),
    find("linux-headers-6.1.0-56-common", "6.1.192-2"),
    kbuild2,
  ],
};
const archive = (keep: (p: DebPin) => boolean, extra: DebPin[] = []) =>
  byName([...recorded.filter(keep), ...extra]);
const versions = (s: KernelSet) => s.packages.map((p) => `${p.name} ${p.version}`);

describe("kernel resolver (recorded apt-cache output)", () => {
  it("parses only served records of this architecture", () => {
    expect(recorded.length).toBeGreaterThanOrEqual(11);
    expect(recorded.every((p) => /^[0-9a-f]{64}$/.test(p.sha256))).toBe(true);
    const status = "Package: x\nVersion: 1\nArchitecture: amd64\nStatus: install ok installed\n";
    expect(parseAptRecords(status)).toEqual([]);
  });

  it("takes the pinned set while the archive serves all of it", () => {
    const r = resolveKernel(
      pinned56,
      archive(() => true, [kbuild2]),
    );
    expect(r.source).toBe("pinned");
    expect(r.set.release).toBe("6.1.0-56-amd64");
    expect(r.gone).toEqual([]);
  });

  it("kbuild bumped (same ABI, new Debian revision): keeps the ABI with the newer kbuild", () => {
    const r = resolveKernel(
      pinned56,
      archive((p) => !p.name.includes("-57-")),
    );
    expect(r.source).toBe("archive");
    expect(r.gone).toEqual(["linux-kbuild-6.1 6.1.192-2"]);
    expect(versions(r.set)).toEqual([
      "linux-image-6.1.0-56-amd64 6.1.192-2",
      "linux-headers-6.1.0-56-amd64 6.1.192-2",
      "linux-headers-6.1.0-56-common 6.1.192-2",
      "linux-kbuild-6.1 6.1.192-3",
    ]);
  });

  it("the archive as it was on 2026-12-01: the newest ABI wins", () => {
    const r = resolveKernel(
      pinned56,
      archive(() => true),
    );
    expect(r.source).toBe("archive");
    expect(r.set.release).toBe("6.1.0-57-amd64");
    expect(r.set.packages.every((p) => p.version === "6.1.192-3")).toBe(true);
    expect(describeChange(pinned56, r.set)).toBe(
      "6.1.0-56-amd64 (6.1.192-2) -> 6.1.0-57-amd64 (6.1.192-3)",
    );
  });

  it("whole ABI replaced: the pinned ABI is gone, the next one is taken", () => {
    const r = resolveKernel(
      pinned56,
      archive((p) => !p.name.includes("-56-") && !p.name.includes("-55-")),
    );
    expect(r.set.release).toBe("6.1.0-57-amd64");
    expect(r.gone).toHaveLength(4);
  });

  it("skips an ABI whose set is incomplete (headers not yet served)", () => {
    const r = resolveKernel(
      pinned56,
      archive((p) => p.name !== "linux-headers-6.1.0-57-common" && !p.name.includes("-56-")),
    );
    expect(r.set.release).toBe("6.1.0-55-amd64");
    expect(versions(r.set)).toContain("linux-headers-6.1.0-55-common 6.1.192-1");
    // No kbuild of 6.1.192 revision 1 is served: the same upstream release's -3 is.
    expect(versions(r.set)).toContain("linux-kbuild-6.1 6.1.192-3");
  });

  it("nothing of the series left: a clear error naming the series and the fix", () => {
    expect(() =>
      resolveKernel(
        pinned56,
        archive((p) => p.name === "linux-kbuild-6.1"),
      ),
    ).toThrow(/linux-image-6\.1\.0-N-amd64[\s\S]*6\.1\.0-56-amd64 is gone/);
    let err: unknown;
    try {
      resolveKernel(
        pinned56,
        archive(() => false),
      );
    } catch (e) {
      err = e;
    }
    expect((err as { hint?: string } | undefined)?.hint).toMatch(/lab pins update/);
  });

  it("refuses a served file whose hash differs from the pin", () => {
    const forged = { ...kbuild2, sha256: "0".repeat(64) };
    expect(() =>
      resolveKernel(
        { ...pinned56, packages: [...pinned56.packages.slice(0, 3), forged] },
        archive(() => true, [kbuild2]),
      ),
    ).toThrow(/sha256/);
  });
});
