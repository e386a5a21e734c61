import { createHash, randomBytes } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LabError } from "../../lib/errors.ts";
import { type SlurmClient } from "./client.ts";
import { stageDir } from "./stage.ts";
import { isActive, parseSqueue } from "./states.ts";
import { shQuote, templatePath } from "./template.ts";

/**
 * Proves, before the array is submitted, that a compute node sees what the
 * tasks need: a small job reads a token the grader wrote under --out,
 * hashes the job script template in the lab checkout, runs node, and writes
 * its answer back under --out. No answer means --out is not on a
 * filesystem the nodes share; a different hash means the checkout is not.
 */

export interface ProbeAnswer {
  host: string;
  checkoutHash: string;
  nodeVersion: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The one-line job the probe submits (pure). */
export function probeCommand(ask: string, reply: string, token: string, node: string): string {
  const q = shQuote;
  return [
    `test "$(cat ${q(ask)} 2>/dev/null)" = ${q(token)} || exit 3`,
    `h=$(sha256sum ${q(templatePath)} 2>/dev/null | cut -c1-64)`,
    `v=$(${q(node)} --version 2>/dev/null)`,
    `echo "$(hostname) \${h:-none} \${v:-none}" > ${q(reply)}`,
  ].join("; ");
}

/** The probe's verdict (pure): undefined when all is well, else the error. */
export function probeVerdict(
  answer: string | undefined,
  want: { hash: string; out: string; checkout: string; node: string; state: string },
): LabError | undefined {
  if (answer === undefined)
    return new LabError(
      `--out ${want.out} is not on a filesystem the compute nodes share: ` +
        `a job (${want.state}) could not read the token written there, or its answer never came back`,
      1,
      "put --out on the cluster's shared filesystem (the one holding your home or project " +
        "folder), next to the lab checkout",
    );
  const [host, hash, version] = answer.trim().split(" ");
  if (hash !== want.hash)
    return new LabError(
      `the lab checkout ${want.checkout} is not visible (or not the same) on node ${host}`,
      1,
      "clone the lab onto the shared filesystem and run `lab grade --slurm` from that clone",
    );
  if (!version || version === "none")
    return new LabError(
      `node.js ${want.node} does not run on node ${host}`,
      1,
      "install Node.js at the same path on the compute nodes (or on the shared filesystem)",
    );
  return undefined;
}

export async function probeSharedFs(
  client: SlurmClient,
  o: { out: string; checkout: string; node: string; partition?: string; sbatchArgs: string[] },
  progress: (s: string) => void,
): Promise<ProbeAnswer> {
  const token = randomBytes(12).toString("hex");
  const dir = join(stageDir(o.out), "probe");
  const ask = join(dir, `${token}.ask`);
  const reply = join(dir, `${token}.reply`);
  await writeFile(ask, token);
  const hash = createHash("sha256")
    .update(await readFile(templatePath))
    .digest("hex");
  const args = [
    "--job-name=lab-grade-probe",
    "--output=/dev/null",
    "--time=2",
    ...(o.partition ? [`--partition=${o.partition}`] : []),
    ...o.sbatchArgs,
    `--wrap=${probeCommand(ask, reply, token, o.node)}`,
  ];
  const jobId = await client.sbatch(args, o.partition);
  let state = "PENDING";
  for (;;) {
    const line = (await client.squeue(jobId)).split("\n").find((l) => l.startsWith(`${jobId}|`));
    // a single job shows as "ID|STATE|REASON"; reuse the array parser by naming it task 0
    const s = parseSqueue(line ? line.replace(`${jobId}|`, `${jobId}_0|`) : "", jobId).get(0);
    state = s?.state ?? "ended";
    if (!s || !isActive(s.state)) break;
    progress(
      `probe job ${jobId} ${s.state.toLowerCase()}${s.reason !== "None" ? ` (${s.reason})` : ""}`,
    );
    await sleep(500);
  }
  // NFS may cache the folder's listing for a few seconds after the job wrote into it
  let answer: string | undefined;
  for (let i = 0; i < 20 && answer === undefined; i++) {
    answer = await readFile(reply, "utf8").catch(() => undefined);
    if (answer === undefined && state === "COMPLETED") await sleep(500);
    else break;
  }
  await rm(ask, { force: true });
  await rm(reply, { force: true });
  const err = probeVerdict(answer, {
    hash,
    out: o.out,
    checkout: o.checkout,
    node: o.node,
    state: `job ${jobId}, ${state}`,
  });
  if (err) throw err;
  const [host, checkoutHash, nodeVersion] = (answer as string).trim().split(" ") as [
    string,
    string,
    string,
  ];
  return { host, checkoutHash, nodeVersion };
}
