import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hashKey, readStamp, writeStamp } from "./cache.ts";
import { kernelKeyFor } from "../guest/kernel.ts";
import { loadPins } from "../debian/pins.ts";

describe("cache keys", () => {
  it("are stable and depend on every part and its boundaries", () => {
    expect(hashKey(["a", "b"])).toBe(hashKey(["a", "b"]));
    expect(hashKey(["ab", "c"])).not.toBe(hashKey(["a", "bc"]));
    expect(hashKey(["a", Buffer.from("b")])).toBe(hashKey(["a", "b"]));
    expect(hashKey(["a"])).toMatch(/^[0-9a-f]{64}$/);
  });

  it("the kernel key follows the kernel set: any changed package changes it", () => {
    const set = loadPins().kernel;
    const key = kernelKeyFor(set);
    expect(kernelKeyFor(structuredClone(set))).toBe(key);
    const changed = structuredClone(set);
    const first = changed.packages[0];
    if (!first) throw new Error("no pinned package");
    first.sha256 = "0".repeat(64);
    expect(kernelKeyFor(changed)).not.toBe(key);
    const bumped = structuredClone(set);
    (bumped.packages[1] ?? first).version = "9.9.9-9";
    expect(kernelKeyFor(bumped)).not.toBe(key);
  });

  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("stamps round-trip and are absent in a fresh folder", async () => {
    const d = await mkdtemp(join(tmpdir(), "lab-stamp-"));
    dirs.push(d);
    expect(await readStamp(d)).toBeUndefined();
    await writeStamp(d, "k1");
    expect(await readStamp(d)).toBe("k1");
  });
});
