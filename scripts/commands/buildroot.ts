import { defineCommand } from "../lib/command.ts";
import { UsageError } from "../lib/errors.ts";

export default defineCommand({
  summary: "the Buildroot guest's configuration: menuconfig (saved in the repo), make passthrough",
  usage: `usage: lab buildroot [--buildroot PATH] menuconfig
       lab buildroot [--buildroot PATH] make TARGET...

The Buildroot guest (\`--rootfs buildroot\`) is built from vm/buildroot
(configs/lab_defconfig). \`menuconfig\` opens Buildroot's menuconfig on that
configuration; on exit the options you changed are saved to
vm/buildroot/configs/lab_menuconfig.fragment (commit it to share them), and
the next \`lab build rootfs-buildroot\` builds with them, e.g. strace or
gdb added for debugging. Remove the file to go back to lab_defconfig.
\`make\` runs any other Buildroot target on the lab's output folder
(busybox-menuconfig, legal-info, graph-depends, show-info...).

  --buildroot PATH  the Buildroot tree or tarball (default $LAB_BUILDROOT)`,
  options: { buildroot: { type: "string" } },
  positionals: true,
  async run({ values, positionals }) {
    const [sub, ...rest] = positionals;
    const m = await import("../build/buildroot/interactive.ts");
    if (sub === "menuconfig" && rest.length === 0) return m.menuconfig(values.buildroot);
    if (sub === "make" && rest.length) return m.makePassthrough(rest, values.buildroot);
    throw new UsageError("lab buildroot: menuconfig, or make TARGET...");
  },
});
