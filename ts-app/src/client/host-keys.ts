/**
 * How a client decides that a server's host key (the Ed25519 key that signed
 * the handshake) is the right one for the address it dialled:
 *
 * - `KnownHostsFile`: like SSH's known_hosts. One line per server,
 *   `HOST:PORT ed25519 BASE64KEY` (`[ADDR]:PORT` for IPv6), `#` comments.
 *   A recorded key must match (else `host_key_mismatch`: someone may be in
 *   the middle, or the server's key changed; the line must then be removed
 *   by hand). An unknown server is recorded on first use (`acceptNew`) or
 *   refused (`unknown_host_key`). The file is private (private-file.ts).
 * - `pinnedHostKey(fingerprint)`: only that key (`SHA256:...`, as the
 *   server prints it at start), for scripts and first connections made safe.
 * - `trustOnFirstUse()`: first use per address within this process only;
 *   for tests, demos and benchmarks that start the server themselves.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { ChatError } from "../errors.ts";
import { preparePrivateFile } from "../private-file.ts";
import { fingerprint } from "../protocol/keys.ts";

export interface HostKeyPolicy {
  /** Accepts `key` for host:port, or throws ChatError host_key_mismatch / unknown_host_key. */
  check(host: string, port: number, key: Buffer): Promise<void>;
}

/** The name a server is recorded under. */
export function hostId(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function mismatch(id: string, key: Buffer, where: string): ChatError {
  return new ChatError(
    "host_key_mismatch",
    `the server at ${id} presented key ${fingerprint(key)}, not the one ${where}: ` +
      "someone may be intercepting the connection, or the server's key changed",
  );
}

export function pinnedHostKey(expected: string): HostKeyPolicy {
  if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(expected))
    throw new ChatError(
      "bad_request",
      `host key fingerprint '${expected}' is not SHA256:<43 base64>`,
    );
  return {
    async check(host, port, key) {
      if (fingerprint(key) !== expected)
        throw mismatch(hostId(host, port), key, `pinned (${expected})`);
    },
  };
}

export function trustOnFirstUse(): HostKeyPolicy {
  const seen = new Map<string, Buffer>();
  return {
    async check(host, port, key) {
      const id = hostId(host, port);
      const known = seen.get(id);
      if (!known) seen.set(id, Buffer.from(key));
      else if (!known.equals(key)) throw mismatch(id, key, "this process saw first");
    },
  };
}

export interface KnownHostsOptions {
  /** Record an unknown server's key (trust on first use); otherwise refuse it. */
  acceptNew: boolean;
  /** Told when a new key was recorded. */
  onNew?: (id: string, fingerprint: string, path: string) => void;
}

export class KnownHostsFile implements HostKeyPolicy {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly opts: KnownHostsOptions,
  ) {}

  check(host: string, port: number, key: Buffer): Promise<void> {
    const run = this.chain.then(() => this.checkNow(hostId(host, port), key));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The keys recorded for `id`, with their line numbers. */
  lookup(id: string): { key: Buffer; line: number }[] {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    const out: { key: Buffer; line: number }[] = [];
    text.split("\n").forEach((l, i) => {
      const [name, type, b64] = l.trim().split(/\s+/);
      if (name !== id || type !== "ed25519" || !b64) return;
      const key = Buffer.from(b64, "base64");
      if (key.length === 32) out.push({ key, line: i + 1 });
    });
    return out;
  }

  private async checkNow(id: string, key: Buffer): Promise<void> {
    preparePrivateFile(this.path);
    const known = this.lookup(id);
    if (known.some((k) => k.key.equals(key))) return;
    if (known.length) throw mismatch(id, key, `recorded in ${this.path} line ${known[0]!.line}`);
    if (!this.opts.acceptNew)
      throw new ChatError(
        "unknown_host_key",
        `no key known for ${id} in ${this.path} (its key is ${fingerprint(key)}); ` +
          "pin it with --host-key, or allow first use",
      );
    appendFileSync(this.path, `${id} ed25519 ${key.toString("base64")}\n`);
    this.opts.onNew?.(id, fingerprint(key), this.path);
  }
}
