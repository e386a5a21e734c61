import { intArg, intListArg, listOfArg } from "../../lib/args.ts";
import { defineCommand } from "../../lib/command.ts";
import { info, step, warn } from "../../lib/log.ts";
import { startGuestChat } from "../../demo/guest-chat.ts";
import { startHostChat } from "../../demo/host-chat.ts";
import { chatSystem } from "./chat-system.ts";
import { type BenchSystem, type RunResult, runFanout } from "./harness.ts";
import { startNgircd } from "./ngircd.ts";
import { formatTable } from "./table.ts";

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

async function startSystem(name: SystemName, smp: number | undefined): Promise<BenchSystem> {
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
        startGuestChat({ mode: "secure", devices: 1, smp }),
      );
      return chatSystem("chat, guest (/dev/cryptodev0)", server);
    }
    case "guest-node": {
      const server = await step("booting the guest with the chat on node:crypto", () =>
        startGuestChat({ mode: "secure", devices: 1, crypto: "node", smp }),
      );
      return chatSystem("chat, guest (node:crypto in the guest)", server);
    }
  }
}

export default defineCommand({
  summary: "chat messages/s and latency: host, guest, and ngircd side by side",
  usage: `usage: lab bench chat [--clients 1,10,100] [--messages N] [--systems host,guest,ngircd] [--smp N] [--json]

The same fan-out workload against each server, side by side: in one
channel, min(N,10) senders in a closed loop; a message is complete when
acknowledged and received by every other member; latency = send to receipt.

  --clients   channel sizes to run (default 1,10,100)
  --messages  measured messages per run (default 300, in the guest 100;
              a tenth of that, at most 20, unmeasured first)
  --systems   which servers (default host,guest,ngircd): host (chat, node
              provider), guest (chat in the guest through /dev/cryptodev0),
              ngircd (Debian's IRC server), guest-node (chat in the guest
              with node:crypto in the guest: what the device saves)
  --smp N     vCPUs of the guest (lab run's default otherwise)
  --json      one JSON object per run on stdout instead of the table`,
  options: {
    clients: { type: "string" },
    messages: { type: "string" },
    systems: { type: "string" },
    smp: { type: "string" },
    json: { type: "boolean" },
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
    const rows: RunResult[] = [];
    let failures = 0;
    for (const name of systems) {
      let sys: BenchSystem;
      try {
        sys = await startSystem(name, smp);
      } catch (e) {
        failures++;
        warn(`${name}: not run: ${(e as Error).message}`);
        continue;
      }
      try {
        for (const n of clients) {
          const r = await step(`${sys.label}: ${n} client${n > 1 ? "s" : ""}`, () =>
            runFanout(sys, n, messages ?? defaultMessages[name]),
          );
          rows.push(r);
          if (values.json) process.stdout.write(JSON.stringify(r) + "\n");
        }
      } catch (e) {
        failures++;
        warn(`${sys.label}: ${(e as Error).message}`);
      } finally {
        await sys.stop();
      }
    }
    if (!values.json) {
      process.stdout.write(formatTable(rows) + "\n");
      info(
        "fan-out in one channel: min(N,10) senders in a closed loop; a message is complete when acknowledged and received by every other member; latency = send to receipt",
      );
    }
    return failures ? 1 : 0;
  },
});
