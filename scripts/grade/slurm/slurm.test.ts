import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { LabError } from "../../lib/errors.ts";
import { checkArraySize, noSbatchError, onPath, parseConfig, slurmError } from "./client.ts";
import { pidsWithEnv, sweepStaleClusters } from "./cluster.ts";
import { slurmConf } from "./conf.ts";
import { probeCommand, probeVerdict } from "./probe.ts";
import { checkTimeLimit } from "./run.ts";
import { planSubmissions } from "./stage.ts";
import { expandIds, failureText, parseSacct, parseSqueue, phaseOf, tally } from "./states.ts";
import { arraySpec, renderJobScript, shQuote } from "./template.ts";

const values = {
  jobName: "lab-grade",
  array: "0-3%2",
  cpusPerTask: 1,
  partition: "lab",
  timeLimit: "20",
  checkout: "/shared/lab checkout",
  node: "/opt/it's/node",
  out: "/shared/lab/out",
  buildTargets: ["kernel", "qemu"],
};

describe("the job script", () => {
  it("fills every placeholder and quotes what it puts in the body", () => {
    const s = renderJobScript(values);
    expect(s).not.toMatch(/\{\{/);
    expect(s).toContain("#SBATCH --array=0-3%2\n");
    expect(s).toContain("#SBATCH --partition=lab\n#SBATCH --time=20\n");
    expect(s).toContain("#SBATCH --output=/shared/lab/out/.slurm/logs/%A_%a.out\n");
    expect(s).toContain("LAB_CHECKOUT='/shared/lab checkout'\n");
    expect(s).toContain("OUT=/shared/lab/out\n");
  });

  it("keeps every #SBATCH line before the first command (sbatch stops reading there)", () => {
    const lines = renderJobScript({ ...values, partition: undefined, timeLimit: undefined }).split(
      "\n",
    );
    const firstCommand = lines.findIndex((l, i) => i > 0 && l.trim() !== "" && !l.startsWith("#"));
    const lastDirective = lines.map((l) => l.startsWith("#SBATCH")).lastIndexOf(true);
    expect(lastDirective).toBeGreaterThan(0);
    expect(lastDirective).toBeLessThan(firstCommand);
  });

  it("is valid bash, and its quoted words come back as given", () => {
    const s = renderJobScript(values);
    execFileSync("bash", ["-n"], { input: s });
    const words = execFileSync(
      "bash",
      [
        "-c",
        `eval "$(sed -n '/^LAB_CHECKOUT=/,/^BUILD_TARGETS=/p')"; printf '%s\\n' "$LAB_CHECKOUT" "$LAB_NODE" "$STAGE" "\${BUILD_TARGETS[@]}"`,
      ],
      {
        input: s,
      },
    ).toString();
    expect(words).toBe(
      "/shared/lab checkout\n/opt/it's/node\n/shared/lab/out/.slurm\nkernel\nqemu\n",
    );
  });

  it("writes array specs Slurm reads", () => {
    expect(arraySpec([0, 1, 2, 3], 2)).toBe("0-3%2");
    expect(arraySpec([5, 1, 2, 9, 3])).toBe("1-3,5,9");
    expect(arraySpec([7])).toBe("7");
    expect(shQuote("plain/path-1.2")).toBe("plain/path-1.2");
    expect(shQuote("a b")).toBe("'a b'");
  });
});

describe("what Slurm says about the array", () => {
  it("expands pending ranges and reads finished tasks", () => {
    const text = [
      "12_[2-3%2]|PENDING|JobArrayTaskLimit",
      "12_0|RUNNING|None",
      "12_1|CANCELLED|None",
      "12_4|TIMEOUT|TimeLimit",
      "13_0|RUNNING|None",
    ].join("\n");
    const m = parseSqueue(text, "12");
    expect([...m.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(m.get(3)).toEqual({ state: "PENDING", reason: "JobArrayTaskLimit" });
    expect(phaseOf(m.get(2), false)).toBe("pending");
    expect(phaseOf(m.get(0), false)).toBe("running");
    expect(phaseOf(m.get(1), false)).toBe("failed");
    expect(phaseOf({ state: "COMPLETED", reason: "None" }, true)).toBe("done");
    expect(phaseOf({ state: "COMPLETED", reason: "None" }, false)).toBe("failed");
    expect(phaseOf(undefined, true)).toBe("done");
    expect(tally([0, 1, 2, 3, 4].map((i) => phaseOf(m.get(i), false)))).toEqual({
      pending: 2,
      running: 1,
      done: 0,
      failed: 2,
    });
    expect(failureText(m.get(4), false)).toBe("TIMEOUT, reason TimeLimit");
  });

  it("reads sacct's lines", () => {
    const m = parseSacct(
      "7_0|COMPLETED|0:0|None\n7_1|CANCELLED by 0|0:15|None\n7_2|NODE_FAIL|0:0|NodeDown\n",
      "7",
    );
    expect(m.get(1)?.state).toBe("CANCELLED");
    expect(failureText(m.get(2), false)).toBe("NODE_FAIL, reason NodeDown");
    expect(failureText(m.get(1), false)).toBe("CANCELLED, exit 0:15");
  });

  it("expands id lists with steps and limits", () => {
    expect(expandIds("0-3,7,9-13:2%4")).toEqual([0, 1, 2, 3, 7, 9, 11, 13]);
  });
});

describe("errors a user meets", () => {
  it("no sbatch on PATH", () => {
    expect(onPath("sbatch", { PATH: "/nonexistent" })).toBeUndefined();
    expect(onPath("sh", { PATH: "/nonexistent:/bin" })).toBe("/bin/sh");
    expect(noSbatchError().hint).toMatch(/login node/);
  });

  it("the controller unreachable, the partition missing, an unreadable config", () => {
    const down = slurmError(
      "sbatch",
      "sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)",
    );
    expect(down.message).toMatch(/controller cannot be reached/);
    expect(down.hint).toMatch(/scontrol ping/);
    const part = slurmError(
      "sbatch",
      "sbatch: error: Batch job submission failed: Invalid partition name specified",
      "gpu",
    );
    expect(part.message).toMatch(/partition 'gpu' does not exist/);
    expect(
      slurmError("scontrol", "scontrol: fatal: Unable to process configuration file").hint,
    ).toMatch(/SLURM_CONF/);
    expect(slurmError("sbatch", "something else").message).toMatch(
      /sbatch failed:\nsomething else/,
    );
  });

  it("the array above MaxArraySize: the highest id counts", () => {
    expect(() => checkArraySize(1000, 1001)).not.toThrow();
    const e = (() => {
      try {
        checkArraySize(1001, 1001);
      } catch (x) {
        return x as LabError;
      }
    })();
    expect(e?.message).toMatch(/MaxArraySize is 1001/);
    expect(e?.hint).toMatch(/batches of at most 1001/);
  });

  it("time limits in Slurm's format", () => {
    for (const t of ["30", "5:00", "1:30:00", "1-00", "1-12:00", "2-00:00:00"])
      expect(checkTimeLimit(t)).toBe(t);
    for (const t of ["", "1h", "1:2:3:4", "-5"])
      expect(() => checkTimeLimit(t)).toThrow(/Slurm's time format/);
  });

  it("the probe's verdicts", () => {
    const want = { hash: "abc", out: "/o", checkout: "/c", node: "/n", state: "job 1, COMPLETED" };
    expect(probeVerdict(undefined, want)?.message).toMatch(
      /not on a filesystem the compute nodes share/,
    );
    expect(probeVerdict("n1 def v20.1.0\n", want)?.message).toMatch(/checkout \/c is not visible/);
    expect(probeVerdict("n1 abc none\n", want)?.message).toMatch(/does not run on node n1/);
    expect(probeVerdict("n1 abc v20.1.0\n", want)).toBeUndefined();
  });

  it("the probe's job line is valid sh", () => {
    execFileSync("sh", [
      "-n",
      "-c",
      probeCommand("/o/a b.ask", "/o/r.reply", "tok", "/usr/bin/node"),
    ]);
  });
});

describe("staging", () => {
  it("uses submissions in the checkout or --out in place and copies the rest", () => {
    const p = planSubmissions(
      ["/c/ref", "/home/s/alice.tar.gz", "/o/bob"],
      ["ref", "alice", "bob"],
      "/c",
      "/o",
    );
    expect(p.map((s) => s.staged)).toEqual([
      "/c/ref",
      "/o/.slurm/submissions/1/alice.tar.gz",
      "/o/bob",
    ]);
    expect(p.map((s) => s.name)).toEqual(["ref", "alice", "bob"]);
  });

  it("reads scontrol's config", () => {
    const m = parseConfig(
      "Configuration data as of x\nMaxArraySize            = 1001\nMinJobAge               = 300 sec\n",
    );
    expect(m.get("MaxArraySize")).toBe("1001");
  });
});

describe("the test cluster's slurm.conf", () => {
  it("uses no cgroup plugin and the given ports and folder", () => {
    const c = slurmConf({
      clusterName: "t",
      host: "h",
      ctldPort: 7001,
      slurmdPort: 7002,
      dir: "/tmp/x",
      mungeSocket: "/tmp/x/munge/socket",
      cpus: 2,
      partition: "lab",
      maxArraySize: 4,
    });
    expect(c).toContain("ProctrackType=proctrack/linuxproc\n");
    expect(c).toContain("TaskPlugin=task/none\n");
    expect(c).not.toMatch(/cgroup/);
    expect(c).toContain("SlurmctldPort=7001\n");
    expect(c).toContain("AuthInfo=socket=/tmp/x/munge/socket\n");
    expect(c).toContain("MaxArraySize=4\n");
    expect(c).toContain("NodeName=h NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n");
  });
});

describe("a test cluster left by a killed run", () => {
  it("is swept by the next one: its marked processes killed, its folder removed; a live one kept", async () => {
    const parent = await mkdtemp(join(tmpdir(), "lab-slurm-sweep-"));
    try {
      const stale = join(parent, "lab-slurm-stale");
      const live = join(parent, "lab-slurm-live");
      await mkdir(stale);
      await mkdir(live);
      // a dead owner: a process that has exited
      const gone = spawn("true");
      await new Promise((r) => gone.once("exit", r));
      await writeFile(join(stale, "owner.pid"), `${gone.pid}\n`);
      await writeFile(join(live, "owner.pid"), `${process.pid}\n`);
      // a job process of the stale cluster, carrying its mark
      const job = spawn("sleep", ["60"], {
        env: { ...process.env, LAB_SLURM_CLUSTER: stale },
        stdio: "ignore",
      });
      const ended = new Promise((r) => job.once("exit", (_c, sig) => r(sig)));
      for (let i = 0; i < 50 && (await pidsWithEnv("LAB_SLURM_CLUSTER", stale)).length === 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await pidsWithEnv("LAB_SLURM_CLUSTER", stale)).toEqual([job.pid]);

      expect(await sweepStaleClusters(parent)).toEqual([stale]);
      expect(await ended).toBe("SIGKILL");
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(live)).toBe(true);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
