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

function ensureNodeModules() {
  const want = lockHash();
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === want) return;
  // `npm install` with the committed lock, not `npm ci`: npm ci insists on
  // lock entries for every platform's optional packages (rollup's, esbuild's),
  // which a registry mirror serving only this platform cannot provide. The
  // lock still pins every version installed here.
  console.log("lab: installing npm dependencies (npm install)");
  const r = spawnSync("npm", ["install", "--no-audit", "--no-fund"], {
    cwd: root,
    stdio: ["ignore", process.env.CI ? "ignore" : "inherit", "inherit"],
  });
  if (r.status !== 0) {
    console.error(`lab: npm install failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  writeFileSync(stamp, want);
}

const verb = process.argv[2] ?? "start";
ensureNodeModules();
const r = spawnSync(
  process.execPath,
  [join(root, "bin", "lab.mjs"), verb, ...process.argv.slice(3)],
  {
    cwd: root,
    stdio: "inherit",
  },
);
process.exit(r.status ?? 1);
