import { existsSync, statSync } from "node:fs";
import { readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { freshDir, readStamp, writeStamp } from "../../lib/cache.ts";
import { LabError } from "../../lib/errors.ts";
import { step } from "../../lib/log.ts";
import { recipe, sh } from "../../lib/sh.ts";
import {
  buildrootDir,
  buildrootInput,
  buildrootPin,
  buildrootTarballName,
} from "../../guest/buildroot.ts";

/**
 * The Buildroot tree: given as `--buildroot PATH|TARBALL` or $LAB_BUILDROOT
 * (or found as the project's shared test input), verified by its git
 * commit id against the pin, and unpacked once into the cache. Buildroot is
 * neither a Debian nor an npm package: offline it must be handed to us.
 */

export function noBuildrootMessage(): LabError {
  return new LabError(
    `no Buildroot tree: the Buildroot guest is built with Buildroot ${buildrootPin.version}, which is not a Debian or npm package`,
    1,
    `pass --buildroot PATH (a tree or a \`git archive\` tarball such as ${buildrootTarballName}) or set $LAB_BUILDROOT;\n` +
      `    with internet: git clone --branch ${buildrootPin.version} of Buildroot's official repository\n` +
      `    (its commit must be ${buildrootPin.commit})`,
  );
}

/** The commit id `git archive` wrote into a tarball's pax header, if any. */
export async function tarballCommit(tarball: string): Promise<string | undefined> {
  const decompress = tarball.endsWith(".xz")
    ? "xz -dc"
    : tarball.endsWith(".gz")
      ? "gzip -dc"
      : tarball.endsWith(".bz2")
        ? "bzip2 -dc"
        : "cat";
  const r = await sh({
    nothrow: true,
  })`${decompress.split(" ")} <${tarball} | git get-tar-commit-id`;
  const id = r.stdout.trim();
  return /^[0-9a-f]{40}$/.test(id) ? id : undefined;
}

/** The commit of a folder: its git HEAD, or the BR2_VERSION of an unpacked tree without .git. */
async function treeIdentity(dir: string): Promise<{ commit?: string; version?: string }> {
  if (existsSync(join(dir, ".git"))) {
    const r = await sh({ nothrow: true })`git -C ${dir} rev-parse HEAD`;
    if (r.exitCode === 0) return { commit: r.stdout.trim() };
  }
  const mk = await readFile(join(dir, "Makefile"), "utf8").catch(() => "");
  const m = /^export BR2_VERSION := (\S+)$/m.exec(mk);
  return { version: m?.[1] };
}

function mismatch(path: string, found: string): LabError {
  return new LabError(
    `${path} is not Buildroot ${buildrootPin.version}: ${found}, expected commit ${buildrootPin.commit}`,
    1,
    `use the ${buildrootPin.version} release (\`git archive\` of its tag, or a clone at the tag)`,
  );
}

/**
 * Verifies the given Buildroot and returns the folder to run make in.
 * `checkout`: where the shared test input is looked for (the repository).
 */
export async function buildrootTree(flag?: string, checkout?: string): Promise<string> {
  const input = buildrootInput(flag, checkout);
  if (!input) throw noBuildrootMessage();
  const { path, from } = input;
  if (!existsSync(path)) throw new LabError(`${from}: ${path} does not exist`);
  if (statSync(path).isDirectory()) {
    const id = await treeIdentity(path);
    if (id.commit && id.commit !== buildrootPin.commit)
      throw mismatch(path, `its HEAD is ${id.commit}`);
    if (!id.commit && id.version !== buildrootPin.version)
      throw mismatch(path, `its Makefile says BR2_VERSION ${id.version ?? "(none)"}`);
    if (!existsSync(join(path, "support", "kconfig")))
      throw new LabError(`${path} does not look like a Buildroot tree (no support/kconfig)`);
    return path;
  }
  // A tarball: unpacked once per commit; the stamp records what it was.
  const dest = join(buildrootDir(), `tree-${buildrootPin.commit.slice(0, 12)}`);
  // Verified every time (the tarball given may not be the one unpacked before).
  const commit = await tarballCommit(path);
  if (commit !== buildrootPin.commit)
    throw mismatch(path, commit ? `its commit id is ${commit}` : "no git commit id in the archive");
  if ((await readStamp(dest)) === buildrootPin.commit) return dest;
  await step(`unpacking Buildroot ${buildrootPin.version}`, async () => {
    const tmp = await freshDir(`${dest}.${process.pid}.tmp`);
    await recipe(
      "unpacking Buildroot",
      () => sh()`tar -xaf ${path} -C ${tmp} --strip-components=1`,
    );
    await writeStamp(tmp, buildrootPin.commit);
    await rm(dest, { recursive: true, force: true });
    await rename(tmp, dest);
  });
  return dest;
}
