import { existsSync } from "node:fs";
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { availableParallelism, freemem, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ensurePackages } from "../debian/apt.ts";
import { ensureBuilt } from "../vm/index.ts";
import { resolveAccel } from "../vm/accel.ts";
import { selectQemu } from "../vm/binary.ts";
import { info } from "../lib/log.ts";
import { step } from "../lib/log.ts";
import { LabError } from "../lib/errors.ts";
import { archiveKind } from "./archive.ts";
import { gradeOne } from "./grade-one.ts";
import { submissionName } from "./intake.ts";
import { type GradeResult, summaryCsv, summaryTable } from "./report.ts";
import { type Part, defaultRubricPath, loadRubric } from "./rubric.ts";
import { sandboxUnavailable } from "./sandbox.ts";

/**
 * `lab grade` over many submissions: expands folders of submissions, gives
 * each a unique name, grades up to `jobs` at once (each in its own sandbox
 * uid and work folder), then writes OUT/summary.csv and prints the table.
 */

export interface BatchOptions {
  outDir: string;
  rubricPath?: string;
  jobs: number | "auto";
  resume: boolean;
  /** Print the table on stdout (default true). */
  table?: boolean;
  /** Phase limits passed to gradeOne. */
  limits?: Parameters<typeof gradeOne>[1]["limits"];
}

/** A folder holds one submission when it has the project layout at its top. */
function isSubmissionFolder(dir: string): boolean {
  return ["guest-driver", "host-backend", "ts-app", "MANIFEST", "MANIFEST.json"].some((n) =>
    existsSync(join(dir, n)),
  );
}

/** The submissions named on the command line: folders of submissions expanded. */
export async function expandSubmissions(args: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    const p = resolve(a);
    const st = await stat(p).catch(() => undefined);
    if (st?.isDirectory() && !isSubmissionFolder(p)) {
      const kids = (await readdir(p)).sort();
      const subs: string[] = [];
      for (const k of kids) {
        const kp = join(p, k);
        const ks = await stat(kp).catch(() => undefined);
        if (ks?.isDirectory() || (ks?.isFile() && archiveKind(k))) subs.push(kp);
      }
      // an empty folder, or one with no submission in it, is one (bad) submission
      out.push(...(subs.length ? subs : [p]));
    } else out.push(p);
  }
  return out;
}

/** Unique names: a second "alice" becomes "alice-2". */
export function uniqueNames(paths: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return paths.map((p) => {
    const n = submissionName(p);
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n}-${k}`;
  });
}

/** -j auto: one submission per core, within memory (about 2.5 GiB each). */
export function autoJobs(): number {
  const byMem = Math.floor(freemem() / (2.5 * 1024 * 1024 * 1024));
  return Math.max(1, Math.min(availableParallelism(), byMem));
}

/**
 * Boots at once within each of `jobs` submissions: the cores left over
 * (a lone submission on 2 cores runs two boots at a time), within memory
 * (about 1.25 GiB per guest and QEMU).
 */
export function bootJobsFor(jobs: number): number {
  const byMem = Math.floor(freemem() / (1.25 * 1024 * 1024 * 1024) / jobs);
  return Math.max(1, Math.min(Math.floor(availableParallelism() / jobs), byMem));
}

export async function gradeBatch(args: readonly string[], o: BatchOptions): Promise<GradeResult[]> {
  await ensurePackages("grade");
  const why = sandboxUnavailable();
  if (why) throw new LabError(`cannot grade: ${why}`, 1, "install the Debian package bubblewrap");
  const { rubric, text } = await loadRubric(o.rubricPath ?? defaultRubricPath);
  // app: the chat's reference self-test and native binding (chat.ts); debug:
  // the debug guest kernel a driver's hot-unplug boot runs on (its first
  // build takes ~15 minutes of two cores; cached after)
  await ensureBuilt("driver", "conformance", "qemu", "guest", "app", "debug");
  const accel = await resolveAccel("auto", selectQemu(1));
  const subs = await expandSubmissions(args);
  if (!subs.length) throw new LabError("no submissions given");
  const names = uniqueNames(subs);
  const jobs = Math.min(o.jobs === "auto" ? autoJobs() : o.jobs, subs.length);
  const bootJobs = bootJobsFor(jobs);
  const outDir = resolve(o.outDir);
  await mkdir(outDir, { recursive: true });
  const work = join(tmpdir(), `lab-grade-${process.pid}`);
  info(
    `grading ${subs.length} submission(s), ${jobs} at a time (${bootJobs} boot(s) each), ${accel.toUpperCase()}; results in ${outDir}`,
  );

  const results: GradeResult[] = new Array(subs.length);
  let next = 0;
  const worker = async (slot: number) => {
    for (let i = next++; i < subs.length; i = next++) {
      const name = names[i] as string;
      const r = await step(`grade ${name}`, (progress) =>
        gradeOne(subs[i] as string, {
          rubric,
          rubricText: text,
          outDir,
          workDir: join(work, name),
          slot,
          accel,
          name,
          resume: o.resume,
          progress,
          limits: o.limits,
          bootJobs,
        }),
      );
      info(
        `${name}: ${r.scored.score}/${r.scored.max}${r.status !== "graded" || r.reason ? ` (${r.status}${r.reason ? `: ${r.reason.slice(0, 100)}` : ""})` : ""}`,
      );
      results[i] = r;
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, (_, s) => worker(s)));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const partNames = [...new Set(rubric.items.map((i) => i.part))] as Part[];
  await writeFile(join(outDir, "summary.csv"), summaryCsv(results, partNames));
  if (o.table !== false) process.stdout.write(summaryTable(results, partNames));
  return results;
}
