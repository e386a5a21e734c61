import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { debugFragment } from "./kernel-debug.ts";
import { parseKconfig, unstuckSymbols } from "./kconfig.ts";

describe("kconfig", () => {
  it("reads set, valued and unset symbols; ignores comments", () => {
    const m = parseKconfig(
      '# a comment\nCONFIG_A=y\nCONFIG_B=30\nCONFIG_C="x y"\n# CONFIG_D is not set\n',
    );
    expect([...m]).toEqual([
      ["A", "y"],
      ["B", "30"],
      ["C", '"x y"'],
      ["D", "n"],
    ]);
  });

  it("names each fragment line the final config lost", () => {
    const fragment = "CONFIG_KASAN=y\nCONFIG_SLUB=y\nCONFIG_HZ=250\n# CONFIG_SLOB is not set\n";
    const final = "CONFIG_SLUB=y\nCONFIG_HZ=100\nCONFIG_SLOB=y\n";
    expect(unstuckSymbols(fragment, final)).toEqual([
      { symbol: "KASAN", wanted: "y", got: "n" },
      { symbol: "HZ", wanted: "250", got: "100" },
      { symbol: "SLOB", wanted: "n", got: "y" },
    ]);
    expect(unstuckSymbols(fragment, fragment)).toEqual([]);
  });

  it("the lab's fragment asks for every checker of the debug kernel", () => {
    const m = parseKconfig(readFileSync(debugFragment, "utf8"));
    for (const s of [
      "DEBUG_ATOMIC_SLEEP",
      "PROVE_LOCKING",
      "DEBUG_SPINLOCK",
      "DEBUG_MUTEXES",
      "PROVE_RCU",
      "KASAN",
      "KASAN_GENERIC",
      "KASAN_INLINE",
      "KFENCE",
      "DEBUG_LIST",
      "HARDENED_USERCOPY",
      "DETECT_HUNG_TASK",
      "SOFTLOCKUP_DETECTOR",
      "UBSAN_BOUNDS",
      "MODULES",
    ])
      expect(m.get(s), s).toBe("y");
  });
});
