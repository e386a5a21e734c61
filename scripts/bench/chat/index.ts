import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { intArg, intListArg, listOfArg } from "../../lib/args.ts";
import { defineCommand } from "../../lib/command.ts";
import { info, step, warn } from "../../lib/log.ts";
import { startGuestChat } from "../../demo/guest-chat.ts";
import { startHostChat } from "../../demo/host-chat.ts";
import { summarizeProfileDir } from "../cpuprofile.ts";
import { chatSystem } from "./chat-system.ts";
import { type BenchSystem, type HandshakeRun, type RunResult, runFanout } from "./harness.ts";
import { startNgircd } from "./ngircd.ts";
import { formatHandshakes, formatTable } from "./table.ts";
import { type SystemName, systemLabels, systemNames } from "./systems.ts";

/** Run when --systems is not given (guest-node is for comparison, on request). */
const defaultSystems: SystemName[] = ["host", "guest", "ngircd"];

/** Measured messages per run when --messages is not given: TCG makes the guest slow. */
const defaultMessages: Record<SystemName, number> = {
  host: 300,
  "host-power": 300,
  guest: 100,
  ngircd: 300,
  "guest-node": 100,
  "guest-cbc": 100,
  "guest-node-cbc": 100,
};

async function startSystem(
  name: SystemName,
  smp: number | undefined,
  cpuProfDir: string | undefined,
): Promise<BenchSystem> {
  switch (name) {
    case "ngircd":
      return step("starting ngircd", () => startNgircd());
    case "host": {
      const server = await step("starting the chat on the host", () =>
        startHostChat({ mode: "secure", cpuProfDir }),
      );
      return chatSystem(systemLabels["host"], server);
    }
    case "host-power": {
      const server = await step("starting the chat on the host (--durability power)", () =>
        startHostChat({ mode: "secure", durability: "power", cpuProfDir }),
      );
      return chatSystem(systemLabels["host-power"], server);
    }
    case "guest": {
      const server = await step("booting the guest with the chat on /dev/cryptodev0", () =>
        startGuestChat({ mode: "secure", devices: 1, smp, cpuProfDir }),
      );
      return chatSystem(systemLabels["guest"], server);
    }
    case "guest-node": {
      const server = await step("booting the guest with the chat on node:crypto", () =>
        startGuestChat({ mode: "secure", devices: 1, crypto: "node", smp, cpuProfDir }),
      );
      return chatSystem(systemLabels["guest-node"], server);
    }
    // Secure mode's suite 1 (AES-CBC + HMAC-SHA256): what the chat used before suite 2.
    case "guest-cbc": {
      const server = await step("booting the guest with the chat on /dev/cryptodev0, suite 1", () =>
        startGuestChat({ mode: "secure", devices: 1, smp, suites: [1], cpuProfDir }),
      );
      return chatSystem(systemLabels["guest-cbc"], server);
    }
    case "guest-node-cbc": {
      const server = await step("booting the guest with the chat on node:crypto, suite 1", () =>
        startGuestChat({
          mode: "secure",
          devices: 1,
          crypto: "node",
          smp,
          suites: [1],
          cpuProfDir,
        }),
      );
      return chatSystem(systemLabels["guest-node-cbc"], server);
    }
  }
}

export interface ChatOptions {
  clients: number[];
  /** Measured messages per run (default per system: defaultMessages). */
  messages?: number;
  systems: SystemName[];
  smp?: number;
  /** Secure handshakes per measurement (0: none), at each of `handshakeInFlight`. */
  handshakes: number;
  handshakeInFlight: number[];
  /** Each row as it is measured (JSON lines). */
  onRow?: (row: RunResult | HandshakeRun) => void;
  /** Profile each chat server with node --cpu-prof into DIR/SYSTEM. */
  cpuProf?: string;
}

export interface ChatReport {
  runs: RunResult[];
  handshakes: HandshakeRun[];
  /** Systems that could not be started or failed, with the reason. */
  failures: string[];
  /** With cpuProf: each chat server's profile, summarized. */
  profiles: string[];
}

/** Logins measured per handshake figure: each is one scrypt on the server. */
const loginConnections = (n: number) => Math.max(2, Math.min(20, Math.ceil(n / 10)));

export async function measureChat(o: ChatOptions): Promise<ChatReport> {
  const report: ChatReport = { runs: [], handshakes: [], failures: [], profiles: [] };
  for (const name of o.systems) {
    let sys: BenchSystem;
    const profDir = o.cpuProf && name !== "ngircd" ? join(resolve(o.cpuProf), name) : undefined;
    if (profDir) await mkdir(profDir, { recursive: true });
    try {
      sys = await startSystem(name, o.smp, profDir);
    } catch (e) {
      report.failures.push(`${name}: not run: ${(e as Error).message}`);
      warn(`${name}: not run: ${(e as Error).message}`);
      continue;
    }
    try {
      for (const n of o.clients) {
        const r = await step(`${sys.label}: ${n} client${n > 1 ? "s" : ""}`, () =>
          runFanout(sys, n, o.messages ?? defaultMessages[name]),
        );
        report.runs.push(r);
        o.onRow?.(r);
      }
      if (sys.handshakes && o.handshakes > 0 && name !== "host-power") {
        // In the guest a handshake goes through the device: fewer of them,
        // and no logins (a scrypt under TCG measures the emulator).
        const host = name === "host";
        const n = host ? o.handshakes : Math.max(4, Math.ceil(o.handshakes / 5));
        for (const login of host ? [false, true] : [false])
          for (const inFlight of o.handshakeInFlight) {
            const count = login ? loginConnections(n) : n;
            const h = await step(
              `${sys.label}: ${count} ${login ? "handshakes + logins" : "handshakes"}, ${inFlight} in flight`,
              () => sys.handshakes!(count, inFlight, login),
            );
            report.handshakes.push(h);
            o.onRow?.(h);
          }
      }
    } catch (e) {
      report.failures.push(`${sys.label}: ${(e as Error).message}`);
      warn(`${sys.label}: ${(e as Error).message}`);
    } finally {
      await sys.stop();
    }
    if (profDir) report.profiles.push(...(await summarizeProfileDir(profDir, sys.label)));
  }
  return report;
}

export default defineCommand({
  summary: "chat messages/s and latency: host, guest, and ngircd side by side",
  usage: `usage: lab bench chat [--clients 1,10,100] [--messages N] [--systems host,guest,ngircd]
                      [--smp N] [--handshakes N] [--json]

The same fan-out workload against each server, side by side: in one
channel, min(N,10) senders in a closed loop; a message is complete when
acknowledged and received by every other member; latency = send to receipt.

  --clients   channel sizes to run (default 1,10,100)
  --messages  measured messages per run (default 300, in the guest 100;
              a tenth of that, at most 20, unmeasured first)
  --systems   which servers (default host,guest,ngircd): host (chat, node
              provider; an ack survives SIGKILL), host-power (the same with
              --durability power: an fsync per group commit), guest (chat in the guest through /dev/cryptodev0),
              ngircd (Debian's IRC server), guest-node (chat in the guest
              with node:crypto in the guest: what the device saves);
              guest-cbc, guest-node-cbc: the same two with the server
              limited to secure mode's suite 1 (AES-CBC + HMAC, two device
              round trips per frame; the default, suite 2, is AES-GCM in one)
  --smp N     vCPUs of the guest (lab run's default otherwise)
  --handshakes N  secure handshakes per figure (default 200, 0: none): connections/s
              with 1 and 8 in flight, handshake alone and with a login (fewer:
              each login is one scrypt), on each chat system
  --json      one JSON object per run on stdout instead of the table
  --cpu-prof DIR  run each chat server (host or guest) under node --cpu-prof,
              its profile written to DIR/SYSTEM/, and print where its time
              went: self time by category (crypto, SQLite, chat JS, GC, ...)
              and the top frames`,
  options: {
    clients: { type: "string" },
    messages: { type: "string" },
    systems: { type: "string" },
    smp: { type: "string" },
    json: { type: "boolean" },
    handshakes: { type: "string" },
    "cpu-prof": { type: "string" },
  },
  async run({ values }) {
    const clients = values.clients
      ? intListArg("--clients", values.clients, 1, 1000)
      : [1, 10, 100];
    const messages = values.messages
      ? intArg("--messages", values.messages, 1, 100_000)
      : undefined;
    const systems = values.systems
      ? listOfArg("--systems", values.systems, systemNames)
      : defaultSystems;
    const smp = values.smp ? intArg("--smp", values.smp, 1, 16) : undefined;
    const handshakes = values.handshakes
      ? intArg("--handshakes", values.handshakes, 0, 100_000)
      : 200;
    const r = await measureChat({
      clients,
      messages,
      systems,
      smp,
      handshakes,
      handshakeInFlight: [1, 8],
      onRow: values.json ? (row) => process.stdout.write(JSON.stringify(row) + "\n") : undefined,
      cpuProf: values["cpu-prof"],
    });
    if (!values.json) {
      process.stdout.write(formatTable(r.runs) + "\n");
      if (r.handshakes.length) process.stdout.write("\n" + formatHandshakes(r.handshakes) + "\n");
      info(
        "fan-out in one channel: min(N,10) senders in a closed loop; a message is complete when acknowledged and received by every other member; latency = send to receipt",
      );
      for (const p of r.profiles) process.stdout.write("\n" + p + "\n");
      if (r.handshakes.length)
        info(
          "handshakes: secure mode v2 (X25519 + Ed25519 signature), each connection opened, (logged in,) closed; v1 (shared passphrase) is gone: its figures are in ts-app/README.md",
        );
    }
    return r.failures.length ? 1 : 0;
  },
});
