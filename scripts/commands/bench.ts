import type { CommandGroup } from "../lib/command.ts";

/** `lab bench <name>`: each benchmark is a command of its own in scripts/bench/. */
const group: CommandGroup = {
  summary: "benchmarks: boot, device, chat, grade, all (medians, side by side)",
  usage: `usage: lab bench <boot|device|chat|grade|all> [options]

  boot     warm \`lab run -- true\` and \`lab run -- node -e 0\`, median and spread
  device   AES-128-CBC through /dev/cryptodev0 vs in-guest node:crypto vs host
  chat     chat messages/s and latency, host and guest, beside a C chat server;
           secure handshakes per second
  grade    lab grade: a driver, a device, a batch with -j auto beside -j 1
  all      every benchmark and the rebuild timings: report.md with SVG plots
           and report.json (--quick: the smoke check of npm test)

Each prints a table; \`lab bench <name> --help\` for its options.`,
  subcommands: {
    boot: () => import("../bench/boot.ts"),
    device: () => import("../bench/device/index.ts"),
    chat: () => import("../bench/chat/index.ts"),
    all: () => import("../bench/all/index.ts"),
    grade: () => import("../bench/grade.ts"),
  },
};
export default group;
