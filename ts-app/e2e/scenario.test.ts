import { describe, expect, it } from "vitest";
import { createNodeProvider } from "../src/crypto/node.ts";
import { classicIv, classicKey, pinFor, startServer } from "../test/helpers.ts";
import { lines, playGuest, playHost, type Connection } from "./scenario.ts";

/**
 * The end-to-end conversation on the host, with node providers standing in
 * for the two devices: both halves complete against a real server in each
 * mode, whichever half starts first. The same code runs through the device
 * in chat.vm.test.ts.
 */
describe.each(["secure", "classic"] as const)("chat scenario, %s mode, on the host", (mode) => {
  it("alice, bob and hana all read the same conversation", async () => {
    const srv = await startServer({ mode });
    try {
      const c: Connection = {
        host: "127.0.0.1",
        port: srv.port,
        mode,
        ...(mode === "secure"
          ? { hostKeys: pinFor(srv.port) }
          : { key: classicKey, iv: classicIv }),
      };
      const p = () => ({ provider: createNodeProvider(), crypto: "node" });
      // hana starts first: she must wait for the guest half through the chat.
      const host = playHost(c, createNodeProvider(), 30_000);
      const guest = playGuest(c, p(), p(), 30_000);
      const [views, hana] = await Promise.all([guest, host]);
      const want = lines.map((l, id) => ({ id, user: l.user, text: l.text }));
      for (const v of [...views, hana]) expect(v.messages, v.user).toEqual(want);
      expect([...views, hana].map((v) => v.user)).toEqual(["alice", "bob", "hana"]);
      if (mode === "secure") {
        expect(views[1]?.pushed).toEqual(expect.arrayContaining([0, 2, 3]));
        expect(hana.pushed).toEqual(expect.arrayContaining([3]));
      } else {
        expect(hana.pushed).toEqual([]);
      }
    } finally {
      await srv.stop();
    }
  });
});
