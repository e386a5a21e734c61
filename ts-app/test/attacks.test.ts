/**
 * Attacks on secure mode, as scripts written from the protocol's
 * description would run them against a server on 127.0.0.1:
 *
 * - offline guessing: a peer that knows no secret records one handshake,
 *   then checks passphrase guesses against it without talking to the server;
 * - a recording relay: every byte of alice's session is recorded; later the
 *   attacker learns the long-term secret and tries to read the recording.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createNodeProvider } from "../src/crypto/node.ts";
import { FrameKind, FrameReader, type Frame } from "../src/protocol/frames.ts";
import {
  deriveMaster,
  deriveSessionKeys,
  encodeClientHello,
  newNonce,
  open,
  parseClientHello,
  parseServerHello,
  serverConfirm,
} from "../src/protocol/secure.ts";
import { SecureClient } from "../src/client/secure-client.ts";
import { master, passphrase, rawSocket, startServer, type Running } from "./helpers.ts";

let srv: Running | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

const p = createNodeProvider();
const guesses = ["123456", "password", "letmein", "hunter2", "dragon", passphrase, "qwerty"];

/** A TCP relay between a client and `port` that records both directions. */
async function recordingRelay(port: number) {
  const c2s: Buffer[] = [];
  const s2c: Buffer[] = [];
  const server: Server = createServer((down: Socket) => {
    const up = connect({ host: "127.0.0.1", port });
    down.on("data", (d: Buffer) => {
      c2s.push(d);
      up.write(d);
    });
    up.on("data", (d: Buffer) => {
      s2c.push(d);
      down.write(d);
    });
    down.on("end", () => up.end());
    up.on("end", () => down.end());
    down.on("error", () => up.destroy());
    up.on("error", () => down.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("no relay address");
  return {
    port: addr.port,
    recording: () => ({
      c2s: new FrameReader().push(Buffer.concat(c2s)),
      s2c: new FrameReader().push(Buffer.concat(s2c)),
    }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** What a peer with no secret gets: the server's answer to its own hello. */
async function recordHandshake(port: number): Promise<{ mine: Frame; theirs: Frame }> {
  const s = await rawSocket(port);
  const mine = encodeClientHello(newNonce());
  s.write(mine);
  const reply = await new Promise<Buffer>((r) => s.once("data", (d: Buffer) => r(d)));
  s.destroy();
  return {
    mine: new FrameReader().push(mine)[0]!,
    theirs: new FrameReader().push(reply)[0]!,
  };
}

/** Offline: the first guess the recorded handshake confirms, if any. */
async function checkGuesses(h: { mine: Frame; theirs: Frame }): Promise<string | undefined> {
  const clientNonce = parseClientHello(h.mine);
  const { nonce, confirm } = parseServerHello(h.theirs);
  for (const g of guesses) {
    const keys = await deriveSessionKeys(p, await deriveMaster(g), clientNonce, nonce);
    if ((await serverConfirm(p, keys, clientNonce, nonce)).equals(confirm)) return g;
  }
  return undefined;
}

describe("attacks on secure mode", () => {
  it("offline guessing: a recorded handshake does not let a script check guesses", async () => {
    srv = await startServer();
    const found = await checkGuesses(await recordHandshake(srv.port));
    expect(found, "a guess was confirmed offline").toBeUndefined();
  });

  it("recording relay: the long-term secret learnt later does not decrypt the recording", async () => {
    srv = await startServer();
    const relay = await recordingRelay(srv.port);
    const alice = await SecureClient.connect({
      host: "127.0.0.1",
      port: relay.port,
      provider: p,
      master: await master(),
    });
    await alice.call("register", { user: "alice", password: "alice's secret" });
    await alice.call("login", { user: "alice", password: "alice's secret" });
    await alice.call("createChannel", { channel: "diary" });
    await alice.call("send", { channel: "diary", text: "meet at noon" });
    await alice.close();
    await relay.close();
    const rec = relay.recording();

    // Later: the attacker learns the long-term secret (here, the passphrase).
    const clientNonce = parseClientHello(rec.c2s[0]!);
    const { nonce } = parseServerHello(rec.s2c[0]!);
    const keys = await deriveSessionKeys(p, await deriveMaster(passphrase), clientNonce, nonce);
    const read: string[] = [];
    let seq = 0;
    for (const f of rec.c2s.filter((x) => x.kind === FrameKind.SEALED)) {
      try {
        read.push((await open(p, keys.c2s, seq++, f)).toString());
      } catch {
        // not readable with this secret
      }
    }
    expect(read.join("\n"), "the recording was decrypted").not.toMatch(/alice's secret|noon/);
  });
});
