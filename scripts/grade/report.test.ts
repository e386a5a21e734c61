import { describe, expect, it } from "vitest";
import { type GradeResult, junitXml, reportMd, resultsJson, summaryCsv } from "./report.ts";
import { parseRubric } from "./rubric.ts";
import { sandboxArgv } from "./sandbox.ts";
import { type TestOutcome, scoreRubric } from "./score.ts";

const rubric = parseRubric(
  `version: 1
parts: { driver: d, device: v }
items:
  - { id: driver.kat, part: driver, title: kat, points: 10, tests: [a.x, a.y], partial: true }
  - { id: driver.err, part: driver, title: errs, points: 4, tests: [a.z], visibility: hidden, hint: use -errno }
  - { id: device.kat, part: device, title: dev, points: 6, tests: [a.x] }
`,
  "r.yaml",
  new Set(["a.x", "a.y", "a.z"]),
);
const out = (id: string, ok: boolean, output = ""): [string, TestOutcome] => [
  id,
  { id, status: ok ? "passed" : "failed", output },
];

describe("requires", () => {
  const r = parseRubric(
    `version: 1
parts: { driver: d }
items:
  - { id: driver.kat, part: driver, title: kat, points: 10, tests: [a.x, a.y], partial: true }
  - { id: driver.console, part: driver, title: quiet, points: 3, tests: [a.z], requires: [driver.kat] }
`,
    "r.yaml",
    new Set(["a.x", "a.y", "a.z"]),
  );
  it("an item counts only when the items it requires earned points", () => {
    const stub = scoreRubric(r, new Map([out("a.x", false), out("a.y", false), out("a.z", true)]), [
      "driver",
    ]);
    expect(stub.items.map((s) => [s.item.id, s.score, s.blockedBy])).toEqual([
      ["driver.kat", 0, []],
      ["driver.console", 0, ["driver.kat"]],
    ]);
    const j = resultsJson({
      name: "stub",
      source: "/x",
      status: "graded",
      parts: ["driver"],
      scored: stub,
      seconds: 1,
      phases: [],
      notes: [],
      oops: [],
      key: "k",
    }) as { tests: { output: string }[] };
    expect(j.tests[1]?.output).toMatch(/^counts only when driver.kat earn/);
    const half = scoreRubric(r, new Map([out("a.x", true), out("a.y", false), out("a.z", true)]), [
      "driver",
    ]);
    expect(half.items.map((s) => s.score)).toEqual([5, 3]);
  });
});

describe("scores and outputs", () => {
  const scored = scoreRubric(
    rubric,
    new Map([
      out("a.x", true),
      out("a.y", false, "wrong <answer> & more"),
      out("a.z", false, "EPERM"),
    ]),
    ["driver"],
  );
  const result: GradeResult = {
    name: "alice",
    source: "/x/alice.tar.gz",
    status: "graded",
    parts: ["driver"],
    scored,
    seconds: 42,
    phases: [{ name: "intake", seconds: 0.1 }],
    notes: [],
    oops: [],
    key: "k",
  };

  it("partial credit, all-or-nothing, parts not submitted not scored", () => {
    expect(scored.items.map((s) => [s.item.id, s.score, s.max])).toEqual([
      ["driver.kat", 5, 10],
      ["driver.err", 0, 4],
      ["device.kat", 0, 0],
    ]);
    expect(scored.byPart).toEqual({ driver: { score: 5, max: 14 } });
    expect([scored.score, scored.max]).toEqual([5, 14]);
  });

  it("results.json has Gradescope's fields; a hidden item shows its name and score only", () => {
    const j = resultsJson(result) as { tests: Record<string, unknown>[] } & Record<string, unknown>;
    expect(Object.keys(j).sort()).toEqual(
      ["execution_time", "output", "score", "stdout_visibility", "tests", "visibility"].sort(),
    );
    expect(j.score).toBe(5);
    expect(j.tests[1]).toMatchObject({
      name: "driver.err: errs",
      score: 0,
      max_score: 4,
      visibility: "hidden",
      output: "",
    });
    expect(j.tests[0]?.output).toMatch(/a\.y: failed\nwrong <answer>/);
    expect(Object.keys(j.tests[0] as object).sort()).toEqual(
      ["max_score", "name", "number", "output", "score", "status", "tags", "visibility"].sort(),
    );
  });

  it("JUnit escapes text; the report shows the hint of a lost item", () => {
    const x = junitXml(result);
    expect(x).toContain("wrong &lt;answer&gt; &amp; more");
    expect(x).toMatch(/<skipped message="part not submitted"\/>/);
    const md = reportMd(result);
    expect(md).toMatch(/Score: \*\*5 \/ 14\*\*/);
    expect(md).toMatch(/Hint: use -errno/);
  });

  it("summary.csv quotes what needs it", () => {
    const csv = summaryCsv([{ ...result, reason: 'a "b", c' }], ["driver", "device"]);
    expect(csv).toBe(
      'student,total,max,driver,device,status,seconds,reason\nalice,5,14,5,,graded,42.0,"a ""b"", c"\n',
    );
  });

  it("the sandbox: limits, namespaces, read-only inputs, a dropped uid last", () => {
    const spec = {
      uid: 61003,
      ro: [{ src: "/in" }],
      rw: [],
      tmpBytes: 1000,
      cwd: "/tmp",
      env: { PATH: "/usr/bin" },
      limits: { cpuS: 5, asBytes: 6, nproc: 7, fsizeBytes: 8, nofile: 9 },
    };
    const a = sandboxArgv(spec, ["make"], true).join(" ");
    expect(a).toMatch(
      /^prlimit --cpu=5 --as=6 --nproc=7 --fsize=8 --nofile=9 --core=0 -- \/usr\/bin\/bwrap /,
    );
    expect(a).toMatch(/--unshare-pid --unshare-net/);
    expect(a).toMatch(/--ro-bind \/in \/in/);
    expect(a).toMatch(/--size 1000 --tmpfs \/tmp/);
    expect(a).toMatch(
      /setpriv --reuid=61003 --regid=61003 --clear-groups --bounding-set=-all --inh-caps=-all --no-new-privs -- make$/,
    );
    const user = sandboxArgv(spec, ["make"], false).join(" ");
    expect(user).toMatch(/--unshare-all --cap-drop ALL/);
    expect(user).not.toMatch(/setpriv/);
  });
});
