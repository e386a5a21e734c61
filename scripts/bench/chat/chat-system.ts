import { LabError } from "../../lib/errors.ts";
import { info } from "../../lib/log.ts";
import { SecureClient } from "../../../ts-app/src/client/secure-client.ts";
import { createNodeProvider } from "../../../ts-app/src/crypto/node.ts";
import type { Push } from "../../../ts-app/src/protocol/messages.ts";
import { trustOnFirstUse } from "../../../ts-app/src/client/host-keys.ts";
import { measureHandshakes } from "../../../ts-app/src/client/handshake-bench.ts";
import type { RunningChat } from "../../demo/host-chat.ts";
import type { BenchConn, BenchSystem } from "./harness.ts";

const benchChannel = "bench";
const benchPassword = "bench-pw";

/**
 * The chat as a BenchSystem: clients on the host (node provider) talk to
 * `server` (on the host, or in the guest through the forward). Users are
 * registered and added to the channel once per server by an admin
 * connection; each member then logs in and subscribes.
 */
export async function chatSystem(label: string, server: RunningChat): Promise<BenchSystem> {
  const provider = createNodeProvider();
  const hostKeys = trustOnFirstUse();
  const open = () =>
    SecureClient.connect({
      host: "127.0.0.1",
      port: server.port,
      provider,
      hostKeys,
      timeoutMs: 60_000,
    });
  const admin = await open();
  const ok = async (
    c: SecureClient,
    op: string,
    params: Record<string, unknown>,
    allow: string[] = [],
  ) => {
    const r = await c.request(op, params);
    if (!r.ok && !allow.includes(r.error.code))
      throw new LabError(`${label}: ${op}: ${r.error.code}: ${r.error.message}`);
  };
  await ok(admin, "register", { user: "admin", password: benchPassword }, ["user_exists"]);
  await ok(admin, "login", { user: "admin", password: benchPassword });
  await ok(admin, "createChannel", { channel: benchChannel }, ["channel_exists"]);
  const members = new Set<number>();
  return {
    label,
    async connect(i) {
      const user = `m${i}`;
      if (!members.has(i)) {
        await ok(admin, "register", { user, password: benchPassword }, ["user_exists"]);
        await ok(admin, "invite", { channel: benchChannel, user });
        members.add(i);
      }
      const c = await open();
      await ok(c, "login", { user, password: benchPassword });
      await ok(c, "accept", { channel: benchChannel }, ["no_invitation"]);
      await ok(c, "subscribe", { channel: benchChannel });
      const conn: BenchConn = {
        onMessage: () => undefined,
        send: (text) => ok(c, "send", { channel: benchChannel, text }),
        close: () => c.close(),
      };
      c.onPush = (p: Push) => {
        if (p.push === "message" && p.message.user !== user) conn.onMessage(p.message.text);
      };
      return conn;
    },
    async handshakes(connections, inFlight, login) {
      const r = await measureHandshakes({
        host: "127.0.0.1",
        port: server.port,
        provider,
        hostKeys,
        connections,
        concurrency: inFlight,
        ...(login ? { login: { user: "admin", password: benchPassword } } : {}),
      });
      return {
        system: label,
        what: login ? "handshake + login" : "handshake",
        inFlight,
        connections: r.connections,
        perSecond: r.perSecond,
        p50ms: r.p50Ms,
        p99ms: r.p99Ms,
      };
    },
    async stop() {
      await admin.close();
      const extra = await server.stop();
      if (extra) info(`${label}: guest device counters after the runs:\n${extra}`);
      await provider.close();
    },
  };
}
