import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabError } from "../../lib/errors.ts";
import { generatePatch, type PatchInputs } from "./patch.ts";

/* The generator on a tiny fake pristine tree, with inputs outside the repository. */

let dir: string;
let pristine: string;
const hookText = [
  "--- a/hw/meson.build",
  "+++ b/hw/meson.build",
  "@@ -1,2 +1,3 @@",
  " a = 1",
  "+files('dev.c')",
  " b = 2",
  "",
].join("\n");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lab-patch-test-"));
  pristine = join(dir, "pristine");
  await mkdir(join(pristine, "hw"), { recursive: true });
  await writeFile(join(pristine, "hw", "meson.build"), "a = 1\nb = 2\n");
  await writeFile(join(dir, "dev.c"), "int dev;\n");
  await writeFile(join(dir, "ok.diff"), hookText);
  await writeFile(join(dir, "bad.diff"), hookText.replace(" b = 2", " c = 3"));
  await writeFile(join(dir, "missing.diff"), hookText.replace(/hw\/meson.build/g, "hw/nope.build"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const inputs = (hook: string): PatchInputs => ({
  files: [{ tree: "hw/dev.c", source: join(dir, "dev.c") }],
  hooks: [join(dir, hook)],
});

describe("generatePatch", () => {
  it("writes the same git format-patch bytes every time, applying with patch -p1", async () => {
    const one = await generatePatch(pristine, inputs("ok.diff"));
    const two = await generatePatch(pristine, inputs("ok.diff"));
    expect(two).toBe(one);
    expect(one).toMatch(/^From [0-9a-f]{40} /);
    expect(one).toContain("Date: Sun, 22 Nov 2026 00:00:00 +0000");
    expect(one).toMatch(/^ 2 files changed, 2 insertions\(\+\)$/m);
    expect(one).toContain("diff --git a/hw/dev.c b/hw/dev.c\nnew file mode 100644\n");
    const r = await execa("patch", ["-p1", "--dry-run", "-f", "-d", pristine], {
      input: one,
      reject: false,
    });
    expect(r.exitCode).toBe(0);
  });

  it("refuses a hook that does not apply to the pristine tree", async () => {
    await expect(generatePatch(pristine, inputs("bad.diff"))).rejects.toThrow(
      /hook .*bad\.diff does not apply/,
    );
  });

  it("refuses a hook on a file QEMU does not have", async () => {
    await expect(generatePatch(pristine, inputs("missing.diff"))).rejects.toBeInstanceOf(LabError);
  });
});
