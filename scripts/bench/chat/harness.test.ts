import { describe, expect, it } from "vitest";
import { type BenchConn, type BenchSystem, runFanout } from "./harness.ts";
import { formatTable } from "./table.ts";

/**
 * The fan-out harness of `lab bench chat` against an in-memory channel:
 * every member other than the sender receives each message once, the run
 * counts exactly the measured messages, a lost delivery fails the run
 * instead of hanging it.
 */
function memorySystem(opts: { drop?: (text: string, to: number) => boolean } = {}) {
  const members = new Map<number, BenchConn>();
  let deliveries = 0;
  const sys: BenchSystem & { deliveries: () => number } = {
    label: "memory",
    deliveries: () => deliveries,
    async connect(i) {
      const conn: BenchConn = {
        onMessage: () => undefined,
        async send(text) {
          for (const [j, m] of members)
            if (j !== i && !opts.drop?.(text, j)) {
              deliveries++;
              setImmediate(() => m.onMessage(text));
            }
        },
        async close() {
          members.delete(i);
        },
      };
      members.set(i, conn);
      return conn;
    },
    async stop() {},
  };
  return sys;
}

describe("lab bench chat harness", () => {
  it("delivers every measured message to every other member", async () => {
    const sys = memorySystem();
    const r = await runFanout(sys, 10, 50, 5);
    expect(r.messages).toBe(50);
    expect(r.clients).toBe(10);
    expect(sys.deliveries()).toBe(55 * 9);
    expect(r.p99ms).toBeGreaterThanOrEqual(r.p50ms);
    expect(formatTable([r])).toMatch(/^server +clients/);
  });

  it("with one client, measures the acknowledgement", async () => {
    const r = await runFanout(memorySystem(), 1, 20, 2);
    expect(r.messages).toBe(20);
    expect(Number.isFinite(r.p50ms)).toBe(true);
  });

  it("fails the run when a delivery is lost, without waiting for the rest", async () => {
    const sys = memorySystem({ drop: (text, to) => text.startsWith("7 ") && to === 2 });
    await expect(runFanout(sys, 4, 50, 0, 300)).rejects.toThrow(/message 7 not delivered/);
    expect(sys.deliveries()).toBeLessThan(50 * 3);
  });
});
