import { describe, expect, it } from "vitest";
import {
  type VitestJson,
  chatDevice,
  chatGuestCommand,
  providerOutcomes,
  referenceOutcome,
  selftestChecks,
  splitChatOutput,
  z1Outcomes,
  z1Select,
} from "./chat.ts";

/** A vitest JSON report with these tests ([file, describe, title, status]). */
function report(tests: [string, string, string, string][], fileMessage?: string): VitestJson {
  const files = [...new Set(tests.map((t) => t[0]))];
  return {
    testResults: files.map((f) => ({
      name: `/grade/${f}`,
      status: "failed",
      ...(fileMessage ? { message: fileMessage } : {}),
      assertionResults: tests
        .filter((t) => t[0] === f)
        .map(([, d, title, status]) => ({
          ancestorTitles: [d],
          title,
          status,
          failureMessages: status === "failed" ? ["NotImplementedError: not implemented: Z1"] : [],
        })),
    })),
  };
}

const classic = "ts-app/test/classic.test.ts";
const frames = "ts-app/test/secure-frames.test.ts";
const all: [string, string, string, string][] = [
  [classic, "classic packet codec", "lays a SEND out", "passed"],
  [classic, "classic packet codec", "is a whole number of AES blocks", "passed"],
  [classic, "classic packet codec", "reassembles packets across any split", "passed"],
  [frames, "frame reassembly (property-based)", "any split", "passed"],
  [frames, "sealed frames (encrypt-then-MAC)", "round-trips", "passed"],
  [frames, "sealed frames, suite 2 (AES-128-GCM)", "round-trips", "passed"],
  [frames, "key derivation", "HKDF", "failed"],
];

describe("Z1: vitest's report to test ids", () => {
  it("every id passes when its tests pass; tests of given code do not count", () => {
    const o = z1Outcomes(report(all));
    expect(o.map((t) => [t.id, t.status])).toEqual(z1Select.map((s) => [s.id, "passed"]));
  });

  it("one failing test fails its id only, naming the test", () => {
    const r = report(
      all.map((t) =>
        t[2] === "is a whole number of AES blocks" ? [t[0], t[1], t[2], "failed"] : t,
      ),
    );
    const o = new Map(z1Outcomes(r).map((t) => [t.id, t]));
    expect(o.get("chat.packets")?.status).toBe("failed");
    expect(o.get("chat.packets")?.output).toMatch(/1\/2 test\(s\) passed\nis a whole number/);
    expect(o.get("chat.packet_stream")?.status).toBe("passed");
    expect(o.get("chat.sealed_frames")?.status).toBe("passed");
  });

  it("a file that did not load, no tests, or no report fail with the reason", () => {
    const r = report([[frames, "frame reassembly (property-based)", "any split", "passed"]]);
    r.testResults.push({
      name: `/grade/${classic}`,
      status: "failed",
      message: "SyntaxError: Unexpected token in classic.ts",
      assertionResults: [],
    });
    const o = new Map(z1Outcomes(r).map((t) => [t.id, t]));
    expect(o.get("chat.packets")?.output).toMatch(/no test ran in .*SyntaxError/);
    expect(o.get("chat.frame_stream")?.status).toBe("passed");
    expect(o.get("chat.sealed_frames")?.status).toBe("failed");
    for (const t of z1Outcomes(undefined, "the sandbox was killed"))
      expect(t).toMatchObject({ status: "failed", output: "the sandbox was killed" });
  });
});

const line = (name: string, ok = true, device = chatDevice) =>
  JSON.stringify({ type: "check", device, name, ok, detail: ok ? "" : "EINVAL: bad" });

function fullRun(fail?: string): string {
  const g = selftestChecks();
  return [
    line("open"),
    ...[...g.gcm, ...g.cbc_hmac, ...g.concurrent, ...g.errors.slice(0, -1)].map((n) =>
      line(n, n !== fail),
    ),
    line(g.errors.at(-1) as string, true, "/dev/cryptodev-missing"),
    JSON.stringify({ type: "done", failed: fail ? 1 : 0 }),
  ].join("\n");
}

describe("Z2: the self-test's checks to test ids", () => {
  it("a full run passes every group and the reference check", () => {
    const o = providerOutcomes({ out: fullRun(), exit: 0 });
    expect(o.map((t) => t.status)).toEqual(["passed", "passed", "passed", "passed"]);
    expect(referenceOutcome({ out: fullRun(), exit: 0 }).status).toBe("passed");
  });

  it("a failed check fails its group only; errors do not count for the reference", () => {
    const o = new Map(
      providerOutcomes({
        out: fullRun("unknown algorithm: EINVAL from CIOCGSESSION"),
        exit: 1,
      }).map((t) => [t.id, t]),
    );
    expect(o.get("chat.provider_errors")?.status).toBe("failed");
    expect(o.get("chat.provider_errors")?.output).toMatch(/unknown algorithm.*EINVAL: bad/);
    expect(o.get("chat.provider_gcm")?.status).toBe("passed");
    expect(
      referenceOutcome({ out: fullRun("unknown algorithm: EINVAL from CIOCGSESSION"), exit: 1 })
        .status,
    ).toBe("passed");
    const gcm = selftestChecks().gcm[0] as string;
    expect(referenceOutcome({ out: fullRun(gcm), exit: 1 }).status).toBe("failed");
  });

  it("checks never reported (a crash, a cut boot, no run) fail, saying why", () => {
    const cut = fullRun().split("\n").slice(0, 5).join("\n");
    const o = providerOutcomes({ out: cut });
    expect(o.every((t) => t.status === "failed")).toBe(true);
    expect(o[0]?.output).toMatch(/never finished/);
    expect(referenceOutcome(undefined).output).toMatch(/did not run/);
    // a check of another device or a forged non-JSON line counts for nothing
    const other = fullRun().replaceAll(chatDevice, "/dev/cryptodev1");
    expect(providerOutcomes({ out: other, exit: 0 })[0]?.status).toBe("failed");
  });
});

describe("the chat's runs in a boot", () => {
  it("runs the suite, then each self-test between markers, exiting with the suite's code", () => {
    const c = chatGuestCommand(
      ["/lab/conformance", "--only", "twodev"],
      [{ name: "reference", bundle: "ts-app/dist-reference/cryptodev-selftest.mjs" }],
      "/lab",
    );
    expect(c[0]).toBe("sh");
    const script = c[2] as string;
    expect(script.split("\n")[0]).toBe("'/lab/conformance' '--only' 'twodev'");
    expect(script).toMatch(/rc=\$\?\n/);
    expect(script).toContain(
      `node '/lab/ts-app/dist-reference/cryptodev-selftest.mjs' ${chatDevice} 2>&1`,
    );
    expect(script.trimEnd().endsWith("exit $rc")).toBe(true);
  });

  it("splits the suite's KTAP from the runs; a run cut short has no exit", () => {
    const out = [
      "KTAP version 1",
      "1..1",
      "ok 1 twodev.two_devices",
      "=== chat-begin reference",
      line("open"),
      "=== chat-end reference exit 0",
      "=== chat-begin student",
      line("open", false),
      "",
    ].join("\n");
    const s = splitChatOutput(out);
    expect(s.suite).toBe("KTAP version 1\n1..1\nok 1 twodev.two_devices\n");
    expect(s.runs.get("reference")).toEqual({ out: line("open"), exit: 0 });
    expect(s.runs.get("student")?.exit).toBeUndefined();
    expect(s.runs.get("student")?.out).toContain('"ok":false');
    expect(splitChatOutput("ok 1 x\n")).toEqual({ suite: "ok 1 x\n", runs: new Map() });
  });
});
