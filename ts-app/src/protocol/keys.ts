/**
 * The asymmetric keys of secure mode, all from node:crypto: ephemeral
 * X25519 key pairs (one per connection and side, never stored) and the
 * server's long-term Ed25519 host key, which signs each handshake's
 * transcript. Public keys travel raw (32 bytes, RFC 7748 / RFC 8032).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from "node:crypto";
import { ChatError } from "../errors.ts";

export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/*
 * Raw keys go in and out as JWK (RFC 8037: OKP, base64url "x"): in Node 20
 * that is ten times cheaper than SubjectPublicKeyInfo DER, which showed in
 * the handshake's cost.
 */
const curves = { x25519: "X25519", ed25519: "Ed25519" } as const;

function rawPublic(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: "jwk" }).x!, "base64url");
}

function importPublic(kind: keyof typeof curves, raw: Uint8Array): KeyObject {
  if (raw.length !== PUBLIC_KEY_BYTES)
    throw new ChatError("bad_hello", `${kind} public key of ${raw.length} bytes`);
  return createPublicKey({
    key: { kty: "OKP", crv: curves[kind], x: Buffer.from(raw).toString("base64url") },
    format: "jwk",
  });
}

/** A fresh X25519 key pair for one handshake. */
export interface Ephemeral {
  privateKey: KeyObject;
  publicKey: Buffer;
}

export function newEphemeral(): Ephemeral {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  return { privateKey, publicKey: rawPublic(publicKey) };
}

/**
 * The X25519 shared secret with a peer's raw public key. A key of small
 * order (an all-zero result) is refused, as RFC 7748 section 6.1 allows:
 * OpenSSL reports it as a derivation failure.
 */
export function x25519(mine: Ephemeral, peerPublic: Uint8Array): Buffer {
  try {
    return diffieHellman({
      privateKey: mine.privateKey,
      publicKey: importPublic("x25519", peerPublic),
    });
  } catch (e) {
    if (e instanceof ChatError) throw e;
    throw new ChatError("bad_hello", "the peer's key share is not a usable X25519 key");
  }
}

/** "SHA256:" and the unpadded base64 of SHA-256 over the raw public key. */
export function fingerprint(publicKey: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(publicKey).digest("base64").replace(/=+$/, "")}`;
}

/** The server's long-term Ed25519 identity. */
export class HostKey {
  readonly publicKey: Buffer;

  private constructor(private readonly key: KeyObject) {
    this.publicKey = rawPublic(createPublicKey(key));
  }

  static generate(): HostKey {
    return new HostKey(generateKeyPairSync("ed25519").privateKey);
  }

  /** From the PKCS#8 DER that pkcs8() gave. */
  static fromPkcs8(der: Buffer): HostKey {
    const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    if (key.asymmetricKeyType !== "ed25519")
      throw new Error(`host key is ${key.asymmetricKeyType}, not ed25519`);
    return new HostKey(key);
  }

  pkcs8(): Buffer {
    return this.key.export({ format: "der", type: "pkcs8" });
  }

  get fingerprint(): string {
    return fingerprint(this.publicKey);
  }

  sign(data: Uint8Array): Buffer {
    return sign(null, data, this.key);
  }
}

/** Whether `signature` is the Ed25519 signature of `data` under the raw `publicKey`. */
export function verifySignature(
  publicKey: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  try {
    return verify(null, data, importPublic("ed25519", publicKey), signature);
  } catch {
    return false;
  }
}
