import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensurePackages } from "../lib/apt.ts";
import { LabError, UsageError } from "../lib/errors.ts";
import { info, step, warn } from "../lib/log.ts";
import { SecureClient } from "../../ts-app/src/client/secure-client.ts";
import { createNodeProvider } from "../../ts-app/src/crypto/node.ts";
import type { Push } from "../../ts-app/src/protocol/messages.ts";
import { trustOnFirstUse } from "../../ts-app/src/client/host-keys.ts";
import { freePort, startGuestChat, startHostChat, type RunningChat } from "../demo/chat-session.ts";

/**
 * `lab bench chat`: the same fan-out workload against three servers on this
 * machine, side by side:
 *   - the chat in secure mode on the host (node provider);
 *   - the chat in secure mode in the guest, its crypto through
 *     /dev/cryptodev0 (clients on the host through a 127.0.0.1 forward);
 *   - Debian's ngircd (IRC), one channel.
 *
 * Workload, for N = 1, 10, 100 clients, all members of one channel:
 * min(N, 10) of them send in a closed loop (next message once the previous
 * one is complete); a message is complete when the server acknowledged it
 * (the chat's SEND answer; for IRC, the PONG to a PING sent right after the
 * PRIVMSG) and it reached every other member. Reported: messages/s,
 * deliveries/s (messages x other members), and p50/p99 latency of
 * deliveries (send to receipt at each other member; with one client, send to
 * acknowledgement). Everything on 127.0.0.1, every loop bounded.
 */

/** One member's connection, whatever the server. */
export interface BenchConn {
  /** Sends `text` to the channel; resolves once the server acknowledged it. */
  send(text: string): Promise<void>;
  /** Set by the harness: called with each channel message from another member. */
  onMessage: (text: string) => void;
  close(): Promise<void>;
}

/** A server under test, already running. */
export interface BenchSystem {
  label: string;
  /** Connects member `i` (0-based), logged in and in the channel. */
  connect(i: number): Promise<BenchConn>;
  stop(): Promise<void>;
}

export interface RunResult {
  system: string;
  clients: number;
  messages: number;
  seconds: number;
  msgsPerSec: number;
  deliveriesPerSec: number;
  p50ms: number;
  p99ms: number;
}

const maxSenders = 10;
/** A message not complete after this long fails the run (a stuck server). */
const messageTimeoutMs = 60_000;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

interface Pending {
  t0: number;
  waiting: number;
  acked: boolean;
  done: () => void;
}

/**
 * Runs the workload once: connects `clients` members, sends `messages`
 * (after `warmup` unmeasured ones), closes everything.
 */
export async function runFanout(
  sys: BenchSystem,
  clients: number,
  messages: number,
  warmup = Math.min(20, Math.ceil(messages / 10)),
  timeoutMs = messageTimeoutMs,
): Promise<RunResult> {
  const conns: BenchConn[] = [];
  try {
    // Connect in small batches: 100 handshakes at once would measure the
    // accept queue, not the chat.
    for (let i = 0; i < clients; i += 10) {
      const batch = Array.from({ length: Math.min(10, clients - i) }, (_, k) => sys.connect(i + k));
      conns.push(...(await Promise.all(batch)));
    }
    const pending = new Map<number, Pending>();
    let measuring = false;
    const latencies: number[] = [];
    const complete = (id: number, p: Pending) => {
      if (p.waiting === 0 && p.acked) {
        pending.delete(id);
        p.done();
      }
    };
    conns.forEach((c) => {
      c.onMessage = (text) => {
        const id = Number(text.split(" ", 1)[0]);
        const p = pending.get(id);
        if (!p) return;
        if (measuring) latencies.push(performance.now() - p.t0);
        p.waiting--;
        complete(id, p);
      };
    });

    let next = 0;
    let failed = false;
    const sendOne = async (sender: BenchConn) => {
      const id = next++;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new LabError(`${sys.label}: message ${id} not delivered within ${timeoutMs / 1000}s`),
            ),
          timeoutMs,
        );
        const p: Pending = {
          t0: performance.now(),
          waiting: clients - 1,
          acked: false,
          done: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        pending.set(id, p);
        sender.send(`${id} ${"x".repeat(48)}`).then(() => {
          if (clients === 1 && measuring) latencies.push(performance.now() - p.t0);
          p.acked = true;
          complete(id, p);
        }, reject);
      });
    };
    const phase = async (total: number) => {
      const senders = conns.slice(0, Math.min(maxSenders, clients));
      await Promise.all(
        senders.map(async (s) => {
          // After one failure the others stop sending: the run has failed.
          while (next < total && !failed) {
            try {
              await sendOne(s);
            } catch (e) {
              failed = true;
              throw e;
            }
          }
        }),
      );
    };
    await phase(warmup);
    measuring = true;
    const t0 = performance.now();
    await phase(warmup + messages);
    const seconds = (performance.now() - t0) / 1000;
    const sent = next - warmup;
    latencies.sort((a, b) => a - b);
    return {
      system: sys.label,
      clients,
      messages: sent,
      seconds,
      msgsPerSec: sent / seconds,
      deliveriesPerSec: (sent * Math.max(1, clients - 1)) / seconds,
      p50ms: percentile(latencies, 50),
      p99ms: percentile(latencies, 99),
    };
  } finally {
    await Promise.allSettled(conns.map((c) => c.close()));
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
      s.connect(port, "127.0.0.1");
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LabError(
    `${what} did not accept connections on 127.0.0.1:${port} within ${timeoutMs / 1000}s`,
  );
}

// --- ngircd -----------------------------------------------------------------

const ircChannel = "#bench";

/** One IRC client: registered, joined to the channel, answering PINGs. */
async function ircConnect(port: number, i: number): Promise<BenchConn> {
  const sock = new Socket();
  sock.setNoDelay(true);
  const nick = `b${i}`;
  let buf = "";
  let pingSeq = 0;
  const pongWaiters = new Map<string, () => void>();
  let ready: (() => void) | undefined;
  let failed: ((e: Error) => void) | undefined;
  const conn: BenchConn = {
    onMessage: () => undefined,
    async send(text) {
      const token = `p${pingSeq++}`;
      const acked = new Promise<void>((resolve) => pongWaiters.set(token, resolve));
      sock.write(`PRIVMSG ${ircChannel} :${text}\r\nPING :${token}\r\n`);
      return acked;
    },
    async close() {
      await new Promise<void>((resolve) => {
        sock.once("close", () => resolve());
        sock.end("QUIT :done\r\n");
        setTimeout(() => sock.destroy(), 2000).unref();
      });
    },
  };
  const onLine = (line: string) => {
    // [":prefix "] COMMAND params [" :trailing"]
    let rest = line;
    if (rest.startsWith(":")) rest = rest.slice(rest.indexOf(" ") + 1);
    const sp = rest.indexOf(" ");
    const cmd = sp < 0 ? rest : rest.slice(0, sp);
    const colon = rest.indexOf(" :");
    const trailing = colon < 0 ? "" : rest.slice(colon + 2);
    if (cmd === "PING") sock.write(`PONG :${trailing}\r\n`);
    else if (cmd === "PONG") {
      const w = pongWaiters.get(trailing);
      if (w) {
        pongWaiters.delete(trailing);
        w();
      }
    } else if (cmd === "PRIVMSG") conn.onMessage(trailing);
    else if (cmd === "366")
      ready?.(); // end of NAMES: the JOIN is complete
    else if (/^[45]\d\d$/.test(cmd) || cmd === "ERROR") failed?.(new LabError(`ngircd: ${line}`));
  };
  sock.on("data", (d: Buffer) => {
    buf += d.toString("utf8");
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, nl).replace(/\r$/, ""));
      buf = buf.slice(nl + 1);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
    sock.once("error", reject);
    sock.connect(port, "127.0.0.1", () => {
      sock.write(`NICK ${nick}\r\nUSER ${nick} 0 * :lab bench\r\nJOIN ${ircChannel}\r\n`);
    });
    setTimeout(
      () => reject(new LabError(`ngircd: ${nick} not in ${ircChannel} after 20s`)),
      20_000,
    ).unref();
  });
  ready = undefined;
  failed = undefined;
  return conn;
}

/** Starts ngircd in the foreground on a free 127.0.0.1 port, no penalties or limits. */
export async function startNgircd(): Promise<BenchSystem> {
  await ensurePackages("bench");
  const dir = await mkdtemp(join(tmpdir(), "lab-ngircd-"));
  const port = await freePort();
  const conf = join(dir, "ngircd.conf");
  const asRoot = process.getuid?.() === 0;
  await writeFile(
    conf,
    `[Global]
	Name = bench.lab.invalid
	Info = lab bench
	AdminInfo1 = lab bench
	AdminInfo2 = 127.0.0.1 only
	AdminEMail = nobody@lab.invalid
	MotdPhrase = lab bench
	Listen = 127.0.0.1
	Ports = ${port}
${asRoot ? "\tServerUID = 65534\n\tServerGID = 65534\n" : ""}[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxPenaltyTime = 0
	PingTimeout = 600
	PongTimeout = 600
[Options]
	DNS = no
	Ident = no
	PAM = no
`,
  );
  const child = spawn("/usr/sbin/ngircd", ["--nodaemon", "--config", conf], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await waitForPort(port, 10_000, "ngircd");
  } catch (e) {
    child.kill("SIGKILL");
    throw new LabError(`${(e as Error).message}\n${stderr.trim()}`);
  }
  return {
    label: "ngircd (IRC, C)",
    connect: (i) => ircConnect(port, i),
    async stop() {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      if (child.exitCode === null) child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// --- the chat (secure mode) ---------------------------------------------------

const benchChannel = "bench";
const benchPassword = "bench-pw";

/**
 * The chat as a BenchSystem: clients on the host (node provider) talk to
 * `server` (on the host, or in the guest through the forward). Users are
 * registered and added to the channel once per server by an admin
 * connection; each member then logs in and subscribes.
 */
async function chatSystem(label: string, server: RunningChat): Promise<BenchSystem> {
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
    async stop() {
      await admin.close();
      const extra = await server.stop();
      if (extra) info(`${label}: guest device counters after the runs:\n${extra}`);
      await provider.close();
    },
  };
}

// --- command line -------------------------------------------------------------

const systemNames = ["host", "guest", "ngircd", "guest-node"] as const;
type SystemName = (typeof systemNames)[number];
/** Run when --systems is not given (guest-node is for comparison, on request). */
const defaultSystems: SystemName[] = ["host", "guest", "ngircd"];

/** Measured messages per run when --messages is not given: TCG makes the guest slow. */
const defaultMessages: Record<SystemName, number> = {
  host: 300,
  guest: 100,
  ngircd: 300,
  "guest-node": 100,
};

interface Options {
  clients: number[];
  messages?: number;
  systems: SystemName[];
  json: boolean;
  /** vCPUs of the guest (lab run --smp). */
  smp?: number;
}

const usage = `usage: lab bench chat [--clients 1,10,100] [--messages N] [--systems host,guest,ngircd] [--smp N] [--json]

  --clients   channel sizes to run (default 1,10,100)
  --messages  measured messages per run (default 300, in the guest 100;
              a tenth of that, at most 20, unmeasured first)
  --systems   which servers (default host,guest,ngircd): host (chat, node
              provider), guest (chat in the guest through /dev/cryptodev0),
              ngircd (Debian's IRC server), guest-node (chat in the guest
              with node:crypto in the guest: what the device saves)
  --smp N     vCPUs of the guest (lab run's default otherwise)
  --json      one JSON object per run on stdout instead of the table`;

function parseArgs(argv: string[]): Options {
  const o: Options = {
    clients: [1, 10, 100],
    systems: [...defaultSystems],
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`lab bench chat: ${a} needs a value`);
      return v;
    };
    if (a === "--clients") {
      o.clients = val()
        .split(",")
        .map((s) => Number(s));
      if (o.clients.some((n) => !Number.isInteger(n) || n < 1 || n > 1000))
        throw new UsageError("--clients: integers from 1 to 1000");
    } else if (a === "--messages") {
      o.messages = Number(val());
      if (!Number.isInteger(o.messages) || o.messages < 1 || o.messages > 100_000)
        throw new UsageError("--messages: an integer from 1 to 100000");
    } else if (a === "--systems") {
      const s = val().split(",");
      for (const n of s)
        if (!(systemNames as readonly string[]).includes(n))
          throw new UsageError(`--systems: one or more of ${systemNames.join(",")}`);
      o.systems = s as SystemName[];
    } else if (a === "--smp") {
      o.smp = Number(val());
      if (!Number.isInteger(o.smp) || o.smp < 1 || o.smp > 16)
        throw new UsageError("--smp: an integer from 1 to 16");
    } else if (a === "--json") o.json = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(usage + "\n");
      process.exit(0);
    } else throw new UsageError(`lab bench chat: unknown argument ${a}`);
  }
  return o;
}

export function formatTable(rows: readonly RunResult[]): string {
  const head = ["server", "clients", "msgs", "msg/s", "deliveries/s", "p50 ms", "p99 ms"];
  const body = rows.map((r) => [
    r.system,
    String(r.clients),
    String(r.messages),
    r.msgsPerSec.toFixed(0),
    r.deliveriesPerSec.toFixed(0),
    r.p50ms.toFixed(2),
    r.p99ms.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

async function startSystem(name: SystemName, o: Options): Promise<BenchSystem> {
  const runArgs = o.smp ? ["--smp", String(o.smp)] : [];
  switch (name) {
    case "ngircd":
      return step("starting ngircd", () => startNgircd());
    case "host": {
      const server = await step("starting the chat on the host", () =>
        startHostChat({ mode: "secure" }),
      );
      return chatSystem("chat, host (node:crypto)", server);
    }
    case "guest": {
      const server = await step("booting the guest with the chat on /dev/cryptodev0", () =>
        startGuestChat({ mode: "secure", devices: 1, runArgs }),
      );
      return chatSystem("chat, guest (/dev/cryptodev0)", server);
    }
    case "guest-node": {
      const server = await step("booting the guest with the chat on node:crypto", () =>
        startGuestChat({ mode: "secure", devices: 1, crypto: "node", runArgs }),
      );
      return chatSystem("chat, guest (node:crypto in the guest)", server);
    }
  }
}

export async function run(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  const rows: RunResult[] = [];
  let failures = 0;
  for (const name of o.systems) {
    let sys: BenchSystem;
    try {
      sys = await startSystem(name, o);
    } catch (e) {
      failures++;
      warn(`${name}: not run: ${(e as Error).message}`);
      continue;
    }
    try {
      for (const n of o.clients) {
        const r = await step(`${sys.label}: ${n} client${n > 1 ? "s" : ""}`, () =>
          runFanout(sys, n, o.messages ?? defaultMessages[name]),
        );
        rows.push(r);
        if (o.json) process.stdout.write(JSON.stringify(r) + "\n");
      }
    } catch (e) {
      failures++;
      warn(`${sys.label}: ${(e as Error).message}`);
    } finally {
      await sys.stop();
    }
  }
  if (!o.json) {
    process.stdout.write(formatTable(rows) + "\n");
    info(
      "fan-out in one channel: min(N,10) senders in a closed loop; a message is complete when acknowledged and received by every other member; latency = send to receipt",
    );
  }
  return failures ? 1 : 0;
}
