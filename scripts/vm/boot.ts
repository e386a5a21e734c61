import type { Socket } from "node:net";
import { launch, serveCtl, startQmp } from "./launch.ts";
import type { VmArgs } from "./options.ts";

/**
 * `bootGuest`: the guest with its serial console on this terminal (QEMU's
 * stdio mux; Ctrl-A X quits). Resolves with QEMU's exit code.
 */
export async function bootGuest(args: VmArgs): Promise<number> {
  const g = await launch(args, "boot", true);
  try {
    const conns = await Promise.race([g.sockets, g.exit.then(() => undefined)]);
    if (conns) serveCtl(conns.get("lab.ctl") as Socket, startQmp(conns.get("qmp") as Socket));
    const ex = await g.exit;
    return ex.code === -1 ? 255 : (ex.code ?? (ex.signal ? 128 : 1));
  } finally {
    await g.dispose();
  }
}
