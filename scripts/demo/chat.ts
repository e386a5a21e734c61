/**
 * The `npm start` finale: the encrypted chat through the virtio device.
 * The guest boots with two devices; the chat server runs in the guest on
 * /dev/cryptodev0, alice (guest, cryptodev0) and bob (guest, cryptodev1)
 * talk with hana (host, node:crypto) through a 127.0.0.1 forward. Prints
 * the conversation and the device's request counters. The caller (`lab
 * start`) has built everything first (`lab build all`).
 */
import { error, info, step } from "../lib/log.ts";
import { runChatScenario, scenarioProblems } from "./scenario-run.ts";
import type { ClientView, Mode } from "../../ts-app/e2e/scenario.ts";

type CounterSet = Record<string, Record<string, string>>;

/** One line per device: requests and bytes during the demo, errors, engine. */
export function formatCounters(before: CounterSet, after: CounterSet): string[] {
  const num = (s: string | undefined) => (s === undefined ? NaN : Number(s));
  return Object.keys(after)
    .sort()
    .map((dev) => {
      const a = after[dev] ?? {};
      const b = before[dev] ?? {};
      const req = num(a.requests) - (num(b.requests) || 0);
      const bytes = num(a.bytes) - (num(b.bytes) || 0);
      return `  /dev/${dev}: ${num(a.requests)} requests (${req} during the chat, ${bytes} bytes), ${a.errors ?? "?"} errors, engine ${a.engine ?? "?"}`;
    });
}

export function formatConversation(views: readonly ClientView[]): string[] {
  const first = views[0];
  if (!first) return [];
  const crypto = new Map(views.map((v) => [v.user, v.crypto]));
  return first.messages.map(
    (m) =>
      `  #${m.id} ${m.user.padEnd(5)} [${crypto.get(m.user as ClientView["user"]) ?? "?"}] ${m.text}`,
  );
}

export async function runChatDemo(mode: Mode = "secure"): Promise<number> {
  const r = await step(
    `chat demo (${mode} mode): server and two clients in the guest, one on the host`,
    () => runChatScenario({ mode, devices: 2 }),
  );
  const views = [...(r.guest?.views ?? []), ...(r.host ? [r.host] : [])];
  const out = ["", `The conversation (${mode} mode), as every client read it back:`];
  out.push(...formatConversation(views));
  for (const v of views)
    out.push(
      `  ${v.user} (${v.crypto}): read ${v.messages.length} messages, ${v.pushed.length} pushed live`,
    );
  if (r.guest) {
    out.push("", "Device request counters in the guest (/sys/class/cryptodev):");
    out.push(...formatCounters(r.guest.counters.before, r.guest.counters.after));
  }
  process.stdout.write(out.join("\n") + "\n");
  const problems = scenarioProblems(r);
  if (problems.length) {
    for (const p of problems) error(p);
    if (r.guestStderr) process.stderr.write(`guest stderr (tail):\n${r.guestStderr}\n`);
    return 1;
  }
  info("the chat's cipher work in the guest went through the virtio-cryptodev device");
  return 0;
}
