import { describe, expect, it } from "vitest";
import { measureHandshakes } from "../src/client/handshake-bench.ts";
import { createNodeProvider } from "../src/crypto/node.ts";
import { loggedIn, pinFor, startServer } from "./helpers.ts";

/** The measurement `lab bench chat` can use: it completes and counts (no timing asserted). */
describe("handshake measurement", () => {
  it("runs handshakes, with and without a login, and closes them all", async () => {
    const srv = await startServer();
    try {
      await (await loggedIn(srv.port, "bench", "bench-pw")).close();
      const base = { host: "127.0.0.1", port: srv.port, provider: createNodeProvider() };
      const hs = await measureHandshakes({
        ...base,
        hostKeys: pinFor(srv.port),
        connections: 20,
        concurrency: 4,
      });
      expect(hs.connections).toBe(20);
      expect(hs.perSecond).toBeGreaterThan(0);
      expect(hs.p99Ms).toBeGreaterThanOrEqual(hs.p50Ms);
      const login = await measureHandshakes({
        ...base,
        hostKeys: pinFor(srv.port),
        connections: 4,
        concurrency: 2,
        login: { user: "bench", password: "bench-pw" },
      });
      expect(login.connections).toBe(4);
      for (let i = 0; i < 50 && srv.server.connectionCount; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(srv.server.connectionCount).toBe(0);
    } finally {
      await srv.stop();
    }
  });
});
