/** `chat server`: opens the store, listens, runs until SIGINT/SIGTERM. */
import { ChatError } from "../errors.ts";
import {
  common,
  defaultDbPath,
  durabilityOf,
  msgRate,
  num,
  suitesOf,
  type Values,
} from "./options.ts";

export async function server(v: Values): Promise<number> {
  const c = await common(v, "server");
  const dbPath = v.db ?? process.env.CHAT_DB ?? defaultDbPath(c.mode);
  const { openSqliteStore } = await import("../store/sqlite.ts");
  const { ChatServer } = await import("../server/server.ts");
  const rate = msgRate(v["msg-rate"]);
  const durability = durabilityOf(v.durability ?? process.env.CHAT_DURABILITY);
  const acceptSuites = suitesOf(v.suites ?? process.env.CHAT_SUITES);
  let store;
  try {
    store = openSqliteStore(dbPath, {
      mode: c.mode,
      durability,
      onNotice: (m) => c.log.warn(m),
    });
  } catch (e) {
    await c.provider.close();
    throw e;
  }
  c.log.info(`database ${dbPath} (durability: ${durability})`);
  const srv = new ChatServer({
    mode: c.mode,
    host: c.host,
    port: c.port,
    store,
    provider: c.provider,
    log: c.log,
    classicKey: c.key,
    classicIv: c.iv,
    suites: acceptSuites,
    limits: {
      maxConnections: num(v["max-conns"], "max-conns", 1024, 1),
      maxConnectionsPerAddress: num(v["max-conns-per-addr"], "max-conns-per-addr", 256, 1),
      idleTimeoutMs: num(v["idle-timeout"], "idle-timeout", 600) * 1000,
      frameTimeoutMs: num(v["frame-timeout"], "frame-timeout", 10) * 1000,
      loginTimeoutMs: num(v["login-timeout"], "login-timeout", 15, 1) * 1000,
      hashThreads: num(v["hash-threads"], "hash-threads", 1, 1, 64),
      ...(rate ? { messages: rate } : {}),
    },
  });
  if (srv.hostKey) {
    process.stdout.write(`host key ${srv.hostKey.fingerprint}\n`);
    c.log.info(`host key ${srv.hostKey.fingerprint}`);
  }
  let addr: { host: string; port: number };
  try {
    addr = await srv.listen();
  } catch (e) {
    store.close();
    await srv.stop();
    await c.provider.close();
    throw new ChatError(
      "internal",
      `cannot listen on ${c.host}:${c.port}: ${(e as Error).message}`,
    );
  }
  const stopped = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  process.stdout.write(`listening on ${addr.host}:${addr.port}\n`);
  c.log.info(`listening on ${addr.host}:${addr.port}`);
  const sig = await stopped;
  c.log.info(`${sig}: closing`);
  await srv.stop();
  await c.provider.close();
  c.log.info("closed cleanly");
  return 0;
}
