/** `chat client`: connects (checking the host key), logs in, runs a script or the TTY UI. */
import { readFileSync } from "node:fs";
import { ChatError, ChatUsageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { common, defaultKnownHostsPath, num, suitesOf, type Values } from "./options.ts";

/** How the client checks the server's host key: a pinned key, else the known-hosts file. */
async function hostKeyPolicy(v: Values, log: Logger) {
  const { KnownHostsFile, pinnedHostKey } = await import("../client/host-keys.ts");
  const pin = v["host-key"] ?? process.env.CHAT_HOST_KEY;
  if (pin) return pinnedHostKey(pin);
  return new KnownHostsFile(
    v["known-hosts"] ?? process.env.CHAT_KNOWN_HOSTS ?? defaultKnownHostsPath(),
    {
      acceptNew: !v["strict-host-key"],
      onNew: (id, fp, path) =>
        log.warn(`new server ${id}: host key ${fp} recorded in ${path} (trust on first use)`),
    },
  );
}

function passwordOf(v: Values): string | undefined {
  if (v.password !== undefined)
    throw new ChatUsageError(
      "--password would show in ps: give it in CHAT_PASSWORD or the first line of --password-file",
    );
  if (v["password-file"]) {
    const text = readFileSync(v["password-file"], "utf8");
    return text.split(/\r?\n/)[0];
  }
  return process.env.CHAT_PASSWORD;
}

export async function client(v: Values): Promise<number> {
  const password = passwordOf(v);
  const c = await common(v, "client");
  const { connectClassic, connectSecure } = await import("../client/backends.ts");
  let backend;
  try {
    backend =
      c.mode === "secure"
        ? await connectSecure({
            host: c.host,
            port: c.port,
            provider: c.provider,
            hostKeys: await hostKeyPolicy(v, c.log),
            suites: suitesOf(v.suites ?? process.env.CHAT_SUITES),
          })
        : await connectClassic({
            host: c.host,
            port: c.port,
            provider: c.provider,
            key: c.key!,
            iv: c.iv!,
          });
  } catch (e) {
    await c.provider.close();
    throw e;
  }
  try {
    const script = v.script ?? (process.stdin.isTTY ? undefined : "-");
    if (v.user && password === undefined)
      throw new ChatUsageError("--user needs the password in CHAT_PASSWORD or --password-file");
    if (v.user && password !== undefined) {
      if (v.register) {
        const r = await backend.exec({ op: "register", user: v.user, password });
        if (!r.ok && r.error.code !== "user_exists") c.log.warn(`register: ${r.error.message}`);
      }
      const r = await backend.exec({ op: "login", user: v.user, password });
      if (!r.ok)
        throw new ChatError(
          r.error.code === "too_many" ? "too_many" : "auth_failed",
          `login as ${v.user}: ${r.error.message}`,
        );
    }
    if (script !== undefined) {
      const { runScript } = await import("../client/scripted.ts");
      return await runScript(backend, { source: script, lingerMs: num(v.linger, "linger", 0) });
    }
    const { runInteractive } = await import("../client/interactive.ts");
    return await runInteractive(
      backend,
      `connected to ${c.host}:${c.port} (${c.mode} mode, ${c.provider.name} crypto` +
        `${"serverKey" in backend ? `, server key ${String(backend.serverKey)}` : ""})`,
    );
  } finally {
    await c.provider.close();
  }
}
