/**
 * Secure mode v2, the record layer: the session keys and sealing of frames
 * once the handshake (protocol/handshake.ts) is done. Every AES and HMAC
 * here runs through the CryptoProvider (node:crypto, or the virtio device
 * in the guest), byte-identical between providers; a suite's record
 * protection is only seal() and open(), chosen by the suite the handshake
 * settled (the keys carry it).
 *
 * Suite 1: AES-128-CBC + HMAC-SHA256, encrypt-then-MAC (two device round
 * trips per frame: the cipher, then the MAC). The 96 bytes of the
 * handshake's HKDF are: c2s AES key (16), s2c AES key (16), c2s HMAC key
 * (32), s2c HMAC key (32). Sealed frame (kind SEALED), after the 4-byte
 * length and the kind byte:
 *   u64 seq (big-endian)   0, 1, 2... per direction; anything else is "replay"
 *   u8  iv[16]             random per frame
 *   u8  ct[16*k], k >= 1   AES-128-CBC(key, iv, PKCS#7-padded plaintext)
 *   u8  mac[32]            HMAC-SHA256(macKey, every byte before it, length
 *                          prefix included); compared in constant time
 *
 * Suite 2: AES-128-GCM (one device round trip per frame: CIOCAUTHCRYPT).
 * The HKDF gives 56 bytes: c2s AES key (16), s2c AES key (16), c2s IV
 * (12), s2c IV (12). Sealed frame, after the length and the kind byte:
 *   u64 seq (big-endian)   as suite 1
 *   u8  ct[n], n >= 1      AES-128-GCM(key, nonce, aad, plaintext): the
 *   u8  tag[16]            ciphertext (no padding) and its tag
 * nonce = the direction's IV XOR the 64-bit seq, right-aligned (TLS 1.3's
 * construction: never repeats under one key since seq never does); aad =
 * the 13 bytes before ct (length prefix, kind, seq), so a frame cannot be
 * truncated, re-kinded or renumbered without failing its tag.
 *
 * Both: the plaintext is a content type and its body:
 *   u8 type                1 DATA (UTF-8 JSON: protocol/messages.ts),
 *                          2 ALERT (UTF-8 JSON {"code","message"}: the
 *                          sender closes after it; code "close" is an
 *                          orderly close, so a peer can tell it from a
 *                          connection cut by someone else)
 *   u8 body[]
 * and at most MAX_PLAINTEXT body bytes fit a frame, whatever the suite.
 * Before the handshake completes, the only alert is a clear ALERT frame
 * (kind 3), which a client shows by its code alone: nothing authenticates it.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { ChatError, isErrorCode, type ErrorCode } from "../errors.ts";
import type { CryptoProvider } from "../crypto/provider.ts";
import {
  FrameKind,
  LENGTH_BYTES,
  MAX_FRAME,
  encodeFrame,
  framePayload,
  type Frame,
} from "./frames.ts";

export const IV_BYTES = 16;
export const MAC_BYTES = 32;
export const SEQ_BYTES = 8;
export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;

/** The record protections this side implements, by suite id. */
export const suites = {
  1: "X25519, Ed25519, HKDF-SHA256, AES-128-CBC + HMAC-SHA256 (encrypt-then-MAC)",
  2: "X25519, Ed25519, HKDF-SHA256, AES-128-GCM",
} as const;
export type Suite = keyof typeof suites;

/** What a client offers by default, most preferred first. */
export const defaultSuites: Suite[] = [2, 1];

export function isSuite(n: number): n is Suite {
  return Object.hasOwn(suites, n);
}

export const ContentType = { DATA: 1, ALERT: 2 } as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];

/** Largest body that fits a sealed frame (the type and the padding take a byte each at least). */
export const MAX_PLAINTEXT =
  Math.floor((MAX_FRAME - 1 - SEQ_BYTES - IV_BYTES - MAC_BYTES) / 16) * 16 - 2;

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

/** Suite 1's keys of one direction (`suite` may be left out). */
export interface CbcHmacKeys {
  suite?: 1;
  enc: Buffer;
  mac: Buffer;
}
/** Suite 2's keys of one direction: the AES key and the nonce's fixed part. */
export interface GcmKeys {
  suite: 2;
  enc: Buffer;
  iv: Buffer;
}
export type DirectionKeys = CbcHmacKeys | GcmKeys;
export interface SessionKeys<K extends DirectionKeys = DirectionKeys> {
  c2s: K;
  s2c: K;
}

const KEYS_INFO = "cryptodev-lab chat v2 keys";

/**
 * The session keys from the handshake's X25519 secret and transcript hash:
 * HKDF-SHA256(ikm = shared, salt = transcript, info = label || suite).
 */
export function deriveSessionKeys(
  p: CryptoProvider,
  suite: 1,
  shared: Buffer,
  transcript: Buffer,
): Promise<SessionKeys<CbcHmacKeys>>;
export function deriveSessionKeys(
  p: CryptoProvider,
  suite: 2,
  shared: Buffer,
  transcript: Buffer,
): Promise<SessionKeys<GcmKeys>>;
export function deriveSessionKeys(
  p: CryptoProvider,
  suite: Suite,
  shared: Buffer,
  transcript: Buffer,
): Promise<SessionKeys>;
export async function deriveSessionKeys(
  p: CryptoProvider,
  suite: Suite,
  shared: Buffer,
  transcript: Buffer,
): Promise<SessionKeys> {
  const info = Buffer.concat([Buffer.from(KEYS_INFO), Buffer.from([suite])]);
  if (suite === 2) {
    const okm = await hkdf(p, shared, transcript, info, 56);
    return {
      c2s: { suite, enc: okm.subarray(0, 16), iv: okm.subarray(32, 44) },
      s2c: { suite, enc: okm.subarray(16, 32), iv: okm.subarray(44, 56) },
    };
  }
  const okm = await hkdf(p, shared, transcript, info, 96);
  return {
    c2s: { enc: okm.subarray(0, 16), mac: okm.subarray(32, 64) },
    s2c: { enc: okm.subarray(16, 32), mac: okm.subarray(64, 96) },
  };
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

/** One opened record: its content type and body. */
export interface OpenedRecord {
  type: ContentType;
  body: Buffer;
}

/** Suite 2's nonce of frame `seq`: the direction's IV XOR seq (big-endian, right-aligned). */
export function gcmNonce(iv: Buffer, seq: number | bigint): Buffer {
  const n = Buffer.from(iv);
  const s = Buffer.alloc(SEQ_BYTES);
  s.writeBigUInt64BE(BigInt(seq));
  for (let i = 0; i < SEQ_BYTES; i++) n[GCM_NONCE_BYTES - SEQ_BYTES + i]! ^= s[i]!;
  return n;
}

/** Bytes of a frame before its ciphertext: length, kind, seq (suite 2's AAD). */
const HEADER_BYTES = LENGTH_BYTES + 1 + SEQ_BYTES;

/** Suite 2: one AES-GCM seal (one device round trip) into a complete frame. */
async function sealGcm(
  p: CryptoProvider,
  keys: GcmKeys,
  seq: number,
  plain: Buffer,
): Promise<Buffer> {
  const bodyLen = 1 + SEQ_BYTES + plain.length + GCM_TAG_BYTES;
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(bodyLen, 0);
  header.writeUInt8(FrameKind.SEALED, 4);
  header.writeBigUInt64BE(BigInt(seq), 5);
  const sealed = await p.aesGcmSeal(keys.enc, gcmNonce(keys.iv, seq), header, plain);
  if (sealed.length !== plain.length + GCM_TAG_BYTES)
    throw new ChatError("internal", `AES-GCM gave ${sealed.length} bytes`);
  return Buffer.concat([header, sealed]);
}

/** Suite 2: checks the tag (nothing is released otherwise), then the sequence. */
async function openGcm(
  p: CryptoProvider,
  keys: GcmKeys,
  expectedSeq: number,
  f: Frame,
): Promise<Buffer> {
  if (f.raw.length < HEADER_BYTES + 1 + GCM_TAG_BYTES)
    throw new ChatError("bad_frame", "sealed frame of a bad size");
  // The seq in the nonce is the frame's own: a replayed or reordered frame
  // still verifies, and is then refused as a replay, as in suite 1.
  const seq = f.raw.readBigUInt64BE(5);
  const pt = await p.aesGcmOpen(
    keys.enc,
    gcmNonce(keys.iv, seq),
    f.raw.subarray(0, HEADER_BYTES),
    f.raw.subarray(HEADER_BYTES),
  );
  if (!pt)
    throw new ChatError("bad_mac", "frame authentication failed (tampered, or not this session)");
  if (seq !== BigInt(expectedSeq))
    throw new ChatError("replay", `sequence ${seq} where ${expectedSeq} was expected`);
  return pt;
}

/** Protects one record into a complete frame with sequence `seq`, by the keys' suite. */
export async function seal(
  p: CryptoProvider,
  keys: DirectionKeys,
  seq: number,
  type: ContentType,
  body: Uint8Array,
  /** Suite 1's IV (random when not given); suite 2 has none per frame. */
  cbcIv?: Buffer,
): Promise<Buffer> {
  if (body.length > MAX_PLAINTEXT)
    throw new ChatError("too_large", `message of ${body.length} bytes over ${MAX_PLAINTEXT}`);
  if (keys.suite === 2) return sealGcm(p, keys, seq, Buffer.concat([Buffer.from([type]), body]));
  const iv = cbcIv ?? randomIv();
  const ct = await p.aesCbcEncrypt(keys.enc, iv, pad(Buffer.concat([Buffer.from([type]), body])));
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
 * `expectedSeq`, by the keys' suite. Throws ChatError bad_frame / bad_mac /
 * replay; never returns a plaintext whose MAC or tag did not verify.
 */
export async function open(
  p: CryptoProvider,
  keys: DirectionKeys,
  expectedSeq: number,
  f: Frame,
): Promise<OpenedRecord> {
  if (f.kind !== FrameKind.SEALED)
    throw new ChatError("bad_frame", `unexpected frame kind ${f.kind} after the handshake`);
  if (keys.suite === 2) return record(await openGcm(p, keys, expectedSeq, f));
  const ctLen = f.raw.length - (5 + SEQ_BYTES + IV_BYTES + MAC_BYTES);
  if (ctLen < 16 || ctLen % 16 !== 0)
    throw new ChatError("bad_frame", "sealed frame of a bad size");
  const macStart = f.raw.length - MAC_BYTES;
  const mac = await p.hmacSha256(keys.mac, f.raw.subarray(0, macStart));
  if (!macEqual(mac, f.raw.subarray(macStart)))
    throw new ChatError("bad_mac", "frame authentication failed (tampered, or not this session)");
  const seq = f.raw.readBigUInt64BE(5);
  if (seq !== BigInt(expectedSeq))
    throw new ChatError("replay", `sequence ${seq} where ${expectedSeq} was expected`);
  const iv = f.raw.subarray(5 + SEQ_BYTES, 5 + SEQ_BYTES + IV_BYTES);
  const ct = f.raw.subarray(5 + SEQ_BYTES + IV_BYTES, macStart);
  const pt = unpad(await p.aesCbcDecrypt(keys.enc, iv, ct));
  if (!pt) throw new ChatError("bad_frame", "bad padding in an authenticated frame");
  return record(pt);
}

/** An authenticated plaintext's content type and body. */
function record(pt: Buffer): OpenedRecord {
  if (pt.length < 1) throw new ChatError("bad_frame", "empty record in an authenticated frame");
  const type = pt[0]!;
  if (type !== ContentType.DATA && type !== ContentType.ALERT)
    throw new ChatError("bad_frame", `unknown content type ${type}`);
  return { type, body: Buffer.from(pt.subarray(1)) };
}

export interface Alert {
  code: ErrorCode;
  message: string;
}

/** An alert's body: the code and a message for humans, as JSON. */
export function alertBody(code: ErrorCode, message: string): Buffer {
  return Buffer.from(JSON.stringify({ code, message }), "utf8");
}

/** Reads an alert's body; an unknown or unreadable code becomes "internal". */
export function parseAlertBody(body: Buffer): Alert {
  try {
    const v = JSON.parse(body.toString("utf8")) as { code?: unknown; message?: unknown };
    const code = isErrorCode(v.code) ? v.code : "internal";
    return { code, message: typeof v.message === "string" ? v.message : "" };
  } catch {
    return { code: "bad_frame", message: "unreadable alert" };
  }
}

/** A clear ALERT frame (before the handshake completes), sent just before closing. */
export function encodeClearAlert(code: ErrorCode, message: string): Buffer {
  return encodeFrame(FrameKind.ALERT, alertBody(code, message));
}

/** Reads a clear ALERT frame. Its content is unauthenticated: show the code, never the text. */
export function parseClearAlert(f: Frame): Alert {
  return parseAlertBody(framePayload(f));
}
