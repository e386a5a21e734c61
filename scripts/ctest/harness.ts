/**
 * Builds and runs the device's host-side C tests (host-backend/test/Makefile):
 * the unit tests (TAP, a final "N passed, N failed" line) and the libFuzzer
 * harness. Used by `lab fuzz` and by the vitest wrappers in host-backend/test.
 */
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { ensurePackages } from "../debian/apt.ts";
import { LabError } from "../lib/errors.ts";
import { cachePath, repoRoot } from "../lib/paths.ts";

/** host-backend/test: the C tests' sources and Makefile. */
export const testDir = join(repoRoot, "host-backend", "test");
export const seedsDir = join(testDir, "fuzz-seeds");

/**
 * Where the C test binaries, the corpus and crash artifacts go; one folder
 * per kind so the unit tests and the fuzzer can build at the same time.
 */
export function cOutDir(kind: "unit" | "fuzz"): string {
  return cachePath("host-tests", kind);
}

export interface TapSummary {
  passed: number;
  failed: number;
  /** the names of the failing tests ("not ok" lines) */
  failures: string[];
}

/** Reads the "N passed, N failed" lines and the failures of TAP output. */
export function parseTap(output: string): TapSummary {
  const s: TapSummary = { passed: 0, failed: 0, failures: [] };
  for (const line of output.split("\n")) {
    const m = /^(\d+) passed, (\d+) failed$/.exec(line.trim());
    if (m) {
      s.passed += Number(m[1]);
      s.failed += Number(m[2]);
    } else if (line.startsWith("not ok ")) s.failures.push(line);
  }
  return s;
}

export interface UnitResult extends TapSummary {
  exitCode: number;
  output: string;
}

/** `make check`: the unit tests, plain (-O2) and under ASan/UBSan. */
export async function runHostUnitTests(): Promise<UnitResult> {
  await ensurePackages("fuzz");
  const r = await execa("make", ["-s", "-C", testDir, "check", `OUT=${cOutDir("unit")}`], {
    all: true,
    reject: false,
  });
  const output = r.all ?? "";
  return { ...parseTap(output), exitCode: r.exitCode ?? 1, output };
}

export interface FuzzResult {
  execs: number;
  seconds: number;
  execsPerSecond: number;
  newUnits: number;
  corpusFiles: number;
  /** crash/leak/timeout inputs libFuzzer wrote */
  artifacts: string[];
  exitCode: number;
  /** the end of libFuzzer's output */
  tail: string;
}

function stat(output: string, name: string): number {
  const m = new RegExp(`stat::${name}:\\s+(\\d+)`).exec(output);
  return m ? Number(m[1]) : 0;
}

/**
 * Builds the harness (clang, -fsanitize=fuzzer,address,undefined) and runs it
 * for `seconds` on the corpus in the cache, seeded from fuzz-seeds/.
 * `progress` gets libFuzzer's status lines.
 */
export async function runFuzz(
  seconds: number,
  progress: (line: string) => void = () => {},
): Promise<FuzzResult> {
  await ensurePackages("fuzz");
  const out = cOutDir("fuzz");
  const corpus = join(out, "corpus");
  const artifactsDir = join(out, "artifacts");
  await mkdir(corpus, { recursive: true });
  await mkdir(artifactsDir, { recursive: true });
  const b = await execa("make", ["-s", "-C", testDir, "fuzz-build", `OUT=${out}`], {
    all: true,
    reject: false,
  });
  if (b.exitCode !== 0)
    throw new LabError(`building the fuzz harness failed:\n${(b.all ?? "").slice(-4000)}`);
  const before = new Set(await readdir(artifactsDir));
  const proc = execa(
    join(out, "fuzz-core"),
    [
      `-max_total_time=${seconds}`,
      "-max_len=4096",
      "-timeout=20",
      "-rss_limit_mb=4096",
      "-print_final_stats=1",
      `-artifact_prefix=${artifactsDir}/`,
      corpus,
      seedsDir,
    ],
    { all: true, reject: false, env: { ASAN_OPTIONS: "detect_leaks=1" } },
  );
  proc.stderr?.on("data", (chunk: Buffer) => {
    const lines = chunk
      .toString()
      .split("\n")
      .filter((l) => l.startsWith("#"));
    const last = lines.at(-1);
    if (last) progress(last);
  });
  const r = await proc;
  const output = r.all ?? "";
  const after = await readdir(artifactsDir);
  const done = /Done (\d+) runs in (\d+) second/.exec(output);
  const execs = stat(output, "number_of_executed_units") || Number(done?.[1] ?? 0);
  const secs = Number(done?.[2] ?? seconds) || seconds;
  return {
    execs,
    seconds: secs,
    execsPerSecond: stat(output, "average_exec_per_sec"),
    newUnits: stat(output, "new_units_added"),
    corpusFiles: (await readdir(corpus)).length,
    artifacts: after.filter((f) => !before.has(f)).map((f) => join(artifactsDir, f)),
    exitCode: r.exitCode ?? 1,
    tail: output.split("\n").slice(-40).join("\n"),
  };
}
