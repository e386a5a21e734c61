import type { Socket } from "node:net";

/**
 * Half-closes `socket` (FIN after what is queued) and resolves once it is
 * closed, destroying it if the peer has not closed within `graceMs`.
 */
export function endSocket(socket: Socket, graceMs = 2000): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise<void>((r) => {
    socket.once("close", () => r());
    socket.end();
    setTimeout(() => {
      socket.destroy();
      r();
    }, graceMs).unref();
  });
}
