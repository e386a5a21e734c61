import { describe, expect, it } from "vitest";
import {
  type CpuProfile,
  categorize,
  formatProfileSummary,
  summarizeProfile,
} from "./cpuprofile.ts";

const frame = (functionName: string, url = "", lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});

// root -> onData (chat.mjs) -> { seal (node:internal/crypto/cipher) -> update (native),
//                                 authCrypt (binding), run (better-sqlite3), parse (JSON) }
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame("(root)"), children: [2, 3, 4, 9] },
    { id: 2, callFrame: frame("(idle)") },
    { id: 3, callFrame: frame("(garbage collector)") },
    {
      id: 4,
      callFrame: frame("onData", "file:///lab/ts-app/dist/chat.mjs", 41),
      children: [5, 7, 8, 10],
    },
    { id: 5, callFrame: frame("Cipheriv", "node:internal/crypto/cipher", 9), children: [6] },
    { id: 6, callFrame: frame("update") },
    { id: 7, callFrame: frame("authCrypt") },
    { id: 8, callFrame: frame("run") },
    { id: 9, callFrame: frame("(program)") },
    { id: 10, callFrame: frame("parse") },
  ],
  // µs before each sample
  samples: [2, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10],
  timeDeltas: [5000, 5000, 1000, 2000, 1000, 3000, 1000, 2000, 4000, 500, 500],
};

describe("cpuprofile summary", () => {
  it("puts each frame's self time in its category, idle apart", () => {
    const s = summarizeProfile(profile);
    expect(s.idleMs).toBe(10);
    expect(s.busyMs).toBe(15);
    const ms = Object.fromEntries(s.byCategory.map((c) => [c.category, c.ms]));
    expect(ms).toEqual({
      "garbage collection": 1,
      "chat (JS)": 2,
      "crypto: node:crypto": 5, // Cipheriv 1 + its native update 4
      "crypto: cryptodev binding": 2,
      "SQLite (better-sqlite3)": 4,
      "V8 and native (program)": 0.5,
      "native, called from JS (JSON, Buffer, ...)": 0.5,
    });
    expect(s.byCategory[0]).toMatchObject({ category: "crypto: node:crypto", share: 5 / 15 });
    expect(s.top[0]).toMatchObject({ frame: "update", ms: 4 });
    expect(s.top.map((t) => t.frame)).toContain("onData chat.mjs:42");
  });

  it("names categories from url and function", () => {
    expect(categorize(frame("x", "node:net"))).toBe("node internals (net, streams, timers)");
    expect(categorize(frame("x", "file:///n/better-sqlite3/lib/database.js"))).toBe(
      "SQLite (better-sqlite3)",
    );
    expect(categorize(frame("createSession"))).toBe("crypto: cryptodev binding");
  });

  it("formats shares and the top frames", () => {
    const text = formatProfileSummary("chat, host", summarizeProfile(profile, 2));
    expect(text).toContain("chat, host: 15 ms busy, 10 ms idle");
    expect(text).toContain(" 33.3%        5 ms  crypto: node:crypto");
    expect(text.split("\n").slice(-3)).toEqual([
      "  top frames (self time):",
      "     26.7%        4 ms  update",
      "     26.7%        4 ms  run",
    ]);
  });
});
