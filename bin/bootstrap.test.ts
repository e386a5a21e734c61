import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * The first thing `npm start` and `npm test` run on a fresh clone: the npm
 * install of bin/bootstrap.mjs, in a copy holding only package.json, the
 * lock and the bootstrap (install scripts off: no native compile, same lock
 * check). It must use the committed lock as it is (npm ci fails on a lock
 * that disagrees with package.json or lacks entries) and leave it byte for
 * byte unchanged, so a newcomer's tree is clean after the first command.
 */
const root = join(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "lab-bootstrap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bootstrap (npm ci from the committed lock)", () => {
  it("installs without touching package.json or package-lock.json, then stays quiet", () => {
    mkdirSync(join(dir, "bin"));
    for (const f of ["package.json", "package-lock.json", "bin/bootstrap.mjs"])
      copyFileSync(join(root, f), join(dir, f));
    const before = ["package.json", "package-lock.json"].map((f) => readFileSync(join(dir, f)));
    const env = {
      ...process.env,
      npm_config_ignore_scripts: "true",
      npm_config_prefer_offline: "true",
      CI: "true",
    };
    const run = () => {
      const r = spawnSync(process.execPath, ["bin/bootstrap.mjs", "--install-only"], {
        cwd: dir,
        env,
        encoding: "utf8",
        timeout: 300_000,
      });
      expect(r.status, r.stderr).toBe(0);
      return r.stderr;
    };
    expect(run()).toMatch(/installing npm dependencies \(npm ci\)/);
    const after = ["package.json", "package-lock.json"].map((f) => readFileSync(join(dir, f)));
    expect(after[0]?.equals(before[0] as Buffer)).toBe(true);
    expect(
      after[1]?.equals(before[1] as Buffer),
      "package-lock.json rewritten by the install",
    ).toBe(true);
    expect(readFileSync(join(dir, "node_modules", ".lab-lock-hash"), "utf8")).toMatch(
      /^[0-9a-f]{64}$/,
    );
    // The stamp matches the lock it installed: the second run installs nothing.
    expect(run()).not.toMatch(/installing/);
  }, 400_000);
});
