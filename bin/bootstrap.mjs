#!/usr/bin/env node
// Entry point of `npm start` and `npm test` on a fresh clone: makes sure the
// npm dependencies match package-lock.json (no third-party modules may be
// imported here), then hands over to the lab CLI.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const lock = join(root, "package-lock.json");
const stamp = join(root, "node_modules", ".lab-lock-hash");

function lockHash() {
  return createHash("sha256").update(readFileSync(lock)).update(process.version).digest("hex");
}

/**
 * `npm ci`: exactly the committed lock (every platform's optional entries
 * included), never rewriting it, so a fresh clone stays clean. Skipped while
 * node_modules was installed from this very lock by this node.
 */
function ensureNodeModules() {
  const want = lockHash();
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === want) return;
  console.error("lab: installing npm dependencies (npm ci)");
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], {
    cwd: root,
    stdio: ["ignore", process.env.CI ? "ignore" : "inherit", "pipe"],
    encoding: "utf8",
  });
  if (r.status !== 0) {
    // npm ci follows its error with its whole usage text: the error is enough.
    const lines = (r.stderr ?? "").split("\n");
    const end = lines.findIndex((l) => /^npm error (Clean install|A complete log)/.test(l));
    console.error(lines.slice(0, end < 0 ? 30 : Math.min(end, 30)).join("\n"));
    console.error(`lab: npm ci failed (exit ${r.status ?? r.signal})`);
    console.error(
      "  hint: package.json and package-lock.json must agree: run `npm install` and commit the lock",
    );
    process.exit(1);
  }
  writeFileSync(stamp, want);
}

const verb = process.argv[2] ?? "start";
ensureNodeModules();
if (verb === "--install-only") process.exit(0);
const r = spawnSync(
  process.execPath,
  [join(root, "bin", "lab.mjs"), verb, ...process.argv.slice(3)],
  {
    cwd: root,
    stdio: "inherit",
  },
);
process.exit(r.status ?? 1);
