import { join } from "node:path";
import { cOutDir, runFuzz } from "../ctest/harness.ts";
import { intArg } from "../lib/args.ts";
import { defineCommand } from "../lib/command.ts";
import { LabError } from "../lib/errors.ts";
import { info, step } from "../lib/log.ts";

export default defineCommand({
  summary: "fuzz the device's request decoder/validator (libFuzzer, ASan/UBSan)",
  usage: `usage: lab fuzz [--seconds N]

Builds host-backend/test/fuzz-core.c with clang
(-fsanitize=fuzzer,address,undefined) and runs it for N seconds (default 60)
on the corpus kept in the cache (~/.cache/cryptodev-lab/host-tests/fuzz/corpus),
seeded from host-backend/test/fuzz-seeds/. Prints the executions and what it
found; exits 1 if libFuzzer found a crash, a leak or a hang (the input is
kept under .../host-tests/fuzz/artifacts/).

  --seconds N   how long to fuzz (npm run fuzz -- --seconds 30)`,
  options: { seconds: { type: "string" } },
  async run({ values }) {
    const seconds =
      values.seconds === undefined ? 60 : intArg("--seconds", values.seconds, 1, 86400);
    const r = await step(`fuzzing the device decoder for ${seconds}s`, (progress) =>
      runFuzz(seconds, progress),
    );
    const line =
      `${r.execs} executions in ${r.seconds}s (${r.execsPerSecond}/s), ` +
      `${r.newUnits} new inputs, corpus ${r.corpusFiles} files`;
    if (r.exitCode !== 0 || r.artifacts.length > 0) {
      process.stderr.write(`${r.tail}\n`);
      throw new LabError(
        `fuzzing found a problem (libFuzzer exit ${r.exitCode}): ${line}`,
        1,
        r.artifacts.length
          ? `reproduce: ${r.artifacts.map((a) => `${join(cOutDir("fuzz"), "fuzz-core")} ${a}`).join("; ")}`
          : undefined,
      );
    }
    info(`fuzz: ${line}; no crash, leak or hang`);
    return 0;
  },
});
