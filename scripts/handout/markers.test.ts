import { describe, expect, it } from "vitest";
import { MarkerError, parseMarkers, restore, solutionLines, stubOut } from "./markers.ts";
import { globToRegExp, taskOfTest } from "./tasks.ts";

const tasks = ["Z1", "Z2", "Z3"];
const c = [
  "int f(int x)",
  "{",
  "\t/* BEGIN SOLUTION Z3: f: double x */",
  "\tint y = x * 2;",
  "",
  "\treturn y;",
  '\t/* END SOLUTION Z3: return vcd_todo("Z3", "f"); */',
  "}",
  "",
  "static int g(void)",
  "{",
  "\t/* BEGIN SOLUTION Z3: g: the answer */",
  "\treturn 42;",
  "\t/* END SOLUTION Z3",
  '\t * pr_warn_once("not implemented: Z3 g\\n");',
  "\t *",
  "\t * return -ENOSYS;",
  "\t */",
  "}",
  "",
].join("\n");

const ts = [
  "export function h(): number {",
  "  // BEGIN SOLUTION Z1: h: one",
  "  return 1;",
  '  // END SOLUTION Z1: throw new NotImplementedError("Z1", "h");',
  "}",
  "/* BEGIN SOLUTION Z2: helper */",
  "const helper = 2;",
  "/* END SOLUTION Z2 */",
  "",
].join("\n");

function err(text: string): MarkerError {
  try {
    parseMarkers(text, "x.c", tasks);
  } catch (e) {
    if (e instanceof MarkerError) return e;
    throw e;
  }
  throw new Error("no MarkerError");
}

describe("solution markers", () => {
  it("finds C regions with one-line and multi-line stubs", () => {
    const m = parseMarkers(c, "x.c", tasks);
    expect(m.blocks.map((b) => [b.task, b.what, b.begin, b.end])).toEqual([
      ["Z3", "f: double x", 2, 6],
      ["Z3", "g: the answer", 11, 17],
    ]);
    expect(m.blocks[1]!.stub).toEqual([
      'pr_warn_once("not implemented: Z3 g\\n");',
      "",
      "return -ENOSYS;",
    ]);
    expect(solutionLines(m).get("Z3")).toBe(3);
  });

  it("stubs out: a TODO line and the stub, indented like the BEGIN line", () => {
    const out = stubOut(parseMarkers(c, "x.c", tasks), ["Z3"]);
    expect(out.split("\n")).toEqual([
      "int f(int x)",
      "{",
      "\t/* STUDENT TODO Z3: f: double x */",
      '\treturn vcd_todo("Z3", "f");',
      "}",
      "",
      "static int g(void)",
      "{",
      "\t/* STUDENT TODO Z3: g: the answer */",
      '\tpr_warn_once("not implemented: Z3 g\\n");',
      "",
      "\treturn -ENOSYS;",
      "}",
      "",
    ]);
    expect(out).not.toMatch(/SOLUTION|\* 2|42/);
  });

  it("keeps the solution of tasks not handed out, without markers", () => {
    const out = stubOut(parseMarkers(ts, "x.ts", tasks), ["Z2"]);
    expect(out).toContain("  return 1;\n}");
    expect(out.endsWith("}\n/* STUDENT TODO Z2: helper */\n")).toBe(true);
    expect(out).not.toMatch(/SOLUTION|helper = 2/);
    const line = stubOut(parseMarkers(ts, "x.ts", tasks), ["Z1"]);
    expect(line).toContain(
      '  // STUDENT TODO Z1: h: one\n  throw new NotImplementedError("Z1", "h");\n}',
    );
  });

  it("restores the reference byte for byte from an untouched kit", () => {
    for (const [text, sel] of [
      [c, ["Z3"]],
      [ts, ["Z1", "Z2"]],
      [ts, ["Z2"]],
    ] as const) {
      const m = parseMarkers(text, "x", tasks);
      expect(restore(stubOut(m, sel), m, sel, "x")).toBe(text);
    }
  });

  it("refuses to restore over a kit whose stub or surroundings changed", () => {
    const m = parseMarkers(c, "x.c", tasks);
    const kit = stubOut(m, ["Z3"]);
    expect(() => restore(kit.replace("return -ENOSYS;", "return 0;"), m, ["Z3"], "x.c")).toThrow(
      /Z3 stub \(g: the answer\) is not there/,
    );
    expect(() => restore(kit.replace("int f(int x)", "int f(long x)"), m, ["Z3"], "x.c")).toThrow(
      /differs from the reference outside the stubs/,
    );
    expect(() => restore(kit + "\nextra", m, ["Z3"], "x.c")).toThrow(/different length/);
  });

  it("rejects unbalanced, nested, unknown and malformed markers, naming the line", () => {
    const cases: [string, number, RegExp][] = [
      ["/* BEGIN SOLUTION Z1: a */\nx;\n", 1, /never closed/],
      ["x;\n/* END SOLUTION Z1 */\n", 2, /without a BEGIN/],
      [
        "/* BEGIN SOLUTION Z1: a */\n/* BEGIN SOLUTION Z1: b */\n/* END SOLUTION Z1 */\n",
        2,
        /do not nest/,
      ],
      ["/* BEGIN SOLUTION Z1: a */\n/* END SOLUTION Z2 */\n", 2, /closes the Z1 region/],
      ["/* BEGIN SOLUTION Z9: a */\n/* END SOLUTION Z9 */\n", 1, /unknown task Z9/],
      ["/* BEGIN SOLUTION task1: a */\n", 1, /not a task id/],
      ["/* BEGIN SOLUTION Z1 */\n/* END SOLUTION Z1 */\n", 1, /needs a description/],
      ["/* BEGIN SOLUTION Z1: a\n", 1, /close with \*\//],
      ["// BEGIN SOLUTION Z1: a */\n", 1, /has no \*\//],
      ["x = 1; /* BEGIN SOLUTION Z1: a */\n", 1, /exactly a marker comment/],
      ["/* BEGIN SOLUTION Z1: a */\n/* END SOLUTION Z1\n * return 0;", 2, /never closed with \*\//],
      ["/* BEGIN SOLUTION Z1: a */\n/* END SOLUTION Z1\nreturn 0;\n */\n", 3, /start with ' \* '/],
      [
        "/* BEGIN SOLUTION Z1: a */\n/* END SOLUTION Z1: x\n * y\n */\n",
        2,
        /following ' \* ' lines/,
      ],
    ];
    for (const [text, line, re] of cases) {
      const e = err(text);
      expect(e.line, text).toBe(line);
      expect(e.message, text).toMatch(re);
      expect(e.message).toMatch(/^x\.c:\d+: /);
    }
  });

  it("a (kit) region gives its stub alone, and restores", () => {
    const text = [
      "// BEGIN SOLUTION Z1: (kit) the stubs' import",
      'import { a } from "./a.ts";',
      '// END SOLUTION Z1: import { a, NotImplementedError } from "./a.ts";',
      "",
    ].join("\n");
    const m = parseMarkers(text, "x.ts", tasks);
    expect(stubOut(m, ["Z1"])).toBe('import { a, NotImplementedError } from "./a.ts";\n');
    expect(restore(stubOut(m, ["Z1"]), m, ["Z1"], "x.ts")).toBe(text);
  });

  it("lowercase task ids are the same task", () => {
    const m = parseMarkers("/* BEGIN SOLUTION z2: a */\n/* END SOLUTION Z2 */", "x", tasks);
    expect(m.blocks[0]!.task).toBe("Z2");
  });
});

describe("task test globs", () => {
  it("match within and across folders", () => {
    expect(globToRegExp("ts-app/test/*.test.ts").test("ts-app/test/a.test.ts")).toBe(true);
    expect(globToRegExp("ts-app/test/*.test.ts").test("ts-app/test/x/a.test.ts")).toBe(false);
    expect(globToRegExp("a/**/b.ts").test("a/x/y/b.ts")).toBe(true);
    expect(globToRegExp("a/**/b.ts").test("a/b.ts")).toBe(true);
  });

  it("give every test its task, a named file before a wildcard", () => {
    expect(taskOfTest("ts-app/test/classic.test.ts")?.id).toBe("Z1");
    expect(taskOfTest("ts-app/test/cryptodev.test.ts")?.id).toBe("Z2");
    expect(taskOfTest("guest-driver/tests/conformance.vm.test.ts")?.id).toBe("Z3");
    expect(taskOfTest("scripts/lib/cache.test.ts")).toBeUndefined();
  });
});
