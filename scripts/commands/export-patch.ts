import { mkdir, writeFile } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { defineCommand } from "../lib/command.ts";
import { LabError } from "../lib/errors.ts";
import { info } from "../lib/log.ts";
import { repoRoot } from "../lib/paths.ts";
import { generatePatch, patchFile, readCheckedInPatch } from "../build/qemu/patch.ts";
import { withQemuLock } from "../build/qemu/lock.ts";
import {
  ensureQemuSource,
  pristineVersion,
  qemuPristineDir,
  qemuSourcePin,
} from "../build/qemu/source.ts";

export default defineCommand({
  summary: "write the QEMU device as one patch (host-backend/patches/)",
  usage: `usage: lab export-patch [--check] [--output FILE]

Generates one git format-patch style patch against the pristine Debian QEMU
7.2 tree from the device sources in host-backend/ (new files under
host-backend/qemu/, the shared headers, the hooks in host-backend/hooks/),
and writes it to host-backend/patches/0001-virtio-cryptodev.patch.
\`lab build qemu\` applies exactly these bytes. Fetches the pristine QEMU
source into the cache first if needed.

  --output FILE  write (or, with --check, compare) FILE instead
  --check        write nothing; exit 1 if the file differs from what would be
                 generated (the checked-in patch is stale)`,
  options: { check: { type: "boolean" }, output: { type: "string", short: "o" } },
  async run({ values }) {
    const check = !!values.check;
    const output = values.output ? resolve(values.output) : patchFile;
    // Fetching the source takes the cache lock; a present tree is only read.
    if ((await pristineVersion()) === qemuSourcePin.version) await ensureQemuSource();
    else await withQemuLock(ensureQemuSource);
    const text = await generatePatch(qemuPristineDir());
    const shown = relative(repoRoot, output).startsWith("..") ? output : relative(repoRoot, output);
    const current = await readCheckedInPatch(output);
    if (check) {
      if (current === text) {
        info(`${shown} is current`);
        return 0;
      }
      throw new LabError(
        current === undefined ? `${shown} does not exist` : `${shown} is stale`,
        1,
        "run `npx lab export-patch` and commit the result",
      );
    }
    if (current === text) {
      info(`${shown} unchanged`);
      return 0;
    }
    await mkdir(dirname(output), { recursive: true });
    await writeFile(output, text);
    info(`wrote ${shown} (${text.length} bytes)`);
    return 0;
  },
});
