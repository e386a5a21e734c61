/**
 * The chat's command line: `chat server ...` and `chat client ...`. Reached
 * as `npx lab chat ...` on the host (scripts/commands/chat.ts calls main())
 * and as `node ts-app/dist/chat.mjs ...` (the esbuild bundle of main.ts) in
 * the guest. Keeps to ts-app: no imports from scripts/.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { escapeControls } from "./display.ts";
import { ChatError, ChatUsageError, CryptoProviderError, UnsafePathError } from "./errors.ts";
import { parseProviderName, selectProvider } from "./crypto/select.ts";
import type { CryptoProvider } from "./crypto/provider.ts";
import { createLogger, parseLevel, serverLogRate, type Logger } from "./log.ts";
import type { Durability } from "./store/sqlite.ts";

export const defaultPort = 7777;

export const usage = `usage: lab chat server [options]
       lab chat client [options]

The encrypted chat (the seed's AN Protocol 2.0 rebuilt). The server runs in
the foreground, logs to stderr, prints its host key ("host key SHA256:...",
secure mode) and then "listening on HOST:PORT" on stdout once it accepts
connections, and exits 0 on SIGINT/SIGTERM after closing cleanly.

common options:
  --mode secure|classic   wire mode (default secure)
  --host ADDR             address to listen on / connect to (default 127.0.0.1)
  --port N                TCP port (default ${defaultPort}; server: 0 picks a free one)
  --crypto cryptodev|node|auto   cipher provider (default auto: cryptodev when
                          the device exists)            [env CHAT_CRYPTO]
  --device PATH           cryptodev device (default /dev/cryptodev0, else /dev/crypto)
                                                        [env CHAT_DEVICE]
  --key HEX --iv HEX      classic mode: AES-128 key and IV, 32 hex digits each
                                                        [env CHAT_KEY, CHAT_IV]
  --log-level error|warn|info|debug                     [env CHAT_LOG_LEVEL]

server options:
  --db PATH               SQLite database, created 0600 (default $XDG_DATA_HOME or
                          ~/.local/share, then cryptodev-lab/chat.db, or
                          chat-classic.db in classic mode; ":memory:" only when
                          asked). Secure mode keeps its host key there.
                                                        [env CHAT_DB]
  --durability process|power  what an acknowledged message survives: process
                          (default) a server killed in any way (SIGKILL, crash);
                          power also a power cut (fsync per commit, slower)
                                                        [env CHAT_DURABILITY]
  --idle-timeout S        close connections silent for S seconds (default 600, 0 = never)
  --frame-timeout S       close a peer that takes over S seconds to finish a frame (default 10)
  --login-timeout S       close a connection not logged in after S seconds (default 15)
  --max-conns N           connections at once (default 1024)
  --max-conns-per-addr N  connections at once from one address (default 256)
  --msg-rate N[/BURST]    messages per minute per user, BURST at once (default 120/600;
                          0 = no limit)
  --hash-threads N        threads for password hashing (default 1)

client options (secure mode checks the server's host key, as SSH does):
  --known-hosts PATH      recorded server keys (default $XDG_DATA_HOME or ~/.local/share,
                          then cryptodev-lab/known_hosts)  [env CHAT_KNOWN_HOSTS]
  --host-key SHA256:...   accept only this server key (what the server printed)
                                                        [env CHAT_HOST_KEY]
  --strict-host-key       refuse a server with no recorded key (default: record it
                          on first use)
  --script FILE|-         scripted mode: commands from FILE (or stdin), one JSON
                          line per result and per pushed message on stdout
                          (default when stdin is not a terminal: stdin)
  --user U                log in first, with the password from env CHAT_PASSWORD
                          or the first line of --password-file FILE
  --register              with --user: create the account first
  --linger MS             scripted: keep printing pushes MS ms after the last command

Exit codes: 0 ok, 1 a scripted command failed, 2 usage or an unsafe file, 3
connection failed or closed (a host key mismatch included), 4 the crypto
provider failed (no device...).`;

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
  durability: { type: "string" },
  "idle-timeout": { type: "string" },
  "frame-timeout": { type: "string" },
  "max-conns": { type: "string" },
  "login-timeout": { type: "string" },
  "max-conns-per-addr": { type: "string" },
  "msg-rate": { type: "string" },
  "hash-threads": { type: "string" },
  "known-hosts": { type: "string" },
  "host-key": { type: "string" },
  "strict-host-key": { type: "boolean" },
  script: { type: "string" },
  user: { type: "string" },
  password: { type: "string" },
  "password-file": { type: "string" },
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

function dataDir(): string {
  return join(process.env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "cryptodev-lab");
}

/** Each mode its own database: classic mode never sees secure mode's accounts. */
export function defaultDbPath(mode: "secure" | "classic" = "secure"): string {
  return join(dataDir(), mode === "secure" ? "chat.db" : "chat-classic.db");
}

export function defaultKnownHostsPath(): string {
  return join(dataDir(), "known_hosts");
}

/** "N" or "N/BURST" messages per minute; 0 is no limit. */
function msgRate(v: string | undefined): { burst: number; perMinute: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)(?:\/(\d+))?$/.exec(v);
  if (!m) throw new ChatUsageError("--msg-rate must be N or N/BURST (messages a minute)");
  const perMinute = Number(m[1]);
  if (perMinute === 0) return { burst: Infinity, perMinute: Infinity };
  return { perMinute, burst: m[2] ? Number(m[2]) : Math.max(perMinute * 5, 1) };
}

function durabilityOf(v: string | undefined): Durability {
  if (v === undefined || v === "process" || v === "power") return v ?? "process";
  throw new ChatUsageError("--durability must be process or power");
}

interface Common {
  mode: "secure" | "classic";
  host: string;
  port: number;
  log: Logger;
  provider: CryptoProvider;
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
    undefined,
    role === "server" ? serverLogRate : undefined,
  );
  if (v.passphrase !== undefined)
    throw new ChatUsageError(
      "--passphrase is gone: secure mode v2 needs no shared secret (the server is " +
        "authenticated by its host key, users by their passwords inside the encrypted channel)",
    );
  let key: Buffer | undefined;
  let iv: Buffer | undefined;
  if (mode === "classic") {
    key = hex16(v.key ?? process.env.CHAT_KEY, "key");
    iv = hex16(v.iv ?? process.env.CHAT_IV, "iv");
  }
  const name = parseProviderName(v.crypto ?? process.env.CHAT_CRYPTO);
  const { provider, device } = await selectProvider(name, v.device ?? process.env.CHAT_DEVICE);
  log.info(`mode ${mode}, crypto provider ${provider.name}${device ? ` on ${device}` : ""}`);
  return { mode, host, port, log, provider, key, iv };
}

async function server(v: Values): Promise<number> {
  const c = await common(v, "server");
  const dbPath = v.db ?? process.env.CHAT_DB ?? defaultDbPath(c.mode);
  const { openSqliteStore } = await import("./store/sqlite.ts");
  const { ChatServer } = await import("./server/server.ts");
  const rate = msgRate(v["msg-rate"]);
  const durability = durabilityOf(v.durability ?? process.env.CHAT_DURABILITY);
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

/** How the client checks the server's host key: a pinned key, else the known-hosts file. */
async function hostKeyPolicy(v: Values, log: Logger) {
  const { KnownHostsFile, pinnedHostKey } = await import("./client/host-keys.ts");
  const pin = v["host-key"] ?? process.env.CHAT_HOST_KEY;
  if (pin) return pinnedHostKey(pin);
  return new KnownHostsFile(
    v["known-hosts"] ?? process.env.CHAT_KNOWN_HOSTS ?? defaultKnownHostsPath(),
    {
      acceptNew: !v["strict-host-key"],
      onNew: (id, fp, path) =>
        log.warn(`new server ${id}: host key ${fp} recorded in ${path} (trust on first use)`),
    },
  );
}

function passwordOf(v: Values): string | undefined {
  if (v.password !== undefined)
    throw new ChatUsageError(
      "--password would show in ps: give it in CHAT_PASSWORD or the first line of --password-file",
    );
  if (v["password-file"]) {
    const text = readFileSync(v["password-file"], "utf8");
    return text.split(/\r?\n/)[0];
  }
  return process.env.CHAT_PASSWORD;
}

async function client(v: Values): Promise<number> {
  const password = passwordOf(v);
  const c = await common(v, "client");
  const { connectClassic, connectSecure } = await import("./client/backends.ts");
  let backend;
  try {
    backend =
      c.mode === "secure"
        ? await connectSecure({
            host: c.host,
            port: c.port,
            provider: c.provider,
            hostKeys: await hostKeyPolicy(v, c.log),
          })
        : await connectClassic({
            host: c.host,
            port: c.port,
            provider: c.provider,
            key: c.key!,
            iv: c.iv!,
          });
  } catch (e) {
    await c.provider.close();
    throw e;
  }
  try {
    const script = v.script ?? (process.stdin.isTTY ? undefined : "-");
    if (v.user && password === undefined)
      throw new ChatUsageError("--user needs the password in CHAT_PASSWORD or --password-file");
    if (v.user && password !== undefined) {
      if (v.register) {
        const r = await backend.exec({ op: "register", user: v.user, password });
        if (!r.ok && r.error.code !== "user_exists") c.log.warn(`register: ${r.error.message}`);
      }
      const r = await backend.exec({ op: "login", user: v.user, password });
      if (!r.ok)
        throw new ChatError(
          r.error.code === "too_many" ? "too_many" : "auth_failed",
          `login as ${v.user}: ${r.error.message}`,
        );
    }
    if (script !== undefined) {
      const { runScript } = await import("./client/scripted.ts");
      return await runScript(backend, { source: script, lingerMs: num(v.linger, "linger", 0) });
    }
    const { runInteractive } = await import("./client/interactive.ts");
    return await runInteractive(
      backend,
      `connected to ${c.host}:${c.port} (${c.mode} mode, ${c.provider.name} crypto` +
        `${"serverKey" in backend ? `, server key ${String(backend.serverKey)}` : ""})`,
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
      e instanceof UnsafePathError ||
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
      err(`${e.code}: ${escapeControls(e.message)}`);
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
