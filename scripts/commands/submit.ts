import { resolve } from "node:path";
import { defineCommand } from "../lib/command.ts";
import { info } from "../lib/log.ts";
import { repoRoot } from "../lib/paths.ts";
import { maxFileBytes, writeSubmission } from "../handout/submit.ts";

export default defineCommand({
  summary: "pack your solution for handing in (in a starter kit)",
  usage: `usage: lab submit [--out FILE]

Packs your folders into one .tar.gz: the tasks' folders (guest-driver/module,
host-backend/qemu, the chat's folders in ts-app/src), that is the files that
had STUDENT TODO stubs, every file you added or changed there, and the given
files beside them so each part builds as the grader builds it (build output,
node_modules and caches are never packed), with MANIFEST.json: each file's
kind (marked, new, changed, given), size and sha256, the lab version and your
last local test summary (run \`npm test\` first). Refuses when no file differs from the
kit, or a file is over ${maxFileBytes / 1024} KiB.

  --out FILE   the tarball to write (default submission.tar.gz)`,
  options: { out: { type: "string", short: "o" } },
  async run({ values }) {
    const file = resolve(values.out ?? "submission.tar.gz");
    const r = await writeSubmission(repoRoot, file);
    for (const f of r.manifest.files)
      process.stdout.write(`  ${f.kind.padEnd(7)} ${f.path} (${f.size} bytes)\n`);
    const t = r.manifest.tests;
    info(
      t
        ? `local tests (${t.ranAt}): ${t.total.passed} passed, ${t.total.failed} failed, ${t.total.skipped} skipped`
        : "no local test results packed (run `npm test` first to include them)",
    );
    info(`wrote ${file} (${r.manifest.files.length} files)`);
    return 0;
  },
});
