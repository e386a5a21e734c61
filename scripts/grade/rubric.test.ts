import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { chatChecks } from "./chat.ts";
import { conformanceIdsFrom, conformanceSource, hostChecks, knownTestIds } from "./checks.ts";
import { RubricError, defaultRubricPath, loadRubric, parseRubric } from "./rubric.ts";

describe("grading/rubric.yaml", () => {
  it("is valid, and every item names tests that exist", async () => {
    const { rubric } = await loadRubric(defaultRubricPath);
    const known = knownTestIds();
    expect(rubric.items.length).toBeGreaterThan(10);
    for (const it of rubric.items) for (const t of it.tests) expect(known.has(t), t).toBe(true);
    expect(new Set(rubric.items.map((i) => i.part))).toEqual(new Set(["driver", "device", "chat"]));
  });

  it("reads the conformance ids from the C test table, all unique", async () => {
    const ids = conformanceIdsFrom(await readFile(conformanceSource, "utf8")).map((t) => t.id);
    expect(ids).toContain("kat.ciphers");
    expect(ids).toContain("unplug.open_fd");
    expect(ids).toContain("wait.sleeps");
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of Object.keys(hostChecks)) expect(ids).not.toContain(id);
    for (const id of Object.keys(chatChecks)) expect(ids).not.toContain(id);
  });
});

describe("rubric validation", () => {
  const known = new Set(["kat.ciphers", "build.driver"]);
  const ok = `version: 1
parts: { driver: the driver }
items:
  - id: driver.kat
    part: driver
    title: known answers
    points: 3
    tests: [kat.ciphers]
`;

  it("accepts a minimal rubric with defaults filled in", () => {
    const r = parseRubric(ok, "r.yaml", known);
    expect(r.items[0]).toEqual({
      id: "driver.kat",
      part: "driver",
      title: "known answers",
      points: 3,
      tests: ["kat.ciphers"],
      partial: false,
      visibility: "visible",
      tags: [],
      requires: [],
    });
  });

  it("checks `requires`: earlier items of the same part only", () => {
    const bad = `${ok}    requires: [driver.later]
  - id: driver.later
    part: driver
    title: later
    points: 1
    tests: [kat.ciphers]
  - id: device.alive
    part: device
    title: alive
    points: 1
    tests: [build.driver]
    requires: [driver.kat, driver.nothing]
`;
    let err: RubricError | undefined;
    try {
      parseRubric(bad, "r.yaml", known);
    } catch (e) {
      err = e as RubricError;
    }
    const p = err?.problems ?? [];
    expect(p).toContain(
      "line 9: items[0].requires[0]: 'driver.later' must come before 'driver.kat'",
    );
    expect(p).toContain("line 20: items[2].requires[0]: 'driver.kat' is of another part");
    expect(p).toContain("line 20: items[2].requires[1]: no item has the id 'driver.nothing'");
  });

  it("reports every problem with its path and line", () => {
    const bad = `version: 1
parts: { driver: x, gpu: y }
items:
  - id: driver.kat
    part: driver
    title: known answers
    points: -1
    tests: [kat.cipher]
    visibility: secret
  - id: driver.kat
    part: device
    title: again
    points: 1
    tests: [build.driver]
    colour: red
`;
    let err: RubricError | undefined;
    try {
      parseRubric(bad, "r.yaml", known);
    } catch (e) {
      err = e as RubricError;
    }
    expect(err).toBeInstanceOf(RubricError);
    const p = err?.problems ?? [];
    expect(p).toContain("line 2: parts.gpu: unknown part (one of driver, device, chat)");
    expect(p).toContain("line 7: items[0].points: must be a positive number, got -1");
    expect(
      p.some((l) => l.startsWith("line 8: items[0].tests[0]: no test has the id 'kat.cipher'")),
    ).toBe(true);
    expect(p).toContain(
      "line 9: items[0].visibility: must be one of visible, hidden, after_due_date",
    );
    expect(p).toContain("line 10: items[1].id: duplicate item id 'driver.kat'");
    expect(p).toContain("line 15: items[1].colour: unknown key");
    expect(err?.message).toContain("r.yaml:");
  });

  it("reports YAML syntax errors with the line", () => {
    expect(() => parseRubric("version: 1\nitems: [\n", "r.yaml", known)).toThrow(/line \d+:/);
  });
});
