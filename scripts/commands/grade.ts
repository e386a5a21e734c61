import { intArg } from "../lib/args.ts";
import { defineCommand } from "../lib/command.ts";
import { UsageError } from "../lib/errors.ts";
import { slurmOnly, slurmOptions, slurmUsage } from "../grade/slurm/options.ts";

export default defineCommand({
  summary: "grade submissions (driver and/or device) against the rubric, sandboxed",
  usage: `usage: lab grade SUBMISSION... [--out DIR] [--rubric FILE] [-j N|auto] [--resume]
       lab grade --gradescope [--submission DIR] [--results FILE]

Grades each SUBMISSION (a folder or a .tar, .tar.gz, .zip holding
guest-driver/module/ and/or host-backend/qemu/ in the project's layout; a
folder without that layout is a folder of submissions). Missing parts run
with the reference; \`lab grade .\` grades the reference itself. Student
code is built and run in a bubblewrap sandbox as an unprivileged user, QEMU
with -sandbox on. Writes DIR/<name>/{results.json,junit.xml,build.log,
console.log,report.md} and DIR/summary.csv, and prints a table. Exits 0
whatever the scores; non-zero only when the grader itself cannot run.

  --out DIR        where results go (default grades/)
  --rubric FILE    the rubric (default grading/rubric.yaml)
  -j N|auto        submissions graded at once (default 1; auto: cores and memory)
  --resume         skip submissions already graded with the same inputs
                   (submission, rubric and grader version)
  --build-timeout S, --device-build-timeout S, --boot-timeout S
                   phase limits: a driver build (default 120), a QEMU rebuild
                   (300), each guest boot (at most this; each boot has its own)
  --gradescope     Gradescope's layout: grade /autograder/submission, write
                   /autograder/results/results.json
  --submission DIR, --results FILE   override those two paths
${slurmUsage}`,
  options: {
    out: { type: "string" },
    rubric: { type: "string" },
    jobs: { type: "string", short: "j" },
    resume: { type: "boolean" },
    gradescope: { type: "boolean" },
    submission: { type: "string" },
    results: { type: "string" },
    "build-timeout": { type: "string" },
    "device-build-timeout": { type: "string" },
    "boot-timeout": { type: "string" },
    ...slurmOptions,
  },
  positionals: true,
  async run({ values, positionals }) {
    const jobs =
      values.jobs === undefined
        ? 1
        : values.jobs === "auto"
          ? "auto"
          : intArg("-j", values.jobs, 1, 256);
    if (values.gradescope) {
      if (positionals.length) throw new UsageError("--gradescope takes no SUBMISSION");
      const { gradescope } = await import("../grade/gradescope.ts");
      await gradescope({
        submission: values.submission ?? "/autograder/submission",
        results: values.results ?? "/autograder/results/results.json",
        rubricPath: values.rubric,
      });
      return 0;
    }
    if (!positionals.length) throw new UsageError("lab grade needs at least one SUBMISSION");
    if (values.slurm) {
      const { runSlurmGrade } = await import("../grade/slurm/options.ts");
      return runSlurmGrade(values, positionals, values.out ?? "grades", values.rubric);
    }
    slurmOnly(values);
    const { gradeBatch } = await import("../grade/batch.ts");
    const t = (v: string | undefined, name: string) =>
      v === undefined ? undefined : intArg(name, v, 1, 3600);
    const limits = {
      driverBuildS: t(values["build-timeout"], "--build-timeout"),
      deviceBuildS: t(values["device-build-timeout"], "--device-build-timeout"),
      bootS: t(values["boot-timeout"], "--boot-timeout"),
    };
    await gradeBatch(positionals, {
      outDir: values.out ?? "grades",
      rubricPath: values.rubric,
      jobs,
      resume: !!values.resume,
      limits: Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
    });
    return 0;
  },
});
