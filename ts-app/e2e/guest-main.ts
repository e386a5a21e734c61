/**
 * The guest side of the end-to-end chat, bundled by `lab build app` into
 * ts-app/dist/chat-scenario.mjs and run in the guest as
 *
 *   node /lab/ts-app/dist/chat-scenario.mjs --mode secure --port 7777
 *   node /lab/ts-app/dist/chat-scenario.mjs --mode classic --port 7777 --key HEX --iv HEX
 *
 * Starts the chat server (ts-app/dist/chat.mjs, crypto on /dev/cryptodev0),
 * plays alice (/dev/cryptodev0) and bob (/dev/cryptodev1, or cryptodev0
 * when only one device is attached) against it while hana plays from the
 * host, waits until the host says hana is done (one connection to
 * --done-port, forwarded from the host) so her last reads never meet a
 * closed server, stops the server with SIGTERM, and prints one JSON line:
 *
 *   {"type":"guest-report","mode":...,"views":[...],"counters":{...},"serverExit":0}
 *
 * Exit code 0 when the conversation completed and the server closed cleanly.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { selectProvider } from "../src/crypto/select.ts";
import { trustOnFirstUse } from "../src/client/host-keys.ts";
import { playGuest, type Connection, type Mode } from "./scenario.ts";

export type Counters = Record<string, Record<string, string>>;

/** /sys/class/cryptodev/<dev>/<counter> for every device (see guest-driver). */
export function readCounters(root = "/sys/class/cryptodev"): Counters {
  const out: Counters = {};
  if (!existsSync(root)) return out;
  for (const dev of readdirSync(root).sort()) {
    const vals: Record<string, string> = {};
    for (const name of [
      "requests",
      "errors",
      "bytes",
      "in_flight",
      "handles",
      "sessions",
      "engine",
    ]) {
      try {
        vals[name] = readFileSync(join(root, dev, name), "utf8").trim();
      } catch {
        // a driver without this counter
      }
    }
    out[dev] = vals;
  }
  return out;
}

function startServer(chat: string, args: string[]): Promise<{ stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [chat, "server", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr.on("data", (d: Buffer) => process.stderr.write(d));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (/^listening on /m.test(out))
        resolve({
          async stop() {
            child.kill("SIGTERM");
            return exited;
          },
        });
    });
    void exited.then((code) =>
      reject(new Error(`the chat server exited (${code}) before listening`)),
    );
  });
}

/**
 * Resolves on the first connection to `port` (the host's "hana is done"),
 * or after `ms`: listening starts at once, waiting only when asked.
 */
function doneSignal(port: number, ms: number): { wait(): Promise<void> } {
  let done!: () => void;
  const signalled = new Promise<void>((resolve) => (done = resolve));
  const srv = createServer((sock) => {
    // The acknowledgement tells the host the guest really got it (the host
    // forward accepts even while nothing listens in the guest).
    sock.end("k");
    done();
  });
  srv.on("error", () => done());
  srv.listen(port, "0.0.0.0");
  return {
    async wait() {
      const timer = setTimeout(done, ms);
      await signalled;
      clearTimeout(timer);
      srv.close();
    },
  };
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      mode: { type: "string", default: "secure" },
      port: { type: "string", default: "7777" },
      key: { type: "string" },
      iv: { type: "string" },
      timeout: { type: "string", default: "300" },
      "done-port": { type: "string" },
    },
  });
  const mode = v.mode as Mode;
  const port = Number(v.port);
  const timeoutMs = Number(v.timeout) * 1000;
  const here = dirname(fileURLToPath(import.meta.url));
  const chat = join(here, "chat.mjs");
  const dev0 = "/dev/cryptodev0";
  const dev1 = existsSync("/dev/cryptodev1") ? "/dev/cryptodev1" : dev0;

  const secrets = mode === "secure" ? [] : ["--key", v.key ?? "", "--iv", v.iv ?? ""];
  const server = await startServer(chat, [
    "--mode",
    mode,
    "--host",
    "0.0.0.0",
    "--port",
    String(port),
    "--crypto",
    "cryptodev",
    "--device",
    dev0,
    "--db",
    "/tmp/chat-e2e.db",
    "--log-level",
    "warn",
    // The guest is emulated and may share a busy host: the server's
    // handshake/login and frame deadlines (defences against outsiders,
    // seconds on real hardware) get the whole scenario's time here.
    "--login-timeout",
    String(Math.max(15, Number(v.timeout))),
    "--frame-timeout",
    String(Math.max(10, Number(v.timeout))),
    ...secrets,
  ]);
  const hostDone = v["done-port"] ? doneSignal(Number(v["done-port"]), 60_000) : undefined;
  const before = readCounters();
  const conn: Connection = {
    host: "127.0.0.1",
    port,
    mode,
    ...(mode === "secure"
      ? { hostKeys: trustOnFirstUse() }
      : { key: Buffer.from(v.key ?? "", "hex"), iv: Buffer.from(v.iv ?? "", "hex") }),
  };
  const a = await selectProvider("cryptodev", dev0);
  const b = await selectProvider("cryptodev", dev1);
  let views;
  let failure: string | undefined;
  try {
    views = await playGuest(
      conn,
      { provider: a.provider, crypto: `cryptodev ${dev0}` },
      { provider: b.provider, crypto: `cryptodev ${dev1}` },
      timeoutMs,
    );
  } catch (e) {
    failure = (e as Error).message;
  } finally {
    await a.provider.close();
    await b.provider.close();
  }
  await hostDone?.wait();
  const serverExit = await server.stop();
  const after = readCounters();
  process.stdout.write(
    JSON.stringify({
      type: "guest-report",
      mode,
      views,
      failure,
      counters: { before, after },
      serverExit,
    }) + "\n",
  );
  return failure || serverExit !== 0 ? 1 : 0;
}

process.exitCode = await main();
