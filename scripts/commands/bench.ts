import type { Command } from "../lib/command.ts";
import { UsageError } from "../lib/errors.ts";

/** Each benchmark lives in scripts/bench/<name>.ts and exports `run(argv)`. */
const benches: Record<string, () => Promise<{ run(argv: string[]): Promise<number> }>> = {
  boot: () => import("../bench/boot.ts"),
  device: () => import("../bench/device.ts"),
  chat: () => import("../bench/chat.ts"),
};

const command: Command = {
  summary: "benchmarks: boot, device, chat (medians, side by side)",
  usage: `usage: lab bench <boot|device|chat> [options]

  boot     warm \`lab run -- true\` and \`lab run -- node -e 0\`, median and spread
  device   AES-128-CBC through /dev/cryptodev0 vs in-guest node:crypto vs host
  chat     chat messages/s and latency, host and guest, beside a C chat server

Each prints a table; \`lab bench <name> --help\` for its options.`,
  async run(argv) {
    const [name, ...rest] = argv;
    const load = name ? benches[name] : undefined;
    if (!load) throw new UsageError(`lab bench needs one of: ${Object.keys(benches).join(", ")}`);
    return (await load()).run(rest);
  },
};
export default command;
