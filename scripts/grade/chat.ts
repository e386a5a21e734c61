import { existsSync } from "node:fs";
import { join } from "node:path";
import { cbcVectors, gcmVectors, hmacVectors } from "../../ts-app/e2e/vectors.ts";
import { repoRoot } from "../lib/paths.ts";
import { readTar } from "./archive.ts";
import { type SandboxSpec, runSandboxed } from "./sandbox.ts";
import type { TestOutcome } from "./score.ts";

/**
 * The chat part of the rubric (the handout's Z1 and Z2, ts-app/).
 *
 * - Z1 (the chat over TCP: the seed's packets and the reassembly of packets
 *   and frames): the reference's host tests of that code
 *   (ts-app/test/classic.test.ts, secure-frames.test.ts) run by vitest in
 *   the sandbox over a private copy of ts-app with the student's
 *   ts-app/src files laid over it; node_modules and the reference tree
 *   read-only.
 * - Z2 (the chat's crypto through /dev/crypto): the same sandbox bundles
 *   the reference's cryptodev self-test (ts-app/e2e/cryptodev-selftest.ts)
 *   with the student's src (esbuild), and a guest boot runs it on
 *   /dev/cryptodev0 after its conformance groups: vectors, random inputs
 *   and the chat's sealed frames byte-identical to node:crypto, 200
 *   requests in flight, typed errors.
 * - The reference chat through a submitted driver or device: the
 *   reference's own self-test bundle in the same boot, its byte-identity
 *   checks (`chat.reference`).
 *
 * The student's code runs in the same process as the tests that judge it:
 * it could fake its own chat results (nothing outside its sandbox or guest).
 */

/** The test ids of the chat (rubric items name them; checks.ts lists them). */
export const chatChecks = {
  "chat.packets":
    "Z1: the seed's 304-byte packet encoded and decoded byte for byte (ts-app/test/classic.test.ts)",
  "chat.packet_stream":
    "Z1: whole packets out of any split of the TCP stream (classic.test.ts, PacketReader)",
  "chat.frame_stream":
    "Z1: whole frames out of any split of the stream, bad lengths refused (secure-frames.test.ts, FrameReader)",
  "chat.sealed_frames":
    "Z1: sealed frames of both suites through split delivery (secure-frames.test.ts)",
  "chat.provider_gcm":
    "Z2: AES-GCM through the device: vectors, random inputs, the chat's suite 2 frames byte-identical to node:crypto, one round trip a frame",
  "chat.provider_cbc_hmac":
    "Z2: AES-CBC and HMAC-SHA256 through the device: vectors, random inputs, suite 1 frames byte-identical to node:crypto",
  "chat.provider_concurrent": "Z2: 200 requests in flight at once, all byte-identical",
  "chat.provider_errors":
    "Z2: typed errors (argument errors, EINVAL from the driver, a missing device, a closed provider)",
  "chat.reference":
    "the reference chat's crypto through the submitted driver/device: vectors, random inputs, sealed frames byte-identical to node:crypto",
} as const;

export type ChatCheckId = keyof typeof chatChecks;

// ------------------------------------------------------------------ Z1

/** The reference's host test files that exercise Z1 (run in the sandbox). */
export const z1TestFiles = ["ts-app/test/classic.test.ts", "ts-app/test/secure-frames.test.ts"];

interface Z1Select {
  id: ChatCheckId;
  file: string;
  describe: RegExp;
  title?: RegExp;
  not?: RegExp;
}

/** Which vitest tests make each Z1 id (all of them must pass). */
export const z1Select: readonly Z1Select[] = [
  {
    id: "chat.packets",
    file: "ts-app/test/classic.test.ts",
    describe: /^classic packet codec$/,
    not: /reassembles/,
  },
  {
    id: "chat.packet_stream",
    file: "ts-app/test/classic.test.ts",
    describe: /^classic packet codec$/,
    title: /reassembles/,
  },
  {
    id: "chat.frame_stream",
    file: "ts-app/test/secure-frames.test.ts",
    describe: /^frame reassembly/,
  },
  {
    id: "chat.sealed_frames",
    file: "ts-app/test/secure-frames.test.ts",
    describe: /^sealed frames/,
  },
];

/** The part of vitest's JSON report the grader reads. */
export interface VitestJson {
  testResults: {
    name: string;
    status: string;
    message?: string;
    assertionResults: {
      ancestorTitles: string[];
      title: string;
      status: string;
      failureMessages?: string[];
    }[];
  }[];
}

const firstLines = (s: string, n: number) =>
  s
    .split("\n")
    .filter((l) => l.trim())
    .slice(0, n)
    .map((l) => (l.length > 200 ? `${l.slice(0, 200)}...` : l))
    .join("\n");

/**
 * The Z1 outcomes from vitest's JSON report (pure). An id passes when its
 * tests were found and all passed; no report (`why`) fails them all.
 */
export function z1Outcomes(report: VitestJson | undefined, why = "no test report"): TestOutcome[] {
  return z1Select.map((sel): TestOutcome => {
    if (!report) return { id: sel.id, status: "failed", output: why };
    const file = report.testResults.find((f) => f.name.endsWith(`/${sel.file}`));
    if (!file) return { id: sel.id, status: "failed", output: `${sel.file} did not run` };
    const tests = file.assertionResults.filter(
      (t) =>
        sel.describe.test(t.ancestorTitles[0] ?? "") &&
        (!sel.title || sel.title.test(t.title)) &&
        !sel.not?.test(t.title),
    );
    if (!tests.length)
      return {
        id: sel.id,
        status: "failed",
        output: `no test ran in ${sel.file}${file.message ? `: ${firstLines(file.message, 4)}` : ""}`,
      };
    const bad = tests.filter((t) => t.status !== "passed");
    if (!bad.length) return { id: sel.id, status: "passed", output: `${tests.length} test(s)` };
    return {
      id: sel.id,
      status: "failed",
      output: [
        `${tests.length - bad.length}/${tests.length} test(s) passed`,
        ...bad
          .slice(0, 4)
          .map(
            (t) =>
              `${t.title}: ${t.status}${t.failureMessages?.[0] ? `\n  ${firstLines(t.failureMessages[0], 2).replace(/\n/g, "\n  ")}` : ""}`,
          ),
      ].join("\n"),
    };
  });
}

// ------------------------------------------------------------------ Z2

type Group = "gcm" | "cbc_hmac" | "concurrent" | "errors";

/** The self-test's check names on one device, by group (ts-app/e2e/cryptodev-selftest.ts). */
export function selftestChecks(): Record<Group, string[]> {
  return {
    gcm: [
      ...gcmVectors.map((v) => `${v.name} seal and open`),
      "random AES-GCM inputs byte-identical to node:crypto; a bad tag opens to nothing",
      "chat frames: suite 2 (AES-GCM) byte-identical to node, one device round trip per frame",
    ],
    cbc_hmac: [
      ...cbcVectors.flatMap((v) => [`${v.name} encrypt`, `${v.name} decrypt`]),
      ...hmacVectors.map((v) => v.name),
      "chat frames: suite 1 (AES-CBC + HMAC) byte-identical to node, two round trips per frame",
      "random AES-CBC and HMAC inputs byte-identical to node:crypto",
    ],
    concurrent: ["200 requests in flight at once, all byte-identical"],
    errors: [
      "argument errors are typed, as with the node provider",
      "unknown algorithm: EINVAL from CIOCGSESSION",
      "unknown session: EINVAL from CIOCCRYPT, with errno and syscall",
      "closed provider refuses work",
      "a missing device: ENOENT from open, typed",
    ],
  };
}

/** The device the self-test runs on in the guest. */
export const chatDevice = "/dev/cryptodev0";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** The self-test's JSON check lines (device and the missing-device check), pure. */
export function parseSelftest(out: string): Check[] {
  const checks: Check[] = [];
  for (const l of out.split("\n")) {
    if (!l.startsWith('{"type":"check"')) continue;
    try {
      const c = JSON.parse(l) as {
        device?: string;
        name?: unknown;
        ok?: unknown;
        detail?: unknown;
      };
      if (typeof c.name !== "string") continue;
      if (c.device !== chatDevice && c.device !== "/dev/cryptodev-missing") continue;
      checks.push({ name: c.name, ok: c.ok === true, detail: String(c.detail ?? "") });
    } catch {
      /* a cut line */
    }
  }
  return checks;
}

/** One group's verdict: every expected check present and ok. */
function groupOutcome(id: string, names: string[], checks: Check[], why: string): TestOutcome {
  const byName = new Map(checks.map((c) => [c.name, c]));
  const missing = names.filter((n) => !byName.has(n));
  const failed = names.map((n) => byName.get(n)).filter((c): c is Check => !!c && !c.ok);
  if (!missing.length && !failed.length)
    return { id, status: "passed", output: `${names.length} check(s)` };
  return {
    id,
    status: "failed",
    output: [
      `${names.length - missing.length - failed.length}/${names.length} check(s) passed`,
      ...failed.slice(0, 4).map((c) => `${c.name}: ${c.detail.slice(0, 200)}`),
      ...(missing.length ? [`not reported: ${missing.slice(0, 3).join("; ")} (${why})`] : []),
    ].join("\n"),
  };
}

/** One run of a self-test bundle in the guest. */
export interface ChatSection {
  out: string;
  /** Undefined when the run never finished (the boot died or was cut). */
  exit?: number;
}

const runWhy = (s: ChatSection | undefined) =>
  !s
    ? "the self-test did not run (the boot ended before it)"
    : s.exit === undefined
      ? "the self-test never finished (the boot ended)"
      : `the self-test exited ${s.exit}`;

/** chat.provider_*: the student's provider (its bundled self-test), pure. */
export function providerOutcomes(s: ChatSection | undefined): TestOutcome[] {
  const checks = parseSelftest(s?.out ?? "");
  const why = runWhy(s);
  const open = checks.find((c) => c.name === "open");
  const prefix = open && !open.ok ? `open ${chatDevice}: ${open.detail}\n` : "";
  const groups = selftestChecks();
  return (Object.keys(groups) as Group[]).map((g) => {
    const o = groupOutcome(`chat.provider_${g}`, groups[g], checks, why);
    return o.status === "passed" ? o : { ...o, output: prefix + o.output };
  });
}

/** chat.reference: the reference's self-test, its byte-identity checks, pure. */
export function referenceOutcome(s: ChatSection | undefined): TestOutcome {
  const g = selftestChecks();
  const o = groupOutcome(
    "chat.reference",
    ["open", ...g.gcm, ...g.cbc_hmac, ...g.concurrent],
    parseSelftest(s?.out ?? ""),
    runWhy(s),
  );
  return o;
}

// ------------------------------------------------------------------ the guest

/** A self-test bundle staged for the guest: its name in the boot's output, its stage path. */
export interface ChatRun {
  name: "reference" | "student";
  /** Path relative to the stage (/lab in the guest). */
  bundle: string;
}

export const stageChatBundle = {
  reference: "ts-app/dist-reference/cryptodev-selftest.mjs",
  student: "ts-app/dist/cryptodev-selftest.mjs",
} as const;
/** The native binding where both bundles look for it (../native/build/Release). */
export const stageBinding = "ts-app/native/build/Release/vcryptodev_binding.node";

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The guest command of a boot with chat runs: the suite (`suite`, its exit
 * code is the boot's), then each self-test between marker lines (pure).
 */
export function chatGuestCommand(suite: string[], runs: ChatRun[], labDir: string): string[] {
  const lines = [`${suite.map(q).join(" ")}`, "rc=$?"];
  for (const r of runs)
    lines.push(
      `echo '=== chat-begin ${r.name}'`,
      `node ${q(`${labDir}/${r.bundle}`)} ${chatDevice} 2>&1`,
      `echo "=== chat-end ${r.name} exit $?"`,
    );
  lines.push("exit $rc");
  return ["sh", "-c", lines.join("\n")];
}

/** Splits a boot's stdout: the suite's KTAP before the first chat run, and each run (pure). */
export function splitChatOutput(stdout: string): {
  suite: string;
  runs: Map<string, ChatSection>;
} {
  const runs = new Map<string, ChatSection>();
  const lines = stdout.split("\n").map((l) => l.replace(/\r$/, ""));
  const first = lines.findIndex((l) => /^=== chat-begin \S+$/.test(l));
  if (first < 0) return { suite: stdout, runs };
  let cur: { name: string; lines: string[] } | undefined;
  const close = (exit?: number) => {
    if (cur && !runs.has(cur.name))
      runs.set(cur.name, { out: cur.lines.join("\n"), ...(exit !== undefined ? { exit } : {}) });
    cur = undefined;
  };
  for (const l of lines.slice(first)) {
    const b = /^=== chat-begin (\S+)$/.exec(l);
    const e = /^=== chat-end (\S+) exit (\d+)$/.exec(l);
    if (b) {
      close();
      cur = { name: b[1] as string, lines: [] };
    } else if (e && cur && e[1] === cur.name) close(Number(e[2]));
    else cur?.lines.push(l);
  }
  close();
  return { suite: lines.slice(0, first).join("\n") + "\n", runs };
}

// ------------------------------------------------------------------ the sandbox

export interface ChatBuild {
  /** The student's self-test bundle (undefined: it did not bundle). */
  bundle?: Buffer;
  /** vitest's report of the Z1 tests. */
  report?: VitestJson;
  /** Why a product is missing (one line). */
  reason?: string;
  log: string;
  ms: number;
}

const banner = `import { createRequire as __labCreateRequire } from "node:module";
const require = __labCreateRequire(import.meta.url);`;

/** The sandbox's script: private copy, overlay, bundle, Z1 tests, products out as tar. */
export function chatScript(): string {
  const esbuild = "/grade/node_modules/esbuild/bin/esbuild";
  return [
    "mkdir -p /grade/ts-app /tmp/out",
    "cp -r /ref/ts-app/src /ref/ts-app/test /ref/ts-app/e2e /grade/ts-app/",
    "cp -r /submission/ts-app/src/. /grade/ts-app/src/",
    "cd /grade",
    "echo '==== bundling the cryptodev self-test with your src (esbuild)' >&2",
    `${esbuild} ts-app/e2e/cryptodev-selftest.ts --bundle --platform=node --format=esm --target=node20 --external:better-sqlite3 '--external:*.node' --log-level=warning --outfile=/tmp/out/cryptodev-selftest.mjs "--banner:js=$BANNER" 1>&2 || echo '==== the bundle failed' >&2`,
    "echo '==== the Z1 tests (vitest)' >&2",
    `node node_modules/vitest/vitest.mjs run --config /grade/vitest.grade.mjs --configLoader runner --reporter=default --reporter=json --outputFile.json=/tmp/out/z1.json ${z1TestFiles.join(" ")} 1>&2`,
    'echo "==== vitest exit $?" >&2',
    "tar -c -f - -C /tmp/out .",
  ].join("\n");
}

/** vitest's config in the private copy: caches in /tmp, no watch, forks. */
const vitestConfig = `export default {
  cacheDir: "/tmp/vite-cache",
  server: { host: "127.0.0.1", ws: false, hmr: false },
  test: { include: ["ts-app/test/**/*.test.ts"], testTimeout: 120000, pool: "forks", watch: false },
};
`;

const mib = 1024 * 1024;

/**
 * Bundles the student's provider and runs the Z1 tests in the sandbox
 * (`submission`: the intake's folder, with ts-app/src).
 */
export async function buildChat(
  submission: string,
  uid: number,
  limits: { timeoutS: number },
): Promise<ChatBuild> {
  const spec: SandboxSpec = {
    uid,
    ro: [
      { src: submission, dest: "/submission" },
      { src: join(repoRoot, "ts-app"), dest: "/ref/ts-app" },
      { src: join(repoRoot, "node_modules"), dest: "/grade/node_modules" },
      { src: join(repoRoot, "tsconfig.json"), dest: "/grade/tsconfig.json" },
    ],
    rw: [],
    tmpBytes: 256 * mib,
    tmpfs: ["/grade"],
    cwd: "/tmp",
    env: {
      PATH: "/usr/bin:/bin",
      HOME: "/tmp",
      LANG: "C.UTF-8",
      TMPDIR: "/tmp",
      CI: "true",
      NO_COLOR: "1",
      BANNER: banner,
    },
    limits: {
      cpuS: 600,
      // V8 and esbuild reserve far more address space than they use
      asBytes: 32 * 1024 * mib,
      nproc: 256,
      fsizeBytes: 64 * mib,
      nofile: 4096,
    },
  };
  const script = `printf '%s' ${q(vitestConfig)} > /grade/vitest.grade.mjs\n${chatScript()}`;
  const r = await runSandboxed(spec, ["sh", "-c", script], {
    timeoutS: limits.timeoutS,
    outputCap: 256 * 1024,
    stdoutCap: 32 * mib,
  });
  const files = new Map<string, Buffer>();
  if (r.stdout?.length) {
    async function* one() {
      yield r.stdout as Buffer;
    }
    const entries = await readTar(one(), {
      fileBytes: 16 * mib,
      totalBytes: 32 * mib,
      entries: 16,
    }).catch(() => []);
    for (const e of entries)
      if (e.kind === "file") files.set(e.path.split("/").pop() as string, e.data);
  }
  let report: VitestJson | undefined;
  try {
    const j = files.get("z1.json");
    if (j) report = JSON.parse(j.toString("utf8")) as VitestJson;
  } catch {
    /* a cut or forged report: none */
  }
  if (report && !Array.isArray(report.testResults)) report = undefined;
  const bundle = files.get("cryptodev-selftest.mjs");
  const reason = r.timedOut
    ? `the chat's sandbox did not finish within ${limits.timeoutS} s (killed)`
    : !bundle
      ? "the cryptodev self-test did not bundle with your ts-app/src (see build.log)"
      : !report
        ? `the Z1 tests wrote no report (exit ${r.code ?? r.signal})`
        : undefined;
  return { bundle, report, reason, log: r.output, ms: r.ms };
}

/** The reference's bundle and binding (lab build app), or why they are missing. */
export function referenceChatFiles():
  { bundle: string; binding: string; missing?: undefined } | { missing: string } {
  const bundle = join(repoRoot, "ts-app", "dist", "cryptodev-selftest.mjs");
  const binding = join(repoRoot, "ts-app", "native", "build", "Release", "vcryptodev_binding.node");
  if (!existsSync(bundle) || !existsSync(binding))
    return { missing: "the chat is not built (lab build app): the chat checks did not run" };
  return { bundle, binding };
}
