import { defineCommand } from "../lib/command.ts";
import { bootGuest } from "../vm/index.ts";
import { vmArgsFrom, vmOptionSpecs } from "../vm/options.ts";
import { vmOptionsHelp } from "./run.ts";

export default defineCommand({
  summary: "interactive guest on this terminal (serial console, repo at /lab)",
  usage: `usage: lab boot [options]

Boots the lab guest with its serial console on this terminal: a root shell,
the repository at /lab, user networking (10.0.2.15; the host's forwards on
127.0.0.1). Leave with \`poweroff\` (or exit the shell), or Ctrl-A X.
Reload the driver in the guest:
  rmmod vcryptodev; insmod /lab/guest-driver/module/vcryptodev.ko
  (with --kernel debug: insmod /lab/out/driver-debug/vcryptodev.ko)
Hot-unplug a device from the guest:
  exec 3<>/dev/virtio-ports/lab.ctl; echo device_del cryptodev0 >&3; read r <&3; echo $r

${vmOptionsHelp}`,
  options: vmOptionSpecs,
  command: true,
  async run({ values, command }) {
    return bootGuest(vmArgsFrom(values, command, false));
  },
});
