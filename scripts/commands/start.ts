import { execa } from "execa";
import type { Command } from "../lib/command.ts";
import { buildTargets } from "../lib/build-runner.ts";
import { info } from "../lib/log.ts";
import { repoRoot } from "../lib/paths.ts";
import { runChatDemo } from "../demo/chat.ts";

const command: Command = {
  summary: "the main job: build everything, boot the guest, chat through the device",
  usage: `usage: lab start

What \`npm start\` runs: builds whatever is missing (Debian packages, QEMU with
the device, the guest, the driver, the chat), boots the guest once for a
smoke check, then runs the encrypted chat demo through /dev/cryptodev0 and
prints the conversation and the device's request counters.`,
  async run(argv) {
    if (argv.length) info(`lab start takes no arguments (ignored: ${argv.join(" ")})`);
    await buildTargets(["all"], { force: false });

    info("smoke check: booting the guest");
    const smoke = await execa(
      process.execPath,
      [
        "bin/lab.mjs",
        "run",
        "--timeout",
        "120",
        "--",
        "sh",
        "-c",
        'echo "guest kernel $(uname -r), $(nproc) cpu(s)"; ls /dev/cryptodev* 2>/dev/null || echo "no /dev/cryptodev*"',
      ],
      { cwd: repoRoot, stdio: ["ignore", "inherit", "inherit"], reject: false },
    );
    if (smoke.exitCode !== 0) {
      info(`smoke check failed (exit ${smoke.exitCode})`);
      return smoke.exitCode ?? 1;
    }
    return runChatDemo();
  },
};
export default command;
