import { defineCommand } from "../lib/command.ts";
import { info } from "../lib/log.ts";
import { runGuest } from "../vm/index.ts";
import { formatSplat } from "../vm/splat.ts";
import { vmArgsFrom, vmOptionSpecs } from "../vm/options.ts";

export const vmOptionsHelp = `  --devices N          N virtio-cryptodev-pci devices, ids cryptodev0..N-1
                       (default 1 when the patched QEMU is built, else 0)
  --device-opts K=V,.. extra properties for every device (e.g. engine=builtin)
  --share H[:G]        share host folder H at guest path G (default /mnt/share),
                       read-write; repeatable. The repository is always at /lab
  --forward HP:GP      forward 127.0.0.1:HP on the host to guest port GP
  --timeout S          whole-run limit: QEMU is killed and lab exits 124
  --accel auto|kvm|tcg auto: KVM when a probe shows it boots, else TCG
  --smp N, --mem MiB   vCPUs (default 1), memory (default 1024)
  --cpu MODEL          QEMU CPU model (default max: SMAP/SMEP under TCG)
  --machine q35|pc     machine type (default q35)
  --kernel default|debug  Debian's kernel (default), or the lab's debug build
                       (lockdep, KASAN, KFENCE, UBSAN; \`lab build debug\`):
                       a checker's report fails the run
  --rootfs FLAVOUR     initramfs (default: Debian's busybox, built in ~1 s) or
                       buildroot (vm/buildroot, \`lab build rootfs-buildroot\`);
                       same kernel, command line, init and agent ($LAB_ROOTFS)
  --no-net             no network device
  --console FILE       write the full serial console (kernel log) to FILE`;

export default defineCommand({
  summary: "boot the guest, run a command as root in it, exit with its code",
  usage: `usage: lab run [options] -- CMD [ARGS...]

Boots the lab guest, runs CMD as root (cwd /, the driver loaded when
devices > 0), streams its stdout and stderr separately, powers off and
exits with CMD's exit code: 124 on --timeout, 255 when the guest kernel
panics (an oops too) or QEMU dies. A kernel checker report on the console
(lockdep, KASAN, KFENCE, UBSAN, sleeping in atomic context, a hung task:
see --kernel debug) is printed and fails the run (exit 1 if CMD exited 0).
Standard input is passed through when it is not a terminal.

${vmOptionsHelp}
  --cwd DIR            the command's working directory in the guest (default /)`,
  options: vmOptionSpecs,
  command: true,
  async run({ values, command }) {
    const args = vmArgsFrom(values, command, true);
    const stdin = process.stdin.isTTY ? null : process.stdin;
    // Ctrl-C or a SIGTERM: kill QEMU, clean up, exit 130.
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      const r = await runGuest(args, {
        stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        signal: abort.signal,
      });
      // Each kernel checker report in full (its first lines), then the verdict.
      for (const s of r.splats) info(formatSplat(s, s.during));
      if (r.reason) info(r.reason);
      return r.code;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      stdin?.destroy();
    }
  },
});
