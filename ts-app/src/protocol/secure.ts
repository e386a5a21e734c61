/**
 * Secure mode, cryptography: key derivation, the handshake, and sealing
 * (encrypt-then-MAC) of frames. AES-128-CBC and HMAC-SHA256 run through the
 * CryptoProvider (node:crypto or the virtio device); scrypt and the random
 * bytes come from node:crypto.
 *
 * Keys. master = scrypt(passphrase, "cryptodev-lab chat v1", N=2^14, r=8,
 * p=1, 32 bytes), once per process. Per connection, HKDF-SHA256 (RFC 5869,
 * its HMACs through the provider) with salt = clientNonce || serverNonce and
 * info "cryptodev-lab chat v1 keys" gives 96 bytes: c2s AES key (16), s2c
 * AES key (16), c2s HMAC key (32), s2c HMAC key (32). Fresh nonces make
 * every connection's keys distinct, so frames replayed from another
 * connection fail their MAC.
 *
 * Handshake (clear frames, kind HELLO):
 *   client -> server: u8 version=1, u8 nonce[16]
 *   server -> client: u8 version=1, u8 nonce[16], u8 confirm[32]
 *     confirm = HMAC(s2cMac, "server confirm" || clientNonce || serverNonce),
 *     so a client with the wrong passphrase learns it at once.
 *
 * Sealed frame (kind SEALED), after the 4-byte length and the kind byte:
 *   u64 seq (big-endian)   0, 1, 2... per direction; anything else is "replay"
 *   u8  iv[16]             random per frame
 *   u8  ct[16*k], k >= 1   AES-128-CBC(key, iv, PKCS#7-padded UTF-8 JSON)
 *   u8  mac[32]            HMAC-SHA256(macKey, every byte before it, length
 *                          prefix included); compared in constant time
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { ChatError } from "../errors.ts";
import type { CryptoProvider } from "../crypto/provider.ts";
import {
  FrameKind,
  LENGTH_BYTES,
  MAX_FRAME,
  encodeFrame,
  framePayload,
  type Frame,
} from "./frames.ts";

export const PROTOCOL_VERSION = 1;
export const NONCE_BYTES = 16;
export const IV_BYTES = 16;
export const MAC_BYTES = 32;
export const SEQ_BYTES = 8;
const KDF_SALT = "cryptodev-lab chat v1";
const HKDF_INFO = "cryptodev-lab chat v1 keys";
/** Largest plaintext that fits a sealed frame (padding takes at least one byte). */
export const MAX_PLAINTEXT =
  Math.floor((MAX_FRAME - 1 - SEQ_BYTES - IV_BYTES - MAC_BYTES) / 16) * 16 - 1;

const scrypt = promisify(scryptCb) as (
  pw: string | Buffer,
  salt: string | Buffer,
  len: number,
  opts: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** The 32-byte master secret from the shared passphrase (scrypt, ~50 ms). */
export async function deriveMaster(passphrase: string): Promise<Buffer> {
  if (!passphrase) throw new ChatError("bad_request", "empty passphrase");
  return scrypt(passphrase, KDF_SALT, 32, { N: 1 << 14, r: 8, p: 1, maxmem: 64 << 20 });
}

/** HKDF-SHA256 (RFC 5869) with its HMACs through the provider. */
export async function hkdf(
  p: CryptoProvider,
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Buffer> {
  const prk = await p.hmacSha256(salt.length ? salt : Buffer.alloc(32), ikm);
  const out: Buffer[] = [];
  let prev: Buffer = Buffer.alloc(0);
  for (let i = 1; out.length * 32 < length; i++) {
    prev = await p.hmacSha256(prk, Buffer.concat([prev, info, Buffer.from([i])]));
    out.push(prev);
  }
  return Buffer.concat(out).subarray(0, length);
}

export interface DirectionKeys {
  enc: Buffer;
  mac: Buffer;
}
export interface SessionKeys {
  c2s: DirectionKeys;
  s2c: DirectionKeys;
}

export async function deriveSessionKeys(
  p: CryptoProvider,
  master: Buffer,
  clientNonce: Buffer,
  serverNonce: Buffer,
): Promise<SessionKeys> {
  const okm = await hkdf(
    p,
    master,
    Buffer.concat([clientNonce, serverNonce]),
    Buffer.from(HKDF_INFO),
    96,
  );
  return {
    c2s: { enc: okm.subarray(0, 16), mac: okm.subarray(32, 64) },
    s2c: { enc: okm.subarray(16, 32), mac: okm.subarray(64, 96) },
  };
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/**
 * Random IVs cut from a 4 KiB pool of CSPRNG output: one randomBytes call
 * per 256 frames instead of one per frame (it showed in fan-out profiles).
 */
let ivPool = Buffer.alloc(0);
let ivOffset = 0;
export function randomIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(4096);
    ivOffset = 0;
  }
  const iv = Buffer.from(ivPool.subarray(ivOffset, ivOffset + IV_BYTES));
  ivOffset += IV_BYTES;
  return iv;
}

export function encodeClientHello(nonce: Buffer): Buffer {
  return encodeFrame(FrameKind.HELLO, Buffer.concat([Buffer.from([PROTOCOL_VERSION]), nonce]));
}

export function parseClientHello(f: Frame): Buffer {
  const p = framePayload(f);
  if (f.kind !== FrameKind.HELLO || p.length !== 1 + NONCE_BYTES)
    throw new ChatError("bad_hello", "expected a client hello frame");
  if (p[0] !== PROTOCOL_VERSION)
    throw new ChatError(
      "bad_hello",
      `protocol version ${p[0]} not supported (want ${PROTOCOL_VERSION})`,
    );
  return Buffer.from(p.subarray(1));
}

export async function serverConfirm(
  p: CryptoProvider,
  keys: SessionKeys,
  clientNonce: Buffer,
  serverNonce: Buffer,
): Promise<Buffer> {
  return p.hmacSha256(
    keys.s2c.mac,
    Buffer.concat([Buffer.from("server confirm"), clientNonce, serverNonce]),
  );
}

export function encodeServerHello(nonce: Buffer, confirm: Buffer): Buffer {
  return encodeFrame(
    FrameKind.HELLO,
    Buffer.concat([Buffer.from([PROTOCOL_VERSION]), nonce, confirm]),
  );
}

export function parseServerHello(f: Frame): { nonce: Buffer; confirm: Buffer } {
  const p = framePayload(f);
  if (f.kind !== FrameKind.HELLO || p.length !== 1 + NONCE_BYTES + MAC_BYTES)
    throw new ChatError("bad_hello", "expected a server hello frame");
  if (p[0] !== PROTOCOL_VERSION)
    throw new ChatError(
      "bad_hello",
      `server speaks protocol version ${p[0]}, not ${PROTOCOL_VERSION}`,
    );
  return {
    nonce: Buffer.from(p.subarray(1, 1 + NONCE_BYTES)),
    confirm: Buffer.from(p.subarray(1 + NONCE_BYTES)),
  };
}

export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function pad(data: Uint8Array): Buffer {
  const n = 16 - (data.length % 16);
  return Buffer.concat([data, Buffer.alloc(n, n)]);
}

/** Removes PKCS#7 padding; undefined when it is malformed. */
export function unpad(data: Buffer): Buffer | undefined {
  const n = data[data.length - 1];
  if (n === undefined || n < 1 || n > 16 || n > data.length) return undefined;
  for (let i = data.length - n; i < data.length; i++) if (data[i] !== n) return undefined;
  return data.subarray(0, data.length - n);
}

/** Encrypts then MACs one plaintext into a complete frame with sequence `seq`. */
export async function seal(
  p: CryptoProvider,
  keys: DirectionKeys,
  seq: number,
  plaintext: Uint8Array,
  iv: Buffer = randomIv(),
): Promise<Buffer> {
  if (plaintext.length > MAX_PLAINTEXT)
    throw new ChatError("too_large", `message of ${plaintext.length} bytes over ${MAX_PLAINTEXT}`);
  const ct = await p.aesCbcEncrypt(keys.enc, iv, pad(plaintext));
  const bodyLen = 1 + SEQ_BYTES + IV_BYTES + ct.length + MAC_BYTES;
  const out = Buffer.alloc(LENGTH_BYTES + bodyLen);
  out.writeUInt32BE(bodyLen, 0);
  out.writeUInt8(FrameKind.SEALED, 4);
  out.writeBigUInt64BE(BigInt(seq), 5);
  iv.copy(out, 5 + SEQ_BYTES);
  ct.copy(out, 5 + SEQ_BYTES + IV_BYTES);
  const macStart = out.length - MAC_BYTES;
  const mac = await p.hmacSha256(keys.mac, out.subarray(0, macStart));
  mac.copy(out, macStart);
  return out;
}

/**
 * Verifies and decrypts a sealed frame expected to carry sequence
 * `expectedSeq`. Throws ChatError bad_frame / bad_mac / replay; never
 * returns a plaintext whose MAC did not verify.
 */
export async function open(
  p: CryptoProvider,
  keys: DirectionKeys,
  expectedSeq: number,
  f: Frame,
): Promise<Buffer> {
  if (f.kind !== FrameKind.SEALED)
    throw new ChatError("bad_frame", `unexpected frame kind ${f.kind}`);
  const ctLen = f.raw.length - (5 + SEQ_BYTES + IV_BYTES + MAC_BYTES);
  if (ctLen < 16 || ctLen % 16 !== 0)
    throw new ChatError("bad_frame", "sealed frame of a bad size");
  const macStart = f.raw.length - MAC_BYTES;
  const mac = await p.hmacSha256(keys.mac, f.raw.subarray(0, macStart));
  if (!macEqual(mac, f.raw.subarray(macStart)))
    throw new ChatError("bad_mac", "frame authentication failed (wrong passphrase or tampered)");
  const seq = f.raw.readBigUInt64BE(5);
  if (seq !== BigInt(expectedSeq))
    throw new ChatError("replay", `sequence ${seq} where ${expectedSeq} was expected`);
  const iv = f.raw.subarray(5 + SEQ_BYTES, 5 + SEQ_BYTES + IV_BYTES);
  const ct = f.raw.subarray(5 + SEQ_BYTES + IV_BYTES, macStart);
  const padded = await p.aesCbcDecrypt(keys.enc, iv, ct);
  const pt = unpad(padded);
  if (!pt) throw new ChatError("bad_frame", "bad padding in an authenticated frame");
  return Buffer.from(pt);
}

/** A clear ALERT frame: the error code and message as JSON, sent before closing. */
export function encodeAlert(code: string, message: string): Buffer {
  return encodeFrame(FrameKind.ALERT, Buffer.from(JSON.stringify({ code, message })));
}

export function parseAlert(f: Frame): { code: string; message: string } {
  try {
    const v = JSON.parse(framePayload(f).toString("utf8")) as { code?: unknown; message?: unknown };
    return { code: String(v.code ?? "internal"), message: String(v.message ?? "") };
  } catch {
    return { code: "bad_frame", message: "unreadable alert" };
  }
}
