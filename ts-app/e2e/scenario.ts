/**
 * The end-to-end chat conversation of the demo and of chat.vm.test.ts,
 * played by three clients: alice (in the guest, crypto on /dev/cryptodev0),
 * bob (in the guest, on /dev/cryptodev1) and hana (on the host, node:crypto,
 * through the 127.0.0.1 forward). The same code runs on both sides: the
 * guest half is bundled into ts-app/dist/chat-scenario.mjs (`lab build app`).
 *
 * The two halves meet only through the chat server: each waits for the
 * other's messages by reading them (READ works in both wire modes), so no
 * other channel between host and guest is needed. Keeps to ts-app imports
 * (no scripts/lib): it runs in the guest.
 */
import {
  connectClassic,
  connectSecure,
  type ClientBackend,
  type Result,
} from "../src/client/backends.ts";
import type { ClientCommand } from "../src/client/commands.ts";
import type { HostKeyPolicy } from "../src/client/host-keys.ts";
import type { CryptoProvider } from "../src/crypto/provider.ts";
import type { Push } from "../src/protocol/messages.ts";

export type Mode = "secure" | "classic";
export type Speaker = "alice" | "bob" | "hana";

/** Classic mode fields are 8 bytes: short names and passwords. */
export const channel = "lab";
export const passwords: Record<Speaker, string> = {
  alice: "alice-pw",
  bob: "bob-pw",
  hana: "hana-pw",
};

/** The conversation, in message-id order. */
export const lines: readonly { user: Speaker; text: string }[] = [
  { user: "alice", text: "hello from alice, in the guest on /dev/cryptodev0" },
  { user: "bob", text: "hi alice, bob here, in the guest on /dev/cryptodev1" },
  { user: "hana", text: "greetings from hana on the host (node:crypto, via the forward)" },
  { user: "alice", text: "welcome hana: our cipher work went through the virtio device" },
];

export interface Seen {
  id: number;
  user: string;
  text: string;
}

/** What one client saw: the channel read back in full, and the ids pushed to it live. */
export interface ClientView {
  user: Speaker;
  crypto: string;
  messages: Seen[];
  pushed: number[];
}

export interface Connection {
  /** Server address and the mode's secrets. */
  host: string;
  port: number;
  mode: Mode;
  /** secure: how the server's host key is checked; classic: key and IV. */
  hostKeys?: HostKeyPolicy;
  key?: Buffer;
  iv?: Buffer;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A logged-in client that records the message ids pushed to it. */
export class Participant {
  readonly pushed: number[] = [];

  private constructor(
    readonly user: Speaker,
    readonly crypto: string,
    readonly backend: ClientBackend,
  ) {
    backend.onPush((p: Push) => {
      if (p.push === "message" && p.channel === channel) this.pushed.push(p.message.id);
    });
  }

  static async connect(user: Speaker, c: Connection, provider: CryptoProvider, crypto: string) {
    const backend =
      c.mode === "secure"
        ? await connectSecure({
            host: c.host,
            port: c.port,
            provider,
            hostKeys: need(c.hostKeys, "hostKeys"),
          })
        : await connectClassic({
            host: c.host,
            port: c.port,
            provider,
            key: need(c.key, "key"),
            iv: need(c.iv, "iv"),
          });
    return new Participant(user, crypto, backend);
  }

  /** Runs a command; throws on an error answer unless its code is in `allow`. */
  async do(cmd: ClientCommand, allow: readonly string[] = []): Promise<Result> {
    const r = await this.backend.exec(cmd);
    if (
      !r.ok &&
      !allow.includes(r.error.code) &&
      !(r.error.code === "server_failure" && allow.length)
    )
      throw new Error(`${this.user}: ${cmd.op} failed: ${r.error.code}: ${r.error.message}`);
    return r;
  }

  login(): Promise<Result> {
    return this.do({ op: "login", user: this.user, password: passwords[this.user] });
  }

  /** Message `id` of the channel, or undefined while it does not exist. */
  async read(id: number): Promise<Seen | undefined> {
    const r = await this.backend.exec({ op: "read", channel, msgId: id });
    if (!r.ok) return undefined;
    const m = r.message as { user?: string; text?: string } | undefined;
    return { id, user: m?.user ?? "", text: m?.text ?? "" };
  }

  /** Polls until message `id` exists (the other side wrote it). */
  async waitFor(id: number, timeoutMs: number, signal?: AbortSignal): Promise<Seen> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      signal?.throwIfAborted();
      const m = await this.read(id);
      if (m) return m;
      if (Date.now() > deadline)
        throw new Error(`${this.user}: message ${id} did not arrive within ${timeoutMs / 1000}s`);
      await sleep(200);
    }
  }

  async send(index: number): Promise<void> {
    const line = lines[index];
    if (!line || line.user !== this.user) throw new Error(`line ${index} is not ${this.user}'s`);
    const r = await this.do({ op: "send", channel, text: line.text });
    const msgId = r.ok ? r.msgId : undefined;
    if (typeof msgId === "number" && msgId !== index)
      throw new Error(`${this.user}: expected message id ${index}, the server gave ${msgId}`);
  }

  async view(): Promise<ClientView> {
    const messages: Seen[] = [];
    for (let i = 0; i < lines.length; i++) messages.push(await this.waitFor(i, 10_000));
    return {
      user: this.user,
      crypto: this.crypto,
      messages,
      pushed: [...this.pushed].sort((a, b) => a - b),
    };
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`scenario: missing ${what}`);
  return v;
}

/**
 * The guest half: alice registers everyone, creates the channel and adds
 * bob and hana; alice and bob speak, wait for hana, and alice answers.
 */
export async function playGuest(
  c: Connection,
  alice: { provider: CryptoProvider; crypto: string },
  bob: { provider: CryptoProvider; crypto: string },
  timeoutMs: number,
): Promise<ClientView[]> {
  const a = await Participant.connect("alice", c, alice.provider, alice.crypto);
  const b = await Participant.connect("bob", c, bob.provider, bob.crypto);
  try {
    for (const u of ["alice", "bob", "hana"] as const)
      await a.do({ op: "register", user: u, password: passwords[u] }, ["user_exists"]);
    await a.login();
    await a.do({ op: "createChannel", channel });
    await a.do({ op: "invite", channel, user: "bob" });
    await a.do({ op: "invite", channel, user: "hana" });
    await b.login();
    if (c.mode === "secure") {
      await b.do({ op: "accept", channel });
      await a.do({ op: "subscribe", channel });
      await b.do({ op: "subscribe", channel });
    }
    await a.send(0);
    await b.send(1);
    await a.waitFor(2, timeoutMs); // hana's, from the host
    await a.send(3);
    await b.waitFor(3, timeoutMs);
    return [await a.view(), await b.view()];
  } finally {
    await Promise.allSettled([a.close(), b.close()]);
  }
}

/**
 * The host half: hana connects once the guest's server answers, waits for
 * alice and bob, speaks, and waits for alice's answer.
 */
export async function playHost(
  c: Connection,
  provider: CryptoProvider,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ClientView> {
  const deadline = Date.now() + timeoutMs;
  let h: Participant | undefined;
  let loggedIn = false;
  let subscribed = c.mode === "classic"; // classic mode has no live delivery
  // The forward accepts before the guest's server listens: retry until a
  // handshake (secure) or a request (classic) gets through, and until
  // alice has registered hana, added her to the channel and spoken.
  for (;;) {
    signal?.throwIfAborted();
    try {
      h ??= await Participant.connect("hana", c, provider, "node:crypto (host)");
      // Registering herself (the same password alice uses) spares failed
      // logins, which the server would answer with a backoff.
      if (!loggedIn)
        await h.do({ op: "register", user: "hana", password: passwords.hana }, ["user_exists"]);
      if (!loggedIn)
        loggedIn = (await h.backend.exec({ op: "login", user: "hana", password: passwords.hana }))
          .ok;
      if (loggedIn && !subscribed && c.mode === "secure")
        await h.backend.exec({ op: "accept", channel });
      if (loggedIn && !subscribed)
        subscribed = (await h.backend.exec({ op: "subscribe", channel })).ok;
      if (loggedIn && subscribed && (await h.read(1))) break;
    } catch {
      // Not accepted yet, or closed under us: a new connection next time.
      await h?.close().catch(() => undefined);
      h = undefined;
      loggedIn = false;
      subscribed = c.mode === "classic";
    }
    if (Date.now() > deadline)
      throw new Error(`hana: the guest's chat was not ready within ${timeoutMs / 1000}s`);
    await sleep(500);
  }
  try {
    await h.send(2);
    await h.waitFor(3, Math.max(1000, deadline - Date.now()), signal);
    return await h.view();
  } finally {
    await h.close();
  }
}
