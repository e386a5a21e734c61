import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { relative } from "node:path";
import { ensurePackages } from "../debian/apt.ts";
import type { BuildTarget } from "./target.ts";
import { hashKey } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import { debug, info, step, warn } from "../lib/log.ts";
import { cachePath, patchedQemuPath, repoRoot } from "../lib/paths.ts";
import { sh } from "../lib/sh.ts";
import { configureKey, configureQemu, isConfigured } from "./qemu/configure.ts";
import { qemuFirmwareArgs } from "../vm/firmware.ts";
import { withQemuLock } from "./qemu/lock.ts";
import { runNinja } from "./qemu/ninja.ts";
import {
  generatePatch,
  patchFile,
  patchInputs,
  patchInputsKey,
  readCheckedInPatch,
} from "./qemu/patch.ts";
import { ensureQemuSource, qemuPristineDir, qemuSourcePin } from "./qemu/source.ts";
import { syncWorkTree } from "./qemu/worktree.ts";

/** Bump when the recipe below changes in a way the other key parts do not show. */
const recipeVersion = "1";
const stampFile = () => cachePath("qemu", "build.key");

/**
 * The key of a finished build: the QEMU source pin, the configure flags and
 * every input of the patch. Cheap to compute (hashes a few files, runs
 * nothing), so an unchanged tree answers "up-to-date" at once.
 */
async function buildKey(): Promise<string> {
  const inputs = await patchInputs();
  return hashKey([
    "qemu",
    recipeVersion,
    qemuSourcePin.version,
    configureKey(),
    await patchInputsKey(inputs, qemuSourcePin.version),
  ]);
}

async function currentStamp(): Promise<string | undefined> {
  try {
    return (await readFile(stampFile(), "utf8")).trim();
  } catch {
    return undefined;
  }
}

const target: BuildTarget = {
  name: "qemu",
  packages: ["qemu"],
  summary: `QEMU ${qemuSourcePin.series} (Debian source) with the virtio-cryptodev device`,
  deps: [],
  async build({ force }) {
    const key = await buildKey();
    const current = async () =>
      !force && (await currentStamp()) === key && existsSync(patchedQemuPath());
    if (await current()) return "up-to-date";
    return withQemuLock(async () => {
      // Another build may have produced exactly this while we waited.
      if (await current()) return "up-to-date";
      await buildLocked(key);
      return "built";
    });
  },
  async clean() {
    await withQemuLock(() => rm(cachePath("qemu"), { recursive: true, force: true }));
  },
};
export default target;

/** The binary must offer our device; a hook that lost its Kconfig line would not. */
async function checkDevice(): Promise<void> {
  const r = await sh({ nothrow: true })`${patchedQemuPath()} -device help`;
  if (!/^name "virtio-cryptodev-pci"/m.test(r.stdout))
    throw new LabError(
      "the built QEMU has no virtio-cryptodev-pci device",
      1,
      "check host-backend/hooks (the Kconfig and meson.build lines that enable the device)",
    );
}

/**
 * The build proper, under the cache lock: packages, pristine source, the
 * generated patch onto the work tree, configure (once), incremental ninja.
 */
async function buildLocked(key: string): Promise<void> {
  await rm(stampFile(), { force: true });
  await ensurePackages("qemu");
  const version = await ensureQemuSource();
  const patch = await generatePatch(qemuPristineDir());
  if ((await readCheckedInPatch()) !== patch)
    warn(
      `${relative(repoRoot, patchFile)} is stale (building from the current sources); ` +
        "run `npx lab export-patch` before committing",
    );
  const sync = await step("applying the virtio-cryptodev patch", () =>
    syncWorkTree(qemuPristineDir(), version, patch),
  );
  debug(`work tree: ${sync.fresh ? "fresh copy" : `changed ${sync.changed.join(" ") || "-"}`}`);
  if (!(await isConfigured())) {
    const summary = await configureQemu();
    for (const line of summary) debug(`configure: ${line}`);
  }
  const r = await step("building qemu-system-x86_64", (progress) =>
    runNinja("qemu-system-x86_64", progress),
  );
  if (!existsSync(patchedQemuPath()))
    throw new LabError(`ninja finished but ${patchedQemuPath()} is missing`);
  await checkDevice();
  qemuFirmwareArgs(); // throws with the packages to install if firmware is missing
  await writeFile(stampFile(), `${key}\n`);
  info(`qemu: ${patchedQemuPath()} (${r.steps} build steps)`);
}
