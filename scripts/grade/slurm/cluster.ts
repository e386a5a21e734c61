import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, openSync, closeSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { LabError } from "../../lib/errors.ts";
import { freePort, waitForPort } from "../../lib/net.ts";
import { pidAlive } from "../../lib/pid.ts";
import { slurmConf } from "./conf.ts";

/**
 * A real one-machine Slurm cluster from Debian's packages (munged,
 * slurmctld, slurmd), for the tests of `lab grade --slurm`: a generated
 * slurm.conf (this machine as the one node, `cpus` CPUs, one partition), a
 * fresh munge key, state/spool/log folders in a temporary folder, the
 * daemons on free ports (never 6817/6818). `stop()` cancels every job,
 * stops the daemons, kills any job process left behind and removes the
 * folder: nothing is left.
 *
 * Every process of the cluster (daemons, slurmstepd, job scripts) carries
 * LAB_SLURM_CLUSTER=<folder> in its environment; `stop()` finds stragglers
 * by that mark (by pid, never by name: other engineers' processes share the
 * machine). The daemons run in the foreground as our children under
 * `setpriv --pdeathsig KILL`, so they die with the process that started
 * them even when it is killed. The folder holds `owner.pid`: a later
 * `startCluster()` that finds a cluster folder whose owner is dead (a test
 * run killed before its cleanup) kills what carries that folder's mark and
 * removes it.
 */
export interface SlurmCluster {
  dir: string;
  conf: string;
  partition: string;
  node: string;
  maxArraySize: number;
  /** The environment for client commands (sbatch, squeue...) on this cluster. */
  env: NodeJS.ProcessEnv;
  /** Runs a client command on this cluster; rejects on a non-zero exit. */
  run(cmd: string, args: string[]): Promise<string>;
  /** Stops the daemons and removes everything (idempotent). */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  cpus?: number;
  partition?: string;
  maxArraySize?: number;
}

const markVar = "LAB_SLURM_CLUSTER";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pids of live processes whose environment holds `name=value`. */
export async function pidsWithEnv(name: string, value: string): Promise<number[]> {
  const want = Buffer.from(`${name}=${value}\0`);
  const out: number[] = [];
  for (const e of await readdir("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const env = await readFile(`/proc/${e}/environ`).catch(() => undefined);
    if (!env) continue;
    // zombies have an empty environ; a match is a live process of ours
    if (Buffer.concat([Buffer.from([0]), env]).includes(Buffer.concat([Buffer.from([0]), want])))
      out.push(Number(e));
  }
  return out;
}

const folderPrefix = "lab-slurm-";

/** Kills every process marked with `dir` (by pid), then removes `dir`. */
async function sweep(dir: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const left = await pidsWithEnv(markVar, dir);
    if (left.length === 0) break;
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    await sleep(100);
  }
  await rm(dir, { recursive: true, force: true });
}

/**
 * Removes the test clusters left by runs that died before their cleanup:
 * folders of ours whose owner.pid names a dead process (others' live
 * clusters on this machine are left alone). Returns the folders removed.
 */
export async function sweepStaleClusters(parent = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const e of await readdir(parent).catch(() => [] as string[])) {
    if (!e.startsWith(folderPrefix)) continue;
    const dir = join(parent, e);
    const owner = Number(await readFile(join(dir, "owner.pid"), "utf8").catch(() => "NaN"));
    if (!Number.isInteger(owner) || pidAlive(owner)) continue;
    await sweep(dir);
    removed.push(dir);
  }
  return removed;
}

function alive(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

async function waitExit(p: ChildProcess, ms: number): Promise<boolean> {
  if (!alive(p)) return true;
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

export async function startCluster(o: ClusterOptions = {}): Promise<SlurmCluster> {
  const cpus = o.cpus ?? 2;
  const partition = o.partition ?? "lab";
  const maxArraySize = o.maxArraySize ?? 1001;
  await sweepStaleClusters();
  const dir = await mkdtemp(join(tmpdir(), folderPrefix));
  await writeFile(join(dir, "owner.pid"), `${process.pid}\n`);
  // munged insists that every folder above its socket be searchable by all
  await chmod(dir, 0o755);
  const node = hostname().split(".")[0] as string;
  const conf = join(dir, "slurm.conf");
  const mungeSocket = join(dir, "munge", "socket");
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf, [markVar]: dir };
  const daemons: { name: string; proc: ChildProcess }[] = [];
  let stopped = false;

  const logTail = async (name: string): Promise<string> =>
    (await readFile(join(dir, "log", name), "utf8").catch(() => ""))
      .trim()
      .split("\n")
      .slice(-15)
      .join("\n");

  const daemon = (name: string, args: string[]): ChildProcess => {
    const fd = openSync(join(dir, "log", `${name}.out`), "a");
    const proc = spawn("setpriv", ["--pdeathsig", "KILL", "--", ...args], {
      env,
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    proc.on("error", () => {});
    daemons.push({ name, proc });
    return proc;
  };

  const run = async (cmd: string, args: string[]): Promise<string> =>
    (await execa(cmd, args, { env, timeout: 30_000 })).stdout;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (daemons.some((d) => d.name === "slurmctld" && alive(d.proc))) {
      const ids = await run("squeue", ["-h", "-o", "%A"]).catch(() => "");
      const jobs = ids.split("\n").filter(Boolean);
      if (jobs.length) await run("scancel", jobs).catch(() => "");
      for (let i = 0; i < 40; i++) {
        const left = await run("squeue", ["-h", "-o", "%A"]).catch(() => "");
        if (!left.trim()) break;
        await sleep(250);
      }
    }
    // slurmd first (it ends its steps), then the controller, then munge
    for (const name of ["slurmd", "slurmctld", "munged"]) {
      for (const d of daemons.filter((x) => x.name === name)) {
        if (!alive(d.proc)) continue;
        d.proc.kill("SIGTERM");
        if (!(await waitExit(d.proc, 10_000))) {
          d.proc.kill("SIGKILL");
          await waitExit(d.proc, 5_000);
        }
      }
    }
    // job scripts and slurmstepd are not our children: found by the mark
    await sweep(dir);
  };

  try {
    for (const sub of ["state", "spool", "log", "munge", "munge-key"])
      await mkdir(join(dir, sub), { mode: 0o755 });
    await chmod(join(dir, "munge-key"), 0o700);
    const key = join(dir, "munge-key", "munge.key");
    await writeFile(key, randomBytes(1024), { mode: 0o400 });
    const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
    await writeFile(
      conf,
      slurmConf({
        clusterName: "labtest",
        host: node,
        ctldPort,
        slurmdPort,
        dir,
        mungeSocket,
        cpus,
        partition,
        maxArraySize,
      }),
    );

    daemon("munged", [
      "munged",
      "--foreground",
      `--socket=${mungeSocket}`,
      `--key-file=${key}`,
      `--pid-file=${join(dir, "munge", "munged.pid")}`,
      `--seed-file=${join(dir, "munge-key", "munged.seed")}`,
    ]);
    for (let i = 0; !existsSync(mungeSocket); i++) {
      if (i > 100 || !alive(daemons[0]!.proc))
        throw new LabError(`munged did not start:\n${await logTail("munged.out")}`);
      await sleep(100);
    }
    daemon("slurmctld", ["slurmctld", "-D", "-f", conf]);
    await waitForPort(ctldPort, 30_000, "slurmctld").catch(async (e: Error) => {
      throw new LabError(`${e.message}\n${await logTail("slurmctld.log")}`);
    });
    daemon("slurmd", ["slurmd", "-D", "-f", conf]);
    for (let i = 0; ; i++) {
      const state = await run("sinfo", ["-h", "-n", node, "-o", "%T"]).catch(() => "");
      if (state.trim() === "idle") break;
      if (i > 120)
        throw new LabError(
          `the test node did not become idle within 30s (state '${state.trim()}'):\n` +
            (await logTail("slurmd.log")),
        );
      await sleep(250);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, conf, partition, node, maxArraySize, env, run, stop };
}
