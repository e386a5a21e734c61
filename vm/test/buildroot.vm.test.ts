import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { formatCounts, ktapCounts, parseKtap } from "../../scripts/lib/ktap.ts";
import { type KtapReport } from "../../scripts/lib/ktap.ts";
import { lines } from "../../ts-app/e2e/scenario.ts";
import {
  type ScenarioResult,
  runChatScenario,
  scenarioProblems,
} from "../../scripts/demo/scenario-run.ts";
import {
  buildrootInput,
  buildrootPin,
  buildrootTarballName,
} from "../../scripts/guest/buildroot.ts";
import { kernelRelease } from "../../scripts/guest/kernel.ts";
import { findSplats, formatSplat } from "../../scripts/vm/splat.ts";
import {
  type RunResult,
  ensureBuilt,
  guestArgs,
  labProcess,
  runGuest,
  vmUnavailable,
} from "../../scripts/vm/index.ts";

/**
 * The Buildroot guest flavour end to end: `lab build rootfs-buildroot`
 * (cached: a no-op once built; from clean it takes minutes) with the
 * project's shared Buildroot tarball, then on that rootfs: the CLI's exit
 * code, the driver conformance suite (the lab-tests and lab-module
 * packages' builds: /usr/lib/lab/tests/conformance reloading
 * /lib/modules/extra/vcryptodev.ko) through two real devices, and the chat
 * scenario (node from the node image, server and clients in the guest, one
 * client on the host). Three boots.
 */

const input = buildrootInput();
const why =
  vmUnavailable() ??
  (input
    ? undefined
    : `no Buildroot ${buildrootPin.version} tree: neither $LAB_BUILDROOT nor shared/buildroot/${buildrootTarballName} beside the repository (download: a \`git archive\` of Buildroot's ${buildrootPin.version} tag, commit ${buildrootPin.commit})`);

/**
 * `lab test` builds the rootfs before vitest; run alone (vitest on this
 * file) the build happens here: from a clean cache, tens of minutes on a
 * loaded two-core machine (1840 s measured at load ~25), a no-op once built.
 */
const buildTimeoutMs = 90 * 60_000;

describe.skipIf(why !== undefined)(`the Buildroot guest${why ? ` (skipped: ${why})` : ""}`, () => {
  beforeAll(async () => {
    // The same tree the CLI would use, for the build this process runs.
    if (input) process.env.LAB_BUILDROOT = input.path;
    await ensureBuilt("rootfs-buildroot", "qemu", "noderoot", "app");
  }, buildTimeoutMs);

  it("lab run --rootfs buildroot: the command's exit code, its output, the flavour", async () => {
    const r = await labProcess([
      "run",
      "--rootfs",
      "buildroot",
      "--devices",
      "0",
      "--",
      "sh",
      "-c",
      "cat /etc/lab/flavour; uname -r; grep -q '^NAME=Buildroot' /etc/os-release && echo os-ok; exit 7",
    ]);
    expect(r.stdout.toString().split("\n").slice(0, 3), r.stderr.toString()).toEqual([
      "buildroot",
      kernelRelease(),
      "os-ok",
    ]);
    expect(r.code, r.stderr.toString()).toBe(7);
  });

  describe("driver conformance suite (the rootfs's own test program and module)", () => {
    let res: RunResult;
    let report: KtapReport;
    let consoleLog = "";

    beforeAll(async () => {
      const dir = await mkdtemp(join(tmpdir(), "vcd-br-conformance-"));
      const consoleFile = join(dir, "console.log");
      res = await runGuest(
        guestArgs({
          rootfs: "buildroot",
          devices: 2,
          timeoutS: 800,
          console: consoleFile,
          command: [
            "/usr/lib/lab/tests/conformance",
            "--module",
            "/lib/modules/extra/vcryptodev.ko",
          ],
        }),
      );
      report = parseKtap(res.stdout);
      consoleLog = await readFile(consoleFile, "utf8").catch(() => "");
      await rm(dir, { recursive: true, force: true });
      console.log(`conformance in the Buildroot guest: ${formatCounts(ktapCounts(report))}`);
    });

    it("runs every planned test, all ok, and exits 0", () => {
      const c = ktapCounts(report);
      const detail = `exit ${res.code} ${res.reason ?? ""}\n${res.stdout.slice(-4000)}\n${res.stderr.slice(-4000)}`;
      expect(report.planned, detail).toBeGreaterThan(0);
      expect(c.missing, detail).toBe(0);
      expect(c.skipped, detail).toBe(0);
      const failed = report.results.filter((r) => !r.ok).map((r) => `${r.num} ${r.name}`);
      expect(failed, detail).toEqual([]);
      expect(res.code, detail).toBe(0);
    });

    it("leaves no kernel BUG, WARNING or oops on the console", () => {
      expect(consoleLog.length, "no console log").toBeGreaterThan(0);
      const bad = findSplats(consoleLog).map((s) => formatSplat(s));
      expect(bad, bad.join("\n\n")).toEqual([]);
    });
  });

  describe("the chat end to end (secure mode) in the Buildroot guest", () => {
    let r: ScenarioResult;
    beforeAll(async () => {
      r = await runChatScenario({ mode: "secure", devices: 2, timeoutS: 540, rootfs: "buildroot" });
    });

    it("completes, and every client reads back the same conversation through the devices", () => {
      const detail = `${JSON.stringify({ ...r, guestStderr: undefined }, null, 1)}\n${r.guestStderr}`;
      expect(scenarioProblems(r), detail).toEqual([]);
      const views = [...(r.guest?.views ?? []), ...(r.host ? [r.host] : [])];
      expect(
        views.map((v) => v.user),
        detail,
      ).toEqual(["alice", "bob", "hana"]);
      const want = lines.map((l, id) => ({ id, user: l.user, text: l.text }));
      for (const v of views) expect(v.messages, v.user).toEqual(want);
      expect(views.map((v) => v.crypto)).toEqual([
        "cryptodev /dev/cryptodev0",
        "cryptodev /dev/cryptodev1",
        "node:crypto (host)",
      ]);
    });
  });
});
