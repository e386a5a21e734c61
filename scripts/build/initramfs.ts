import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ensurePackages } from "../debian/apt.ts";
import type { BuildTarget } from "./target.ts";
import { readStamp, writeStamp } from "../lib/cache.ts";
import { type CpioEntry, withParents, writeCpio } from "../guest/cpio.ts";
import {
  guestModules,
  hostBusybox,
  initSource,
  initramfsDir,
  initramfsKey,
  initramfsPath,
  labexecSource,
} from "../guest/artifacts.ts";
import { kernelModulesDir, kernelRelease } from "../guest/kernel.ts";
import { step } from "../lib/log.ts";
import { recipe, sh } from "../lib/sh.ts";
import { loadLevels, parseModulesDep, resolveModules } from "../guest/modules-dep.ts";

/** Compiles the guest's command runner, statically linked. */
async function buildLabexec(): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "lab-labexec-"));
  try {
    const out = join(dir, "labexec");
    await recipe(
      "compiling vm/guest/labexec.c",
      () => sh()`gcc -static -Os -s -Wall -o ${out} ${labexecSource}`,
    );
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Busybox applet links, from `busybox --list-full` (e.g. "usr/bin/wc"). */
async function busyboxLinks(): Promise<CpioEntry[]> {
  const { stdout } = await sh()`${hostBusybox} --list-full`;
  return stdout
    .split("\n")
    .filter((l) => l && l !== "bin/busybox" && !l.includes("["))
    .map((l) => ({ path: l, type: "symlink", target: "/bin/busybox" }));
}

const staticFiles: Record<string, string> = {
  "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
  "etc/group": "root:x:0:\n",
  "etc/hosts": "127.0.0.1 localhost lab\n",
  "etc/profile":
    'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1="lab:\\w# "\n',
};

/** The modules to carry (in load order, one level per line), read from the default kernel's tree. */
async function defaultKernelModules(): Promise<{
  dir: string;
  order: string[];
  levels: string[][];
}> {
  const dir = kernelModulesDir();
  const dep = parseModulesDep(await readFile(join(dir, "modules.dep"), "utf8"));
  const order = resolveModules(dep, guestModules);
  return { dir, order, levels: loadLevels(dep, order) };
}

/**
 * The initramfs: the default kernel's (its virtio/9p modules carried), or,
 * given `kernel`, one for a kernel with everything built in (no modules).
 */
export async function assemble(kernel?: { release: string }): Promise<Buffer> {
  const {
    dir: modDir,
    order,
    levels,
  } = kernel
    ? { dir: "", order: [] as string[], levels: [] as string[][] }
    : await defaultKernelModules();
  const release = kernel ? kernel.release : kernelRelease();
  const entries: CpioEntry[] = [
    { path: "init", type: "file", mode: 0o755, data: await readFile(initSource) },
    { path: "bin/busybox", type: "file", mode: 0o755, data: await readFile(hostBusybox) },
    { path: "sbin/labexec", type: "file", mode: 0o755, data: await buildLabexec() },
    { path: "dev/console", type: "char", mode: 0o600, major: 5, minor: 1 },
    { path: "dev/null", type: "char", mode: 0o666, major: 1, minor: 3 },
    ...["proc", "sys", "tmp", "run", "root", "mnt", "opt/node", "usr/local/bin"].map(
      (d): CpioEntry => ({ path: d, type: "dir" }),
    ),
    // The node image (guest /dev/vda, mounted on /opt/node) holds node and
    // the libraries it needs; these links make them usable at their usual paths.
    { path: "lib64", type: "symlink", target: "/opt/node/lib" },
    { path: "lib/x86_64-linux-gnu", type: "symlink", target: "/opt/node/lib" },
    { path: "usr/bin/node", type: "symlink", target: "/opt/node/bin/node" },
    ...(await busyboxLinks()),
    ...Object.entries(staticFiles).map(([path, text]): CpioEntry => ({
      path,
      type: "file",
      data: Buffer.from(text),
    })),
    {
      path: "etc/lab/modules",
      type: "file",
      data: Buffer.from(levels.map((l) => l.join(" ") + "\n").join("")),
    },
    { path: "etc/lab/release", type: "file", data: Buffer.from(release + "\n") },
  ];
  for (const m of order)
    entries.push({ path: `lib/modules/${m}`, type: "file", data: await readFile(join(modDir, m)) });
  return gzipSync(writeCpio(withParents(entries)), { level: 9 });
}

const target: BuildTarget = {
  name: "initramfs",
  packages: ["guest"],
  summary: "guest initramfs: busybox, virtio/9p modules, our init and labexec (cpio newc, gzip)",
  deps: ["kernel"],
  async build({ force }) {
    const key = await initramfsKey();
    if (!force && (await readStamp(initramfsDir())) === key && existsSync(initramfsPath()))
      return "up-to-date";
    await ensurePackages("guest");
    await step("assembling the initramfs", async () => {
      await mkdir(initramfsDir(), { recursive: true });
      // Per process: concurrent `lab run`s may rebuild at once; rename is atomic.
      const tmp = `${initramfsPath()}.${process.pid}.tmp`;
      await writeFile(tmp, await assemble());
      await rename(tmp, initramfsPath());
    });
    await writeStamp(initramfsDir(), key);
    return "built";
  },
  async clean() {
    await rm(initramfsDir(), { recursive: true, force: true });
  },
};
export default target;
