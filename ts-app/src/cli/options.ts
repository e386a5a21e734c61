/**
 * The chat command line's options: the usage text, the parseArgs table, value
 * checks, default paths and what server and client share (mode, address, log,
 * crypto provider).
 */
import { homedir } from "node:os";
import { join } from "node:path";
import type { parseArgs } from "node:util";
import { ChatUsageError } from "../errors.ts";
import { parseProviderName, selectProvider } from "../crypto/select.ts";
import type { CryptoProvider } from "../crypto/provider.ts";
import { createLogger, parseLevel, serverLogRate, type Logger } from "../log.ts";
import { isSuite, suites, type Suite } from "../protocol/secure.ts";
import type { Durability } from "../store/sqlite.ts";

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
  --suites LIST           secure mode's record protections, comma-separated ids:
                          2 AES-128-GCM (one device round trip per frame),
                          1 AES-128-CBC + HMAC-SHA256 (two). A client offers
                          them in this order (default 2,1); a server accepts
                          only these (default all) and takes the client's
                          first acceptable one           [env CHAT_SUITES]

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

export const options = {
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
  suites: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export type Values = ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
>["values"];

export function num(
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
export function msgRate(v: string | undefined): { burst: number; perMinute: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)(?:\/(\d+))?$/.exec(v);
  if (!m) throw new ChatUsageError("--msg-rate must be N or N/BURST (messages a minute)");
  const perMinute = Number(m[1]);
  if (perMinute === 0) return { burst: Infinity, perMinute: Infinity };
  return { perMinute, burst: m[2] ? Number(m[2]) : Math.max(perMinute * 5, 1) };
}

export function durabilityOf(v: string | undefined): Durability {
  if (v === undefined || v === "process" || v === "power") return v ?? "process";
  throw new ChatUsageError("--durability must be process or power");
}

/** --suites: secure mode's suite ids, in order, each once; undefined: the default. */
export function suitesOf(v: string | undefined): Suite[] | undefined {
  if (v === undefined || v === "") return undefined;
  const ids = v.split(",").map((x) => Number(x.trim()));
  const bad = ids.filter((n) => !Number.isInteger(n) || !isSuite(n));
  if (bad.length || new Set(ids).size !== ids.length)
    throw new ChatUsageError(
      `--suites must list suite ids among ${Object.keys(suites).join(",")} once each (got '${v}')`,
    );
  return ids.filter(isSuite);
}

export interface Common {
  mode: "secure" | "classic";
  host: string;
  port: number;
  log: Logger;
  provider: CryptoProvider;
  key?: Buffer;
  iv?: Buffer;
}

export async function common(v: Values, role: "server" | "client"): Promise<Common> {
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
