import { Socket } from "node:net";
import { LabError } from "../../lib/errors.ts";
import type { BenchConn } from "./harness.ts";

/** A minimal IRC client for the benchmark (RFC 2812: NICK, USER, JOIN, PRIVMSG, PING/PONG). */
export const ircChannel = "#bench";

/** One IRC client: registered, joined to the channel, answering PINGs. */
export async function ircConnect(port: number, i: number): Promise<BenchConn> {
  const sock = new Socket();
  sock.setNoDelay(true);
  const nick = `b${i}`;
  let buf = "";
  let pingSeq = 0;
  const pongWaiters = new Map<string, () => void>();
  let ready: (() => void) | undefined;
  let failed: ((e: Error) => void) | undefined;
  const conn: BenchConn = {
    onMessage: () => undefined,
    async send(text) {
      const token = `p${pingSeq++}`;
      const acked = new Promise<void>((resolve) => pongWaiters.set(token, resolve));
      sock.write(`PRIVMSG ${ircChannel} :${text}\r\nPING :${token}\r\n`);
      return acked;
    },
    async close() {
      await new Promise<void>((resolve) => {
        sock.once("close", () => resolve());
        sock.end("QUIT :done\r\n");
        setTimeout(() => sock.destroy(), 2000).unref();
      });
    },
  };
  const onLine = (line: string) => {
    // [":prefix "] COMMAND params [" :trailing"]
    let rest = line;
    if (rest.startsWith(":")) rest = rest.slice(rest.indexOf(" ") + 1);
    const sp = rest.indexOf(" ");
    const cmd = sp < 0 ? rest : rest.slice(0, sp);
    const colon = rest.indexOf(" :");
    const trailing = colon < 0 ? "" : rest.slice(colon + 2);
    if (cmd === "PING") sock.write(`PONG :${trailing}\r\n`);
    else if (cmd === "PONG") {
      const w = pongWaiters.get(trailing);
      if (w) {
        pongWaiters.delete(trailing);
        w();
      }
    } else if (cmd === "PRIVMSG") conn.onMessage(trailing);
    else if (cmd === "366")
      ready?.(); // end of NAMES: the JOIN is complete
    else if (/^[45]\d\d$/.test(cmd) || cmd === "ERROR") failed?.(new LabError(`ngircd: ${line}`));
  };
  sock.on("data", (d: Buffer) => {
    buf += d.toString("utf8");
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, nl).replace(/\r$/, ""));
      buf = buf.slice(nl + 1);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
    sock.once("error", reject);
    sock.connect(port, "127.0.0.1", () => {
      sock.write(`NICK ${nick}\r\nUSER ${nick} 0 * :lab bench\r\nJOIN ${ircChannel}\r\n`);
    });
    setTimeout(
      () => reject(new LabError(`ngircd: ${nick} not in ${ircChannel} after 20s`)),
      20_000,
    ).unref();
  });
  ready = undefined;
  failed = undefined;
  return conn;
}
