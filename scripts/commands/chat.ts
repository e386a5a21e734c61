import type { Command } from "../lib/command.ts";

/**
 * `lab chat server|client ...`: a thin adapter over the chat's own command
 * line (ts-app/src/cli.ts), which also runs alone in the guest as the
 * bundle ts-app/dist/chat.mjs. Options, logging and exit codes are the chat's.
 */
const command: Command = {
  summary: "the encrypted chat: server and client (secure or classic mode)",
  get usage() {
    return usageText;
  },
  async run(argv) {
    const { main } = await import("../../ts-app/src/cli.ts");
    return main(argv);
  },
};

// The usage text lives with the chat; loading it pulls in no native module.
const { usage: usageText } = await import("../../ts-app/src/cli.ts");

export default command;
