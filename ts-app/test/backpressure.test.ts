/**
 * Backpressure: a subscriber that stops reading must not make the server
 * buffer without bound, nor slow anyone else down: past the per-connection
 * output limit it is dropped, while the others keep getting everything.
 */
import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { SecureClient } from "../src/client/secure-client.ts";
import { addMember, loggedIn, startServer, type Running } from "./helpers.ts";

let srv: Running | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

/** The client's socket (private): the test stops reading from it. */
const socketOf = (c: SecureClient) => (c as unknown as { socket: Socket }).socket;

describe("backpressure", () => {
  it("drops a subscriber that does not read; the sender and readers are unaffected", async () => {
    srv = await startServer({
      limits: {
        outHighWater: 16 * 1024,
        outMax: 64 * 1024,
        messages: { burst: Infinity, perMinute: Infinity },
      },
    });
    const admin = await loggedIn(srv.port, "admin");
    const slow = await loggedIn(srv.port, "slow");
    const reader = await loggedIn(srv.port, "reader");
    await admin.call("createChannel", { channel: "room" });
    await addMember(admin, "room", slow, "slow");
    await addMember(admin, "room", reader, "reader");
    await slow.call("subscribe", { channel: "room" });
    await reader.call("subscribe", { channel: "room" });
    const total = 2500;
    let got = 0;
    const all = new Promise<void>((r) => {
      reader.onPush = (p) => {
        if (p.push === "message" && ++got === total) r();
      };
    });
    socketOf(slow).pause();
    const slowClosed = slow.closed();
    const text = "x".repeat(4000);
    // Kernel socket buffers absorb a few MiB; 10 MB of pushes overflow them.
    const acks = await Promise.all(
      Array.from({ length: total }, () => admin.call("send", { channel: "room", text })),
    );
    expect(acks).toHaveLength(total);
    await all;
    socketOf(slow).resume();
    await slowClosed;
    expect(srv.server.connectionCount).toBe(2);
    await Promise.all([admin.close(), reader.close()]);
  });
});
