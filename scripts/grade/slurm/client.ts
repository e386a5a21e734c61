import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { execa } from "execa";
import { LabError } from "../../lib/errors.ts";

/**
 * Slurm's client commands (sbatch, squeue, scontrol, sacct, scancel) as the
 * grader uses them, with the errors a user meets turned into one clear line
 * and a hint. The cluster is whatever those commands reach: SLURM_CONF, or
 * the site's /etc/slurm/slurm.conf, or a configless setup.
 */

/** The first `cmd` on PATH, or undefined (pure but for stat). */
export function onPath(cmd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const d of (env.PATH ?? "").split(delimiter)) {
    if (d && existsSync(join(d, cmd))) return join(d, cmd);
  }
  return undefined;
}

export function noSbatchError(): LabError {
  return new LabError(
    "sbatch is not on PATH: `lab grade --slurm` submits through Slurm's client commands",
    1,
    "run it on the cluster's login node (some sites need `module load slurm` first); " +
      "on Debian the commands are in the slurm-client package",
  );
}

/** A client command's failure as a LabError, with a hint where we know one (pure). */
export function slurmError(what: string, stderr: string, partition?: string): LabError {
  const text = stderr.trim();
  if (
    /Unable to contact slurm controller|Slurmctld\(primary\).* is DOWN|Zero Bytes were transmitted/i.test(
      text,
    )
  )
    return new LabError(
      `${what}: the Slurm controller cannot be reached`,
      1,
      "check that slurmctld runs and that SLURM_CONF (or /etc/slurm/slurm.conf) names it; " +
        "`scontrol ping` tells the same",
    );
  if (/invalid partition|Partition .* not found/i.test(text))
    return new LabError(
      `${what}: the partition '${partition ?? "?"}' does not exist`,
      1,
      "list the partitions with `sinfo -s`, then pass one with --partition",
    );
  if (/Invalid job array specification|array size|MaxArraySize/i.test(text))
    return new LabError(`${what}: ${text}`, 1, "see `scontrol show config | grep MaxArraySize`");
  if (/Unable to process configuration file|cannot stat file/i.test(text))
    return new LabError(
      `${what}: Slurm's configuration cannot be read`,
      1,
      "set SLURM_CONF to the cluster's slurm.conf, or run on a node where Slurm is configured",
    );
  return new LabError(`${what} failed:\n${text.split("\n").slice(-8).join("\n")}`);
}

export class SlurmClient {
  constructor(readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Runs a client command; its failure becomes slurmError. */
  async cmd(cmd: string, args: string[], what: string, partition?: string): Promise<string> {
    const r = await execa(cmd, args, { env: this.env, reject: false, timeout: 120_000 });
    if (r.exitCode !== 0 || r.failed) throw slurmError(what, `${r.stderr}\n${r.stdout}`, partition);
    return r.stdout;
  }

  /** sbatch on PATH, a readable SLURM_CONF, a controller that answers. */
  async reachable(): Promise<void> {
    if (!onPath("sbatch", this.env)) throw noSbatchError();
    const conf = this.env.SLURM_CONF;
    if (conf && !existsSync(conf))
      throw new LabError(
        `SLURM_CONF names ${conf}, which does not exist`,
        1,
        "point SLURM_CONF at the cluster's slurm.conf, or unset it",
      );
    await this.cmd("scontrol", ["ping"], "scontrol ping");
  }

  /** `scontrol show config` as a map (MaxArraySize, MinJobAge, ...). */
  async config(): Promise<Map<string, string>> {
    const out = await this.cmd("scontrol", ["show", "config"], "scontrol show config");
    return parseConfig(out);
  }

  /** The partition's line from `scontrol show partition -o`, or an error that lists them. */
  async checkPartition(name: string): Promise<void> {
    const r = await execa("scontrol", ["show", "partition", "-o", name], {
      env: this.env,
      reject: false,
    });
    if (r.exitCode === 0 && r.stdout.includes(`PartitionName=${name} `)) return;
    const all = await this.cmd("sinfo", ["-h", "-o", "%R"], "sinfo").catch(() => "");
    const names = [...new Set(all.split("\n").filter(Boolean))];
    throw new LabError(
      `the partition '${name}' does not exist on this cluster`,
      1,
      names.length ? `partitions here: ${names.join(", ")}` : "list them with `sinfo -s`",
    );
  }

  /** Submits a script; returns the job id. */
  async sbatch(args: string[], partition?: string): Promise<string> {
    const out = await this.cmd("sbatch", ["--parsable", ...args], "sbatch", partition);
    const id = out.trim().split(";")[0] ?? "";
    if (!/^\d+$/.test(id)) throw new LabError(`sbatch answered '${out.trim()}', not a job id`);
    return id;
  }

  /** `squeue -t all` lines for one job (its finished tasks too, for MinJobAge). */
  async squeue(jobId: string): Promise<string> {
    const r = await execa("squeue", ["-h", "-t", "all", "-j", jobId, "-o", "%i|%T|%r"], {
      env: this.env,
      reject: false,
    });
    if (r.exitCode === 0) return r.stdout;
    if (/Invalid job id/i.test(r.stderr)) return ""; // the job left the controller's memory
    throw slurmError("squeue", r.stderr);
  }

  /** sacct lines, or undefined where accounting storage is off. */
  async sacct(jobId: string): Promise<string | undefined> {
    if (!onPath("sacct", this.env)) return undefined;
    const r = await execa(
      "sacct",
      ["-n", "-P", "-X", "-j", jobId, "-o", "JobID,State,ExitCode,Reason"],
      { env: this.env, reject: false },
    );
    return r.exitCode === 0 ? r.stdout : undefined;
  }

  async scancel(ids: string[]): Promise<void> {
    await this.cmd("scancel", ids, "scancel");
  }
}

/** `scontrol show config` text -> map (pure). */
export function parseConfig(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const r = /^(\w+)\s+=\s?(.*)$/.exec(line);
    if (r) m.set(r[1] as string, (r[2] as string).trim());
  }
  return m;
}

/**
 * The array-size check (pure): Slurm accepts task ids below MaxArraySize,
 * so the highest id, not the count, is what must fit.
 */
export function checkArraySize(maxId: number, maxArraySize: number): void {
  if (maxId < maxArraySize) return;
  throw new LabError(
    `${maxId + 1} submissions need array task ids up to ${maxId}, ` +
      `but this cluster's MaxArraySize is ${maxArraySize} (ids 0-${maxArraySize - 1})`,
    1,
    `grade them in batches of at most ${maxArraySize} (one --out each), ` +
      "or ask the cluster's admins to raise MaxArraySize",
  );
}
