import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabError } from "../lib/errors.ts";
import { repoRoot } from "../lib/paths.ts";
import { kernelBuildDir } from "../guest/kernel.ts";
import { generatePatch, patchInputs } from "../build/qemu/patch.ts";
import { qemuPristineDir } from "../build/qemu/source.ts";
import {
  type KitResult,
  type MarkedSource,
  readMarkedSources,
  referenceOnly,
  repoFiles,
  writeKit,
} from "./kit.ts";
import { isKitOnly, parseMarkers, restore } from "./markers.ts";
import { readSubmissionManifest, writeSubmission } from "./submit.ts";
import { globToRegExp, labTasks, taskIds } from "./tasks.ts";
import { compileDeviceFile, qemuCompileCommands } from "./qemu-compile.ts";
import { findTodos, formatTodos } from "./todo.ts";

/**
 * The starter kit, generated from a copy of the reference in which every
 * solution region carries a canary line: no canary may reach the kit (its
 * files, its git objects, its QEMU patch), the kit's stubs must restore to
 * the reference byte for byte (the cut loses nothing), the kit must pass
 * types, lint and formatting and compile its C in stub form, and `lab
 * submit` must pack exactly the student's files.
 */

const canary = `CANARY-${randomBytes(6).toString("hex")}`;
const tasks = [...labTasks];
let tmp: string;
let ref: string;
let kit: KitResult;
let refMarked: MarkedSource[];
let canaries = 0;

async function git(cwd: string, ...args: string[]) {
  return execa("git", args, {
    cwd,
    env: {
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t.invalid",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t.invalid",
    },
  });
}

/** A copy of the reference (its git-visible files) with a canary in every solution region. */
async function canaryReference(dir: string): Promise<void> {
  const marked = new Map((await readMarkedSources()).map((m) => [m.path, m.marked]));
  for (const f of await repoFiles()) {
    const dst = join(dir, f);
    await mkdir(dirname(dst), { recursive: true });
    const m = marked.get(f);
    if (!m) {
      await copyFile(join(repoRoot, f), dst);
      continue;
    }
    const lines = [...m.lines];
    // From the last region up, so earlier line numbers stay valid.
    for (const b of [...m.blocks].reverse()) {
      const c = `${canary}-${canaries++}`;
      lines.splice(
        b.begin + 1,
        0,
        b.style === "line" ? `${b.indent}// ${c}` : `${b.indent}/* ${c} */`,
      );
    }
    await writeFile(dst, lines.join("\n"));
  }
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "reference with canaries");
}

const pristine = existsSync(join(qemuPristineDir(), "VERSION"));

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "lab-handout-test-"));
  ref = join(tmp, "ref");
  await canaryReference(ref);
  refMarked = await readMarkedSources(ref);
  kit = await writeKit(join(tmp, "kit"), {
    tasks,
    root: ref,
    ...(pristine
      ? { patch: async (k: string) => generatePatch(qemuPristineDir(), await patchInputs(k)) }
      : {}),
  });
  await symlink(join(repoRoot, "node_modules"), join(kit.out, "node_modules"));
}, 300_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("lab handout", () => {
  it("marks every task in the reference, each region with its canary", () => {
    for (const t of tasks.map((x) => x.id))
      expect(
        refMarked.some((m) => m.marked.blocks.some((b) => b.task === t)),
        `no ${t} region`,
      ).toBe(true);
    expect(canaries).toBe(refMarked.reduce((n, m) => n + m.marked.blocks.length, 0));
  });

  it("leaks no solution: no canary in any file of the kit or in its git history", async () => {
    const grep = await execa("grep", ["-rlI", "--exclude-dir=node_modules", canary, kit.out], {
      reject: false,
    });
    expect(grep.stdout, "files with a canary").toBe("");
    expect(grep.exitCode).toBe(1);
    const gitGrep = await execa("git", ["grep", "-l", canary, "HEAD"], {
      cwd: kit.out,
      reject: false,
    });
    expect(gitGrep.stdout).toBe("");
    const log = await execa("git", ["rev-list", "--all"], { cwd: kit.out });
    expect(log.stdout.trim().split("\n")).toHaveLength(1);
  });

  it.skipIf(!pristine)(
    `regenerates the QEMU patch from the stubbed device${pristine ? "" : " (skipped: no pristine QEMU source in the cache; run `lab build qemu`)"}`,
    async () => {
      const patch = await readFile(
        join(kit.out, "host-backend/patches/0001-virtio-cryptodev.patch"),
        "utf8",
      );
      expect(patch).toContain("STUDENT TODO Z3");
      expect(patch).not.toContain(canary);
    },
  );

  it("leaves out every reference-only file", async () => {
    const files = (await execa("git", ["ls-files"], { cwd: kit.out })).stdout.split("\n");
    const bad = files.filter((f) => referenceOnly.some((g) => globToRegExp(g).test(f)));
    expect(bad.filter((f) => !f.startsWith("host-backend/patches/"))).toEqual([]);
    expect(files).toContain("STUDENT.md");
    expect(files).toContain("handout.json");
  });

  it("restores to the reference byte for byte: the cut loses nothing", async () => {
    for (const f of await repoFiles(ref)) {
      if (referenceOnly.some((g) => globToRegExp(g).test(f))) continue;
      const refText = await readFile(join(ref, f));
      const kitText = await readFile(join(kit.out, f));
      const m = refMarked.find((x) => x.path === f);
      if (!m) {
        expect(kitText.equals(refText), `${f} differs from the reference`).toBe(true);
        continue;
      }
      expect(kitText.equals(refText), `${f} has no stub`).toBe(false);
      expect(restore(kitText.toString("utf8"), m.marked, taskIds, f)).toBe(
        refText.toString("utf8"),
      );
    }
  });

  it("writes STUDENT.md with the tasks in order, their tests, running, debugging, handing in", async () => {
    const doc = await readFile(join(kit.out, "STUDENT.md"), "utf8");
    const at = taskIds.map((t) => doc.indexOf(`: ${labTasks.find((x) => x.id === t)!.title}`));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    for (const s of [
      "npm start",
      "npm test",
      "lab test --task z3",
      "lab boot",
      "--cpu",
      "lab submit",
      "conformance",
    ])
      expect(doc).toContain(s);
    for (const m of refMarked)
      for (const b of m.marked.blocks.filter((x) => !isKitOnly(x))) expect(doc).toContain(b.what);
    expect(doc).not.toContain("{{");
  });

  it("stubs name their task", async () => {
    for (const m of refMarked) {
      const text = await readFile(join(kit.out, m.path), "utf8");
      for (const b of m.marked.blocks.filter((x) => !isKitOnly(x))) {
        expect(text).toContain(`STUDENT TODO ${b.task}: ${b.what}`);
        if (b.stub.length)
          expect(b.stub.join("\n"), `${m.path}:${b.begin + 1}`).toMatch(
            /ENOSYS|NotImplementedError|vcd_todo|VCD_TODO/,
          );
      }
    }
  });

  it("tells npm start what is left: every task, in order, with its places", async () => {
    const todos = (await findTodos(kit.out))!;
    const lines = formatTodos(todos);
    const at = taskIds.map((t) => lines.findIndex((l) => l.startsWith(`${t} (`)));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(lines.at(-1)).toMatch(/^next: Z1 .*lab test --task z1/);
    expect(await findTodos(repoRoot)).toBeUndefined();
  });

  it("typechecks, lints and is formatted in stub form", async () => {
    await execa("npx", ["tsc", "-p", "tsconfig.json", "--noEmit"], { cwd: kit.out });
    const ts = kit.manifest.marked.map((m) => m.path).filter((p) => p.endsWith(".ts"));
    expect(ts.length).toBeGreaterThan(0);
    await execa("npx", ["eslint", ...ts], { cwd: kit.out });
    // what the kit changes or generates (the rest is the reference's, checked by its own lint)
    await execa("npx", ["prettier", "--check", "--log-level", "warn", ...ts, "handout.json"], {
      cwd: kit.out,
    });
  }, 600_000);

  const headers = (() => {
    try {
      return existsSync(join(kernelBuildDir(), "Makefile"));
    } catch {
      return false; // the kernel is not resolved yet
    }
  })();
  it.skipIf(!headers)(
    `builds the driver in stub form${headers ? "" : " (skipped: no kernel headers; run `lab build kernel`)"}`,
    async () => {
      const dir = join(kit.out, "guest-driver", "module");
      const r = await execa("make", ["-C", kernelBuildDir(), `M=${dir}`, "modules"], {
        reject: false,
        all: true,
      });
      expect(r.exitCode, r.all).toBe(0);
      expect(existsSync(join(dir, "vcryptodev.ko"))).toBe(true);
    },
    600_000,
  );

  const cmds = qemuCompileCommands();
  it.skipIf(!cmds)(
    `compiles the QEMU device in stub form with QEMU's own flags${cmds ? "" : " (skipped: QEMU not built; run `lab build qemu`)"}`,
    async () => {
      const files = kit.manifest.marked
        .map((m) => m.path)
        .filter((p) => p.startsWith("host-backend/qemu/") && p.endsWith(".c"));
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        const r = await compileDeviceFile(cmds!, kit.out, f);
        expect(r.exitCode, `${f}\n${r.output}`).toBe(0);
      }
    },
    600_000,
  );
});

describe("lab submit", () => {
  it("refuses a kit where nothing was written", async () => {
    await expect(writeSubmission(kit.out, join(tmp, "none.tar.gz"))).rejects.toThrow(
      /nothing to submit: no file differs from the starter kit/,
    );
  });

  it("packs exactly the student's files with a manifest", async () => {
    for (const m of kit.manifest.marked) await copyFile(join(ref, m.path), join(kit.out, m.path));
    const folder = kit.manifest.folders[0]!;
    await writeFile(join(kit.out, folder, "mine.ts"), "export const mine = 1;\n");
    // build output and dependencies are never packed
    await writeFile(join(kit.out, "guest-driver/module/stray.o"), "obj");
    await mkdir(join(kit.out, "ts-app/native/build"), { recursive: true });
    await writeFile(join(kit.out, "ts-app/native/build/x.node"), "bin");
    const out = join(tmp, "submission.tar.gz");
    const r = await writeSubmission(kit.out, out);
    const inFolders = (
      await execa("git", ["ls-files", "--", ...kit.manifest.folders], { cwd: kit.out })
    ).stdout
      .split("\n")
      .filter(Boolean);
    const want = [...new Set([...inFolders, `${folder}/mine.ts`])].sort();
    expect(r.manifest.files.map((f) => f.path).sort()).toEqual(want);
    const kind = (p: string) => r.manifest.files.find((f) => f.path === p)?.kind;
    expect(kind(`${folder}/mine.ts`)).toBe("new");
    for (const m of kit.manifest.marked) expect(kind(m.path)).toBe("marked");
    expect(kind("guest-driver/module/main.c")).toBe("given");
    expect(want).not.toContain("guest-driver/module/stray.o");
    expect(r.manifest.version).toBe(kit.manifest.version);
    const list = (await execa("tar", ["-tzf", out])).stdout.split("\n").sort();
    expect(list).toEqual(["MANIFEST.json", ...want].sort());
    const back = await readSubmissionManifest(out);
    const one = back.files.find((f) => f.kind === "marked")!;
    const { createHash } = await import("node:crypto");
    expect(one.sha256).toBe(
      createHash("sha256")
        .update(await readFile(join(ref, one.path)))
        .digest("hex"),
    );
  });

  it("refuses a file over the size limit, naming it", async () => {
    const big = join(kit.out, kit.manifest.folders[0]!, "big.ts");
    await writeFile(big, Buffer.alloc(600 * 1024, 0x61));
    const e = await writeSubmission(kit.out, join(tmp, "big.tar.gz")).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LabError);
    expect((e as Error).message).toMatch(/big\.ts is \d+ bytes, over the \d+-byte limit/);
    await rm(big);
  });

  it("refuses outside a kit", async () => {
    await expect(writeSubmission(repoRoot, join(tmp, "ref.tar.gz"))).rejects.toThrow(
      /runs in a starter kit/,
    );
  });
});

describe("marker parsing of the real sources", () => {
  it("parses every marked file of the reference (balanced, not nested, known tasks)", async () => {
    const all = await readMarkedSources();
    for (const m of all) {
      const text = await readFile(join(repoRoot, m.path), "utf8");
      expect(parseMarkers(text, m.path, taskIds).blocks.length).toBeGreaterThan(0);
    }
  });
});
