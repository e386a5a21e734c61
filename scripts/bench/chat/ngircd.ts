import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensurePackages } from "../../debian/apt.ts";
import { LabError } from "../../lib/errors.ts";
import { freePort, waitForPort } from "../../lib/net.ts";
import type { BenchSystem } from "./harness.ts";
import { ircConnect } from "./irc.ts";
import { systemLabels } from "./systems.ts";

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
    label: systemLabels.ngircd,
    connect: (i) => ircConnect(port, i),
    async stop() {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      if (child.exitCode === null) child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
}
