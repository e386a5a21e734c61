import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LabError } from "../../lib/errors.ts";
import { buildrootMake } from "./make.ts";

/**
 * buildrootMake's failure report, through a real `make` run: a Makefile
 * standing in for Buildroot's top level prints Buildroot's step lines (the
 * same reverse-video `>>> PKG VERSION Step` format) and fails in the middle
 * of one package, as a broken package build does. The real Buildroot tree
 * is exercised by vm/test/buildroot.vm.test.ts.
 */
describe("a failing Buildroot package build", () => {
  const dir = mkdtempSync(join(tmpdir(), "lab-br-make-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names the package and quotes the last lines of its log; the whole output is in the log", async () => {
    const tree = join(dir, "tree");
    mkdirSync(tree);
    const step = (s: string) => `\t@printf '\\033[7m>>> ${s}\\033[27m\\n'\n`;
    writeFileSync(
      join(tree, "Makefile"),
      "all:\n" +
        step("host-skeleton  Installing to host directory") +
        step("hello 1.0 Building") +
        '\t@for i in $$(seq 1 50); do echo "hello.c:$$i: error: line $$i"; done\n' +
        "\t@exit 2\n",
    );
    const log = join(dir, "build.log");
    const err = await buildrootMake({
      tree,
      output: join(dir, "output"),
      external: join(dir, "external"),
      log,
      args: [],
      announce: true,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LabError);
    const e = err as LabError;
    expect(e.message).toMatch(/^Buildroot failed building hello \(make all, exit 2\)/);
    // The last 30 lines: the error's end, not its start.
    expect(e.message).toContain("hello.c:50: error: line 50");
    expect(e.message).toContain("hello.c:30: error: line 30");
    expect(e.message).not.toContain("hello.c:10: error: line 10");
    expect(e.hint).toContain(`${tree} O=${join(dir, "output")} hello-dirclean hello`);
    expect(readFileSync(log, "utf8")).toContain("hello.c:1: error: line 1");
  });
});
