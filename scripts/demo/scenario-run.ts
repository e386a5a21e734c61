import { connect } from "node:net";
import { createNodeProvider } from "../../ts-app/src/crypto/node.ts";
import { trustOnFirstUse } from "../../ts-app/src/client/host-keys.ts";
import {
  type ClientView,
  type Connection,
  type Mode,
  playHost,
} from "../../ts-app/e2e/scenario.ts";
import { freePort } from "../lib/net.ts";
import { type Rootfs, guestArgs, startGuest } from "../vm/index.ts";
import { demoIv, demoKey, guestDonePort, guestPort, inGuest, scenarioBundle } from "./config.ts";

/**
 * The end-to-end chat scenario: a VM with `devices` devices runs the server
 * and alice and bob (ts-app/e2e/guest-main.ts, bundled as
 * chat-scenario.mjs); hana plays from the host with the node provider
 * through a forward. Resolves when both halves are done.
 */

/** What the guest half reports (ts-app/e2e/guest-main.ts). */
export interface GuestReport {
  type: "guest-report";
  mode: Mode;
  views?: ClientView[];
  failure?: string;
  counters: {
    before: Record<string, Record<string, string>>;
    after: Record<string, Record<string, string>>;
  };
  serverExit: number | null;
}

export interface ScenarioResult {
  mode: Mode;
  guest?: GuestReport;
  host?: ClientView;
  hostError?: string;
  /** The guest half's exit code (the run's). */
  exitCode: number;
  guestStderr: string;
}

/**
 * Tells the guest half that the host client is done: connects through the
 * forward until the guest acknowledges, the guest half exits, or 60 s pass.
 */
async function signalDone(hostPort: number, guestExited: Promise<unknown>): Promise<void> {
  let over = false;
  void guestExited.then(() => (over = true));
  const deadline = Date.now() + 60_000;
  while (!over && Date.now() < deadline) {
    const acked = await new Promise<boolean>((resolve) => {
      const sock = connect(hostPort, "127.0.0.1");
      sock.once("data", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
      sock.once("close", () => resolve(false));
    });
    if (acked) return;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The guest-report JSON line in the guest half's output. */
function findReport(stdout: string): GuestReport | undefined {
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const j = JSON.parse(line) as { type?: string };
      if (j.type === "guest-report") return j as GuestReport;
    } catch {
      // not ours
    }
  }
  return undefined;
}

export async function runChatScenario(o: {
  mode: Mode;
  devices?: number;
  timeoutS?: number;
  /** The guest flavour (default: `lab run`'s, i.e. $LAB_ROOTFS or the initramfs). */
  rootfs?: Rootfs;
}): Promise<ScenarioResult> {
  const port = await freePort();
  const donePort = await freePort();
  const timeoutS = o.timeoutS ?? 600;
  const secrets = o.mode === "secure" ? [] : ["--key", demoKey, "--iv", demoIv];
  const guest = startGuest(
    guestArgs({
      devices: o.devices ?? 2,
      ...(o.rootfs ? { rootfs: o.rootfs } : {}),
      forwards: [
        { hostPort: port, guestPort },
        { hostPort: donePort, guestPort: guestDonePort },
      ],
      timeoutS,
      command: [
        "node",
        inGuest(scenarioBundle),
        "--mode",
        o.mode,
        "--port",
        String(guestPort),
        "--timeout",
        String(Math.max(60, timeoutS - 60)),
        "--done-port",
        String(guestDonePort),
        ...secrets,
      ],
    }),
  );
  const conn: Connection = {
    host: "127.0.0.1",
    port,
    mode: o.mode,
    ...(o.mode === "secure"
      ? { hostKeys: trustOnFirstUse() }
      : { key: Buffer.from(demoKey, "hex"), iv: Buffer.from(demoIv, "hex") }),
  };
  const provider = createNodeProvider();
  // Play hana until done, or until the guest side ended without her (then
  // her retries stop too: nothing of hers may outlive the run).
  let hostError: string | undefined;
  const guestEnded = new AbortController();
  void guest.done.then(() =>
    guestEnded.abort(new Error("the guest side ended before hana finished")),
  );
  const host = await playHost(conn, provider, (timeoutS - 30) * 1000, guestEnded.signal).catch(
    (e: unknown) => {
      hostError = (e as Error).message;
      return undefined;
    },
  );
  await provider.close();
  // Tell the guest hana is done, so it may stop its server now.
  await signalDone(donePort, guest.done);
  const r = await guest.done;
  return {
    mode: o.mode,
    guest: findReport(guest.stdout.text),
    host,
    hostError,
    exitCode: r.code,
    guestStderr: [guest.stderr.tail(60), r.reason ? `lab: ${r.reason}` : ""].join("\n").trim(),
  };
}

/** Checks a scenario result; returns the problems (none: the chat went through). */
export function scenarioProblems(r: ScenarioResult): string[] {
  const p: string[] = [];
  if (r.hostError) p.push(`host client: ${r.hostError}`);
  if (!r.guest) p.push(`no report from the guest (the guest run exited ${r.exitCode})`);
  else {
    if (r.guest.failure) p.push(`guest clients: ${r.guest.failure}`);
    if (r.guest.serverExit !== 0)
      p.push(`the guest's chat server exited ${r.guest.serverExit} on SIGTERM`);
  }
  if (r.exitCode !== 0) p.push(`the guest run exited ${r.exitCode}`);
  return p;
}
