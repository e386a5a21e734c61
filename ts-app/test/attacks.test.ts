/**
 * Attacks on secure mode, as scripts written from the protocol's
 * description would run them against a server on 127.0.0.1:
 *
 * - offline guessing: an outsider records handshakes (its own, and alice's
 *   login through a relay), then checks password guesses against them
 *   without talking to the server;
 * - a recording relay: every byte of alice's session is recorded; later the
 *   attacker learns every long-term secret (the server's host key, alice's
 *   password, the database) and tries to read the recording.
 *
 * Against v1 both succeeded (the passphrase-derived keys; commit "failing
 * tests for issue 18"). In v2 the record keys come from an ephemeral X25519
 * exchange: the checks below, which do open the recording with the
 * session's real keys (the control), open nothing with any guess or any
 * long-term secret.
 */
import { createHash, diffieHellman, createPrivateKey, createPublicKey } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createNodeProvider } from "../src/crypto/node.ts";
import { FrameKind, FrameReader, type Frame } from "../src/protocol/frames.ts";
import {
  parseClientHello,
  parseServerHello,
  startClientHandshake,
} from "../src/protocol/handshake.ts";
import { HostKey } from "../src/protocol/keys.ts";
import {
  deriveSessionKeys,
  hkdf,
  isSuite,
  open,
  type SessionKeys,
} from "../src/protocol/secure.ts";
import { rawSecure, rawSocket, startServer, type Running } from "./helpers.ts";

let srv: Running | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

const p = createNodeProvider();
const password = "correct horse";
const guesses = ["123456", "password", "letmein", "hunter2", "dragon", password, "qwerty"];

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
      c2sRaw: Buffer.concat(c2s),
      c2s: new FrameReader().push(Buffer.concat(c2s)),
      s2c: new FrameReader().push(Buffer.concat(s2c)),
    }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** alice registers, logs in and writes in her diary, through a recording relay. */
async function recordAlice(port: number) {
  const relay = await recordingRelay(port);
  const r = await rawSecure(relay.port);
  const got = new Promise<void>((res) => {
    const reader = new FrameReader();
    let n = 0;
    r.socket.on("data", (d: Buffer) => {
      n += reader.push(d).length;
      if (n >= 4) res();
    });
  });
  r.socket.write(
    Buffer.concat([
      await r.seal({ id: 1, op: "register", user: "alice", password }),
      await r.seal({ id: 2, op: "login", user: "alice", password }),
      await r.seal({ id: 3, op: "createChannel", channel: "diary" }),
      await r.seal({ id: 4, op: "send", channel: "diary", text: "meet at noon" }),
    ]),
  );
  await got;
  r.socket.end(await r.alert("close"));
  await new Promise((res) => r.socket.once("close", res));
  await relay.close();
  return { rec: relay.recording(), sessionKeys: r.keys };
}

/** Every client record of the recording that `keys` opens, as text. */
async function readWith(keys: SessionKeys, frames: Frame[]): Promise<string[]> {
  const out: string[] = [];
  let seq = 0;
  for (const f of frames.filter((x) => x.kind === FrameKind.SEALED)) {
    try {
      out.push((await open(p, keys.c2s, seq++, f)).body.toString());
    } catch {
      // not this session's keys
    }
  }
  return out;
}

const sha256 = (...parts: Buffer[]) => createHash("sha256").update(Buffer.concat(parts)).digest();

/**
 * Session keys an attacker can compute from a secret `s` and the recorded
 * hellos: `s` in place of the X25519 secret, scrypt-style as v1 did (HKDF
 * from the secret with the randoms), and `s` with the transcript as salt.
 */
async function candidateKeys(s: Buffer, ch: Frame, sh: Frame): Promise<SessionKeys[]> {
  const th = sha256(ch.raw, sh.raw);
  const randoms = Buffer.concat([parseClientHello(ch).random, parseServerHello(sh).random]);
  const v1 = await hkdf(p, s, randoms, Buffer.from("cryptodev-lab chat v1 keys"), 96);
  // keys of the suite the recorded handshake settled (the one its frames use)
  const suite = parseServerHello(sh).suite;
  if (!isSuite(suite)) throw new Error(`recorded suite ${suite}`);
  return [
    await deriveSessionKeys(p, suite, s, th),
    await deriveSessionKeys(p, suite, sha256(s), th),
    {
      c2s: { enc: v1.subarray(0, 16), mac: v1.subarray(32, 64) },
      s2c: { enc: v1.subarray(16, 32), mac: v1.subarray(64, 96) },
    },
  ];
}

describe("attacks on secure mode", () => {
  it("offline guessing: a recorded handshake does not let a script check guesses", async () => {
    srv = await startServer();
    // An outsider's own handshake: the server's answer, without any secret.
    const s = await rawSocket(srv.port);
    const hs = startClientHandshake();
    s.write(hs.hello);
    const reply = await new Promise<Buffer>((r) => s.once("data", (d: Buffer) => r(d)));
    s.destroy();
    const own = { ch: new FrameReader().push(hs.hello)[0]!, sh: new FrameReader().push(reply)[0]! };
    // The server's hello carries nothing a password shapes.
    expect(own.sh.raw.includes(Buffer.from(password))).toBe(false);

    // alice's recorded login: her password is inside the first frames.
    const { rec, sessionKeys } = await recordAlice(srv.port);
    const control = await readWith(sessionKeys, rec.c2s);
    expect(control.join("\n")).toContain(`"password":"${password}"`); // the check works
    expect(rec.c2sRaw.includes(Buffer.from(password))).toBe(false);

    const confirmed: string[] = [];
    for (const g of guesses)
      for (const keys of await candidateKeys(Buffer.from(g), rec.c2s[0]!, rec.s2c[0]!))
        if ((await readWith(keys, rec.c2s)).length) confirmed.push(g);
    expect(confirmed, "a guess was confirmed offline").toEqual([]);
  });

  it("recording relay: the long-term secrets learnt later do not decrypt the recording", async () => {
    const hostKey = HostKey.generate();
    srv = await startServer({ hostKey });
    const { rec, sessionKeys } = await recordAlice(srv.port);
    expect((await readWith(sessionKeys, rec.c2s)).join("\n")).toMatch(/meet at noon/);

    // Later: the attacker learns every long-term secret there is.
    const ch = rec.c2s[0]!;
    const sh = rec.s2c[0]!;
    const hostPrivate = createPrivateKey({ key: hostKey.pkcs8(), format: "der", type: "pkcs8" });
    const secrets = [
      hostKey.pkcs8(),
      Buffer.from(hostPrivate.export({ format: "jwk" }).d!, "base64url"),
      Buffer.from(password),
    ];
    // The host key's seed as an X25519 scalar, against both recorded shares.
    const seed = secrets[1]!;
    const x25519Priv = createPrivateKey({
      key: Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), seed]),
      format: "der",
      type: "pkcs8",
    });
    for (const share of [parseClientHello(ch).share, parseServerHello(sh).share]) {
      const pub = createPublicKey({
        key: Buffer.concat([Buffer.from("302a300506032b656e032100", "hex"), share]),
        format: "der",
        type: "spki",
      });
      secrets.push(diffieHellman({ privateKey: x25519Priv, publicKey: pub }));
    }
    const read: string[] = [];
    for (const s of secrets)
      for (const keys of await candidateKeys(s, ch, sh))
        read.push(...(await readWith(keys, rec.c2s)));
    expect(read.join("\n"), "the recording was decrypted").not.toMatch(/correct horse|noon/);
  });
});
