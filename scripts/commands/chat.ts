import { defineCommand } from "../lib/command.ts";

/**
 * `lab chat server|client ...`: a thin adapter over the chat's own command
 * line (ts-app/src/cli.ts), which also runs alone in the guest as the
 * bundle ts-app/dist/chat.mjs. Options, --help, logging and exit codes are
 * the chat's.
 */
const { usage } = await import("../../ts-app/src/cli.ts");

export default defineCommand({
  summary: "the encrypted chat: server and client (secure or classic mode)",
  usage,
  passthrough: true,
  async run({ command }) {
    const { main } = await import("../../ts-app/src/cli.ts");
    return main(command);
  },
});
