/**
 * Secure mode v2, the handshake: an ephemeral X25519 exchange whose
 * transcript the server signs with its long-term Ed25519 host key (the SSH
 * and TLS 1.3 pattern: signed Diffie-Hellman). The client checks that key
 * against the one it pinned for the server (known-hosts file, trust on
 * first use: see client/host-keys.ts). Users then log in with a password
 * inside the encrypted channel.
 *
 * Both hellos are clear frames of kind HELLO (after the 4-byte length and
 * the kind byte):
 *
 *   client hello                        server hello
 *   u8  version = 2                     u8  version = 2
 *   u8  mode = 1 (secure)               u8  mode = 1
 *   u8  n, u8 suites[n] (1..8)          u8  suite (one of the client's)
 *   u8  random[32]                      u8  random[32]
 *   u8  share[32]  (X25519 public)      u8  share[32]  (X25519 public)
 *                                       u8  hostKey[32] (Ed25519 public)
 *                                       u8  signature[64]
 *
 *   signature = Ed25519(hostKey, "cryptodev-lab chat v2 server signature\0"
 *                                || SHA-256(CH || SH'))
 *
 * CH is the client hello frame as sent, SH' the server hello frame up to
 * the signature (length prefixes included), so version, mode, the offered
 * and chosen suites, both shares and the host key are all signed: changing
 * any byte in transit makes the client refuse the signature.
 *
 * Keys: shared = X25519(own ephemeral, peer share) (an all-zero result is
 * refused); th = SHA-256(CH || SH); okm = HKDF-SHA256(ikm = shared, salt =
 * th, info = "cryptodev-lab chat v2 keys" || suite, 96 or 56 bytes), split by the
 * suite (protocol/secure.ts). The HKDF's HMACs run through the crypto
 * provider; X25519, Ed25519 and SHA-256 in node:crypto. The ephemeral
 * private keys live only in the handshake's scope: once both sides have
 * dropped them, nothing stored anywhere (host key, passwords, database)
 * recovers a session's keys (forward secrecy).
 *
 * There is no Finished message: the record keys depend on the whole
 * transcript, so the first sealed frame each way is the key confirmation
 * (a peer with another transcript fails its MAC, `bad_mac`).
 */
import { createHash, randomBytes } from "node:crypto";
import type { CryptoProvider } from "../crypto/provider.ts";
import { ChatError } from "../errors.ts";
import { FrameKind, encodeFrame, framePayload, type Frame } from "./frames.ts";
import {
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  newEphemeral,
  verifySignature,
  x25519,
  type Ephemeral,
  type HostKey,
} from "./keys.ts";
import {
  defaultSuites,
  deriveSessionKeys,
  isSuite,
  suites,
  type SessionKeys,
  type Suite,
} from "./secure.ts";

export const PROTOCOL_VERSION = 2;
/** The wire mode bound into the transcript (classic mode has no handshake). */
export const MODE_SECURE = 1;
export const RANDOM_BYTES = 32;
const MAX_SUITES = 8;
const SIGNATURE_CONTEXT = Buffer.from("cryptodev-lab chat v2 server signature\0");

/** Sizes of the hello payloads (after the kind byte). */
export const serverHelloBytes = 3 + RANDOM_BYTES + 2 * PUBLIC_KEY_BYTES + SIGNATURE_BYTES;
export const clientHelloBytes = (nSuites: number) => 3 + nSuites + RANDOM_BYTES + PUBLIC_KEY_BYTES;
/** The largest frame a peer may send before the handshake is done. */
export const MAX_HELLO_FRAME = 1 + clientHelloBytes(MAX_SUITES);

export interface ClientHello {
  version: number;
  mode: number;
  suites: number[];
  random: Buffer;
  share: Buffer;
}

export interface ServerHello {
  version: number;
  mode: number;
  suite: number;
  random: Buffer;
  share: Buffer;
  hostKey: Buffer;
  signature: Buffer;
}

function checkVersionAndMode(version: number, mode: number, who: string): void {
  if (version !== PROTOCOL_VERSION)
    throw new ChatError(
      "bad_hello",
      `${who} speaks protocol version ${version}; this side speaks ${PROTOCOL_VERSION}`,
    );
  if (mode !== MODE_SECURE)
    throw new ChatError("bad_hello", `${who} asks for wire mode ${mode}, not secure (1)`);
}

export function encodeClientHello(h: ClientHello): Buffer {
  return encodeFrame(
    FrameKind.HELLO,
    Buffer.concat([
      Buffer.from([h.version, h.mode, h.suites.length, ...h.suites]),
      h.random,
      h.share,
    ]),
  );
}

export function parseClientHello(f: Frame): ClientHello {
  const p = framePayload(f);
  if (f.kind !== FrameKind.HELLO || p.length < 3)
    throw new ChatError("bad_hello", "expected a client hello frame");
  const [version, mode, n] = [p[0]!, p[1]!, p[2]!];
  checkVersionAndMode(version, mode, "the client");
  if (n < 1 || n > MAX_SUITES || p.length !== clientHelloBytes(n))
    throw new ChatError("bad_hello", "malformed client hello");
  let o = 3;
  const suiteList = [...p.subarray(o, (o += n))];
  const random = Buffer.from(p.subarray(o, (o += RANDOM_BYTES)));
  const share = Buffer.from(p.subarray(o, (o += PUBLIC_KEY_BYTES)));
  return { version, mode, suites: suiteList, random, share };
}

export function encodeServerHello(h: ServerHello): Buffer {
  return encodeFrame(
    FrameKind.HELLO,
    Buffer.concat([
      Buffer.from([h.version, h.mode, h.suite]),
      h.random,
      h.share,
      h.hostKey,
      h.signature,
    ]),
  );
}

export function parseServerHello(f: Frame): ServerHello {
  const p = framePayload(f);
  if (f.kind !== FrameKind.HELLO || p.length < 2)
    throw new ChatError("bad_hello", "expected a server hello frame");
  checkVersionAndMode(p[0]!, p[1]!, "the server");
  if (p.length !== serverHelloBytes) throw new ChatError("bad_hello", "malformed server hello");
  let o = 3;
  const take = (n: number) => Buffer.from(p.subarray(o, (o += n)));
  return {
    version: p[0]!,
    mode: p[1]!,
    suite: p[2]!,
    random: take(RANDOM_BYTES),
    share: take(PUBLIC_KEY_BYTES),
    hostKey: take(PUBLIC_KEY_BYTES),
    signature: take(SIGNATURE_BYTES),
  };
}

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** What the host key signs: the context string and the hash of CH || SH'. */
export function signedData(clientHelloRaw: Buffer, serverHelloUnsigned: Buffer): Buffer {
  return Buffer.concat([SIGNATURE_CONTEXT, sha256(clientHelloRaw, serverHelloUnsigned)]);
}

/** The server's view of a completed handshake. */
export interface ServerHandshake {
  reply: Buffer;
  keys: SessionKeys;
  suite: Suite;
}

/** Every suite this side implements (a server accepts these unless told otherwise). */
export const allSuites = Object.keys(suites).map(Number).filter(isSuite);

/**
 * Answers a client hello: picks the first of the client's suites that is
 * in `accept` (default: every suite implemented), signs the transcript,
 * derives the session keys. Throws ChatError("bad_hello") for a malformed
 * or unacceptable hello.
 */
export async function serverHandshake(
  p: CryptoProvider,
  hostKey: HostKey,
  clientHello: Frame,
  accept: readonly Suite[] = allSuites,
): Promise<ServerHandshake> {
  const ch = parseClientHello(clientHello);
  const suite = ch.suites.find((s): s is Suite => isSuite(s) && accept.includes(s));
  if (suite === undefined)
    throw new ChatError("bad_hello", `no common cipher suite (offered ${ch.suites.join(",")})`);
  const eph = newEphemeral();
  const shared = x25519(eph, ch.share);
  const unsigned = encodeServerHello({
    version: PROTOCOL_VERSION,
    mode: MODE_SECURE,
    suite,
    random: randomBytes(RANDOM_BYTES),
    share: eph.publicKey,
    hostKey: hostKey.publicKey,
    signature: Buffer.alloc(SIGNATURE_BYTES),
  }).subarray(0, -SIGNATURE_BYTES);
  const signature = hostKey.sign(signedData(clientHello.raw, unsigned));
  const reply = Buffer.concat([unsigned, signature]);
  const keys = await deriveSessionKeys(p, suite, shared, sha256(clientHello.raw, reply));
  return { reply, keys, suite };
}

/** A client's handshake in progress: its hello and ephemeral key. */
export interface ClientHandshake {
  hello: Buffer;
  ephemeral: Ephemeral;
  suites: Suite[];
}

export function startClientHandshake(offer: Suite[] = defaultSuites): ClientHandshake {
  const ephemeral = newEphemeral();
  const hello = encodeClientHello({
    version: PROTOCOL_VERSION,
    mode: MODE_SECURE,
    suites: offer,
    random: randomBytes(RANDOM_BYTES),
    share: ephemeral.publicKey,
  });
  return { hello, ephemeral, suites: offer };
}

/** The client's view of a completed handshake; `hostKey` is still to be checked against a pin. */
export interface ClientResult {
  keys: SessionKeys;
  suite: Suite;
  hostKey: Buffer;
}

/**
 * Checks the server hello (version, mode, a suite the client offered, the
 * host key's signature over the transcript) and derives the session keys.
 * Throws ChatError bad_hello / bad_signature.
 */
export async function finishClientHandshake(
  p: CryptoProvider,
  hs: ClientHandshake,
  serverHello: Frame,
): Promise<ClientResult> {
  const sh = parseServerHello(serverHello);
  const suite = hs.suites.find((s) => s === sh.suite);
  if (suite === undefined)
    throw new ChatError("bad_hello", `the server chose suite ${sh.suite}, which was not offered`);
  const unsigned = serverHello.raw.subarray(0, -SIGNATURE_BYTES);
  if (!verifySignature(sh.hostKey, signedData(hs.hello, unsigned), sh.signature))
    throw new ChatError(
      "bad_signature",
      "the server's handshake signature does not verify: the hello was altered in transit",
    );
  const shared = x25519(hs.ephemeral, sh.share);
  const keys = await deriveSessionKeys(p, suite, shared, sha256(hs.hello, serverHello.raw));
  return { keys, suite, hostKey: sh.hostKey };
}
