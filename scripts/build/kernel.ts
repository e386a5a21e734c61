import { existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { ensurePackages } from "../debian/apt.ts";
import type { BuildTarget } from "./target.ts";
import { freshDir, readStamp, replaceDir, sha256File, writeStamp } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import {
  type ResolvedKernel,
  currentResolution,
  kernelBuildDir,
  kernelDirFor,
  kernelImagePath,
  kernelKeyFor,
  kernelModulesDir,
  kernelVmlinuxPath,
  resolveAndRecord,
} from "../guest/kernel.ts";
import { debug, step } from "../lib/log.ts";
import { cachePath } from "../lib/paths.ts";
import { recipe, sh } from "../lib/sh.ts";
import { type DebPin, debFileName } from "../debian/pins.ts";

const debDir = () => cachePath("kernel", "debs");

/** apt no longer serves this version (the resolution is stale). */
export class NotServed extends LabError {}

/**
 * Downloads one .deb of the resolved set (unless a verified copy is cached)
 * and checks it against the sha256 that apt's signed index recorded.
 */
export async function fetchDeb(pin: DebPin, dir = debDir()): Promise<string> {
  const file = join(dir, debFileName(pin));
  if (existsSync(file) && (await sha256File(file)) === pin.sha256) return file;
  await mkdir(dir, { recursive: true });
  const spec = `${pin.name}=${pin.version}`;
  debug(`apt-get download ${spec}`);
  const r = await sh({ cwd: dir, nothrow: true })`apt-get download -q ${spec}`;
  if (r.exitCode !== 0 || !existsSync(file))
    throw new NotServed(
      `apt-get download ${spec} failed: ${(r.stderr || r.stdout).trim().split("\n").pop() ?? ""}`,
      1,
      "run `apt-get update`",
    );
  const sum = await sha256File(file);
  if (sum !== pin.sha256) {
    await unlink(file);
    throw new LabError(
      `${debFileName(pin)}: sha256 ${sum} does not match apt's index (${pin.sha256})`,
      1,
      "the archive served a different file for this version; check the mirror",
    );
  }
  return file;
}

async function fetchSet(rec: ResolvedKernel): Promise<string[]> {
  const pins = rec.set.packages;
  return step(`downloading ${pins.length} kernel packages`, async (progress) => {
    const out: string[] = [];
    for (const p of pins) {
      progress(p.name);
      out.push(await fetchDeb(p));
    }
    return out;
  });
}

/**
 * Points the absolute paths the packages assume (/usr/src/...) at the
 * unpacked copy: the headers Makefile's include and the build/source links.
 */
async function relocate(root: string, kernelRelease: string): Promise<void> {
  const hdr = join(root, "usr", "src", `linux-headers-${kernelRelease}`);
  const makefile = join(hdr, "Makefile");
  const text = await readFile(makefile, "utf8");
  const fixed = text.replace(
    /^include \/usr\/src\/([^/\s]+)\/Makefile$/m,
    (_m, dir: string) => `include $(dir $(lastword $(MAKEFILE_LIST)))../${dir}/Makefile`,
  );
  if (fixed === text) throw new LabError(`${makefile}: no absolute include to relocate`);
  await writeFile(makefile, fixed);
  const mods = join(root, "lib", "modules", kernelRelease);
  for (const [link, target] of [
    ["build", `linux-headers-${kernelRelease}`],
    ["source", `linux-headers-${kernelRelease.replace(/-[^-]+$/, "")}-common`],
  ] as const) {
    await rm(join(mods, link), { force: true });
    await symlink(relative(mods, join(root, "usr", "src", target)), join(mods, link));
  }
}

/**
 * Unpacks the ELF vmlinux from the bzImage's xz payload. QEMU boots it
 * directly (PVH entry), which skips the in-guest xz decompression: about
 * 4 s of every boot under TCG.
 */
async function extractVmlinux(bzImage: string, out: string): Promise<void> {
  const data = await readFile(bzImage);
  const at = data.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (at < 0) throw new LabError(`${bzImage}: no xz payload found`);
  // From a file, not a pipe: xz stops at the end of the first stream and the
  // bzImage's trailing bytes would meet a closed pipe.
  // Into a file by the shell: the ELF never passes through a JS string.
  const payload = `${out}.xz`;
  await writeFile(payload, data.subarray(at));
  await sh()`xz -dc --single-stream ${payload} > ${out}`;
  await unlink(payload);
  const head = Buffer.alloc(4);
  const fd = await open(out, "r");
  await fd.read(head, 0, 4, 0);
  await fd.close();
  if (head.toString("latin1") !== "\x7fELF")
    throw new LabError(`${bzImage}: the xz payload is not an ELF vmlinux`);
}

/** Removes `root.<pid>.tmp` folders left by builds whose process is gone. */
async function removeStaleTmp(dir: string): Promise<void> {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "EPERM";
    }
  };
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const m = /^root\.(\d+)\.tmp$/.exec(n);
    if (m && !alive(Number(m[1]))) await rm(join(dir, n), { recursive: true, force: true });
  }
}

const target: BuildTarget = {
  name: "kernel",
  packages: ["guest"],
  summary:
    "Debian kernel of the series in vm/pins.json: image, modules, headers (apt-get download + dpkg -x)",
  deps: [],
  async build({ force }) {
    let rec = currentResolution();
    const resolvedNow = !rec;
    if (!rec) {
      await ensurePackages("guest");
      rec = await resolveAndRecord();
    }
    const dir = kernelDirFor(rec.set);
    if (!force && (await readStamp(dir)) === kernelKeyFor(rec.set) && existsSync(kernelImagePath()))
      return "up-to-date";
    await ensurePackages("guest");
    let debs: string[];
    try {
      debs = await fetchSet(rec);
    } catch (e) {
      // A recorded resolution whose packages left the archive (and the cache): resolve again.
      if (!(e instanceof NotServed) || resolvedNow) throw e;
      rec = await resolveAndRecord();
      debs = await fetchSet(rec);
    }
    const { release } = rec.set;
    const kdir = kernelDirFor(rec.set);
    await step(`unpacking kernel ${release}`, async () => {
      await removeStaleTmp(kdir);
      const tmp = await freshDir(join(kdir, `root.${process.pid}.tmp`));
      await recipe("unpacking the kernel packages", async () => {
        for (const deb of debs) await sh()`dpkg -x ${deb} ${tmp}`;
        await relocate(tmp, release);
        await sh()`depmod -b ${tmp} ${release}`;
      });
      await extractVmlinux(join(tmp, "boot", `vmlinuz-${release}`), join(tmp, "boot", "vmlinux"));
      await replaceDir(tmp, join(kdir, "root"));
    });
    for (const f of [
      kernelImagePath(),
      kernelVmlinuxPath(),
      join(kernelModulesDir(), "modules.dep"),
      kernelBuildDir(),
    ])
      if (!existsSync(f)) throw new LabError(`kernel build incomplete: ${f} missing`);
    await writeStamp(kdir, kernelKeyFor(rec.set));
    return "built";
  },
  async clean() {
    await rm(cachePath("kernel"), { recursive: true, force: true });
  },
};
export default target;
