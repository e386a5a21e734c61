import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { LabError } from "../../lib/errors.ts";
import { debug, info } from "../../lib/log.ts";
import { failedPackage, packageOfLine, stripEscapes } from "./config.ts";

/**
 * Runs Buildroot's make (a long-lived process the lab controls: spawned,
 * not zx): its whole output appended to the build log, one console line
 * per package as Buildroot starts it, and on failure the package's name
 * with the last lines of the log. Runs under `nice`: the build is long and
 * the machine may be shared.
 */

export interface MakeSpec {
  tree: string;
  output: string;
  external: string;
  log: string;
  args: readonly string[];
  /** Print one line per package started (the build); quiet for defconfig and friends. */
  announce: boolean;
}

/** Environment quirks of building Debian's sources as root, offline. */
export const makeEnv: Record<string, string> = {
  // tar's configure refuses to run as root otherwise.
  FORCE_UNSAFE_CONFIGURE: "1",
  // Debian's patches touch .texi/.1 sources: never regenerate documentation.
  MAKEINFO: "true",
  HELP2MAN: "true",
};

export async function buildrootMake(s: MakeSpec): Promise<void> {
  const argv = ["-n", "10", "make", "-C", s.tree, `O=${s.output}`, `BR2_EXTERNAL=${s.external}`];
  argv.push(...s.args);
  debug(`nice ${argv.join(" ")} >>${s.log}`);
  const log = createWriteStream(s.log, { flags: "a" });
  log.write(`\n### lab: make ${s.args.join(" ")} (${new Date().toISOString()})\n`);
  const seen = new Set<string>();
  let partial = "";
  const onData = (d: Buffer) => {
    log.write(d);
    if (!s.announce) return;
    const lines = (partial + d.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      const pkg = packageOfLine(line);
      if (pkg && !seen.has(pkg)) {
        seen.add(pkg);
        info(`buildroot: ${pkg}`);
      }
    }
  };
  const env = { ...process.env, ...makeEnv };
  // Variables Buildroot must not inherit from a developer's shell.
  for (const v of ["CC", "CXX", "CFLAGS", "LDFLAGS", "ARCH", "CROSS_COMPILE", "PERL_MM_OPT"])
    delete env[v];
  const code = await new Promise<number>((res) => {
    const child = spawn("nice", argv, { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", (e) => {
      log.write(`lab: cannot start make: ${e.message}\n`);
      res(127);
    });
    child.once("close", (c, sig) => res(c ?? (sig ? 128 : 1)));
  });
  await new Promise<void>((r) => log.end(r));
  if (code === 0) return;
  const text = await readFile(s.log, "utf8");
  const ours = text.slice(text.lastIndexOf("\n### lab: make "));
  const tail = stripEscapes(ours).trim().split("\n").slice(-30).join("\n");
  const pkg = failedPackage(ours);
  throw new LabError(
    `Buildroot failed${pkg ? ` building ${pkg}` : ""} (make ${s.args.join(" ") || "all"}, exit ${code}); the last lines of ${s.log}:\n${tail}`,
    1,
    pkg
      ? `the whole log is ${s.log}; rebuild that package alone: make -C ${s.tree} O=${s.output} ${pkg}-dirclean ${pkg}`
      : `the whole log is ${s.log}`,
  );
}
