import { defineCommand } from "../lib/command.ts";
import { info, warn } from "../lib/log.ts";
import { repoRoot } from "../lib/paths.ts";
import { findTodos, formatTodos } from "../handout/todo.ts";
import { buildTargets } from "../build/runner.ts";
import { runChatDemo } from "../demo/chat.ts";
import { guestArgs, runGuest } from "../vm/index.ts";

export default defineCommand({
  summary: "the main job: build everything, boot the guest, chat through the device",
  usage: `usage: lab start

What \`npm start\` runs: builds whatever is missing (Debian packages, QEMU with
the device, the guest, the driver, the chat), boots the guest once for a
smoke check, then runs the encrypted chat demo through /dev/cryptodev0 and
prints the conversation and the device's request counters.

In a starter kit (\`lab handout\`), it says which task is not done yet
(the STUDENT TODO places left) and stops after the smoke check: the chat
demo needs every task.`,
  async run() {
    const todos = await findTodos(repoRoot);
    const report = () => {
      for (const line of formatTodos(todos ?? [])) process.stdout.write(`${line}\n`);
    };
    if (todos?.length) report();
    await buildTargets(["all"], { force: false });
    info("smoke check: booting the guest");
    const smoke = await runGuest(
      guestArgs({
        timeoutS: 120,
        command: [
          "sh",
          "-c",
          'echo "guest kernel $(uname -r), $(nproc) cpu(s)"; ls /dev/cryptodev* 2>/dev/null || echo "no /dev/cryptodev*"',
        ],
      }),
      { stdout: process.stdout, stderr: process.stderr },
    );
    if (smoke.code !== 0) {
      info(`smoke check failed (exit ${smoke.code}${smoke.reason ? `: ${smoke.reason}` : ""})`);
      return smoke.code || 1;
    }
    if (todos?.length) {
      report();
      warn("the build and the guest work; the chat demo runs once every task is done");
      return 1;
    }
    return runChatDemo();
  },
});
