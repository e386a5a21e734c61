/**
 * The chat's command line: `chat server ...` and `chat client ...`. Reached
 * as `npx lab chat ...` on the host (scripts/commands/chat.ts calls main())
 * and as `node ts-app/dist/chat.mjs ...` (the esbuild bundle of main.ts) in
 * the guest. Keeps to ts-app: no imports from scripts/.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ChatError, ChatUsageError, CryptoProviderError } from "./errors.ts";
import { parseProviderName, selectProvider } from "./crypto/select.ts";
import type { CryptoProvider } from "./crypto/provider.ts";
import { createLogger, parseLevel, type Logger } from "./log.ts";

export const defaultPort = 7777;

export const usage = `usage: lab chat server [options]
       lab chat client [options]

The encrypted chat (the seed's AN Protocol 2.0 rebuilt). The server runs in
the foreground, logs to stderr, prints "listening on HOST:PORT" on stdout once
it accepts connections, and exits 0 on SIGINT/SIGTERM after closing cleanly.

common options:
  --mode secure|classic   wire mode (default secure)
  --host ADDR             address to listen on / connect to (default 127.0.0.1)
  --port N                TCP port (default ${defaultPort}; server: 0 picks a free one)
  --crypto cryptodev|node|auto   cipher provider (default auto: cryptodev when
                          the device exists)            [env CHAT_CRYPTO]
  --device PATH           cryptodev device (default /dev/cryptodev0, else /dev/crypto)
                                                        [env CHAT_DEVICE]
  --passphrase TEXT       secure mode: the shared passphrase the keys derive from
                                                        [env CHAT_PASSPHRASE]
  --key HEX --iv HEX      classic mode: AES-128 key and IV, 32 hex digits each
                                                        [env CHAT_KEY, CHAT_IV]
  --log-level error|warn|info|debug                     [env CHAT_LOG_LEVEL]

server options:
  --db PATH               SQLite database (default $XDG_DATA_HOME or ~/.local/share,
                          then cryptodev-lab/chat.db; ":memory:" only when asked)
                                                        [env CHAT_DB]
  --idle-timeout S        close connections silent for S seconds (default 600, 0 = never)
  --frame-timeout S       close a peer that takes over S seconds to finish a frame (default 10)
  --max-conns N           connections at once (default 1024)

client options:
  --script FILE|-         scripted mode: commands from FILE (or stdin), one JSON
                          line per result and per pushed message on stdout
                          (default when stdin is not a terminal: stdin)
  --user U --password P   log in first (P also from env CHAT_PASSWORD)
  --register              with --user/--password: create the account first
  --linger MS             scripted: keep printing pushes MS ms after the last command

Exit codes: 0 ok, 1 a scripted command failed, 2 usage, 3 connection failed or
closed (wrong passphrase included), 4 the crypto provider failed (no device...).`;

const options = {
  mode: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  crypto: { type: "string" },
  device: { type: "string" },
  passphrase: { type: "string" },
  key: { type: "string" },
  iv: { type: "string" },
  "log-level": { type: "string" },
  db: { type: "string" },
  "idle-timeout": { type: "string" },
  "frame-timeout": { type: "string" },
  "max-conns": { type: "string" },
  script: { type: "string" },
  user: { type: "string" },
  password: { type: "string" },
  register: { type: "boolean" },
  linger: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
>["values"];

function num(
  v: string | undefined,
  name: string,
  fallback: number,
  min = 0,
  max = 2 ** 31,
): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new ChatUsageError(`--${name} must be a number in ${min}..${max}`);
  return n;
}

function hex16(v: string | undefined, name: string): Buffer {
  if (!v || !/^[0-9a-fA-F]{32}$/.test(v))
    throw new ChatUsageError(
      `classic mode needs --${name} (or CHAT_${name.toUpperCase()}) as 32 hex digits (AES-128)`,
    );
  return Buffer.from(v, "hex");
}

export function defaultDbPath(): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(base, "cryptodev-lab", "chat.db");
}

interface Common {
  mode: "secure" | "classic";
  host: string;
  port: number;
  log: Logger;
  provider: CryptoProvider;
  master?: Buffer;
  key?: Buffer;
  iv?: Buffer;
}

async function common(v: Values, role: "server" | "client"): Promise<Common> {
  const mode = v.mode ?? "secure";
  if (mode !== "secure" && mode !== "classic")
    throw new ChatUsageError("--mode must be secure or classic");
  const host = v.host ?? "127.0.0.1";
  const port = num(v.port, "port", defaultPort, role === "server" ? 0 : 1, 65535);
  const log = createLogger(
    role,
    parseLevel(v["log-level"] ?? process.env.CHAT_LOG_LEVEL, role === "server" ? "info" : "warn"),
  );
  let key: Buffer | undefined;
  let iv: Buffer | undefined;
  let passphrase: string | undefined;
  if (mode === "classic") {
    key = hex16(v.key ?? process.env.CHAT_KEY, "key");
    iv = hex16(v.iv ?? process.env.CHAT_IV, "iv");
  } else {
    passphrase = v.passphrase ?? process.env.CHAT_PASSPHRASE;
    if (!passphrase)
      throw new ChatUsageError("secure mode needs --passphrase (or CHAT_PASSPHRASE)");
  }
  const name = parseProviderName(v.crypto ?? process.env.CHAT_CRYPTO);
  const { provider, device } = await selectProvider(name, v.device ?? process.env.CHAT_DEVICE);
  log.info(`mode ${mode}, crypto provider ${provider.name}${device ? ` on ${device}` : ""}`);
  let master: Buffer | undefined;
  if (passphrase) {
    const { deriveMaster } = await import("./protocol/secure.ts");
    master = await deriveMaster(passphrase);
  }
  return { mode, host, port, log, provider, master, key, iv };
}

async function server(v: Values): Promise<number> {
  const c = await common(v, "server");
  const dbPath = v.db ?? process.env.CHAT_DB ?? defaultDbPath();
  const { openSqliteStore } = await import("./store/sqlite.ts");
  const { ChatServer } = await import("./server/server.ts");
  const store = openSqliteStore(dbPath);
  c.log.info(`database ${dbPath}`);
  const srv = new ChatServer({
    mode: c.mode,
    host: c.host,
    port: c.port,
    store,
    provider: c.provider,
    log: c.log,
    master: c.master,
    classicKey: c.key,
    classicIv: c.iv,
    maxConnections: num(v["max-conns"], "max-conns", 1024, 1),
    limits: {
      idleTimeoutMs: num(v["idle-timeout"], "idle-timeout", 600) * 1000,
      frameTimeoutMs: num(v["frame-timeout"], "frame-timeout", 10) * 1000,
    },
  });
  let addr: { host: string; port: number };
  try {
    addr = await srv.listen();
  } catch (e) {
    store.close();
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

async function client(v: Values): Promise<number> {
  const c = await common(v, "client");
  const { connectClassic, connectSecure } = await import("./client/backends.ts");
  const backend =
    c.mode === "secure"
      ? await connectSecure({ host: c.host, port: c.port, provider: c.provider, master: c.master! })
      : await connectClassic({
          host: c.host,
          port: c.port,
          provider: c.provider,
          key: c.key!,
          iv: c.iv!,
        });
  try {
    const password = v.password ?? process.env.CHAT_PASSWORD;
    const script = v.script ?? (process.stdin.isTTY ? undefined : "-");
    if (v.user && password) {
      if (v.register) {
        const r = await backend.exec({ op: "register", user: v.user, password });
        if (!r.ok && r.error.code !== "user_exists") c.log.warn(`register: ${r.error.message}`);
      }
      const r = await backend.exec({ op: "login", user: v.user, password });
      if (!r.ok) throw new ChatError("auth_failed", `login as ${v.user}: ${r.error.message}`);
    }
    if (script !== undefined) {
      const { runScript } = await import("./client/scripted.ts");
      return await runScript(backend, { source: script, lingerMs: num(v.linger, "linger", 0) });
    }
    const { runInteractive } = await import("./client/interactive.ts");
    return await runInteractive(
      backend,
      `connected to ${c.host}:${c.port} (${c.mode} mode, ${c.provider.name} crypto)`,
    );
  } finally {
    await c.provider.close();
  }
}

/** Runs `server ...` or `client ...`; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const err = (s: string) => process.stderr.write(`chat: error: ${s}\n`);
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options,
      allowPositionals: true,
      strict: true,
    });
    const [role, ...extra] = positionals;
    if (values.help || !role) {
      process.stdout.write(usage + "\n");
      return values.help ? 0 : 2;
    }
    if (extra.length) throw new ChatUsageError(`unexpected argument '${extra[0]}'`);
    if (role === "server") return await server(values);
    if (role === "client") return await client(values);
    throw new ChatUsageError(`unknown role '${role}': server or client`);
  } catch (e) {
    if (
      e instanceof ChatUsageError ||
      (e as NodeJS.ErrnoException).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
    ) {
      err((e as Error).message);
      return 2;
    }
    if (e instanceof CryptoProviderError) {
      err(`crypto provider: ${e.message}`);
      return 4;
    }
    if (e instanceof ChatError) {
      err(`${e.code}: ${e.message}`);
      return 3;
    }
    const ne = e as NodeJS.ErrnoException;
    if (ne.code && ne.syscall) {
      err(`${ne.syscall}: ${ne.message}`);
      return 3;
    }
    throw e;
  }
}
