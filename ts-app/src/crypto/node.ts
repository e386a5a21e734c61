import { type CipherGCMTypes, createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import { CryptoProviderError } from "../errors.ts";
import type { CryptoProvider } from "./provider.ts";

/** Checks the shapes the provider contract requires (same rules as cryptodev). */
export function checkCbcArgs(key: Uint8Array, iv: Uint8Array, data: Uint8Array): void {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32)
    throw new CryptoProviderError(`AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  if (iv.length !== 16)
    throw new CryptoProviderError(`AES-CBC IV must be 16 bytes, got ${iv.length}`);
  if (data.length % 16 !== 0)
    throw new CryptoProviderError(
      `AES-CBC data must be a multiple of 16 bytes, got ${data.length}`,
    );
}

export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;

/** Checks the shapes of an AES-GCM call (same rules as cryptodev). */
export function checkGcmArgs(key: Uint8Array, iv: Uint8Array, sealed?: Uint8Array): void {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32)
    throw new CryptoProviderError(`AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  if (iv.length !== GCM_IV_BYTES)
    throw new CryptoProviderError(`AES-GCM IV must be ${GCM_IV_BYTES} bytes, got ${iv.length}`);
  if (sealed && sealed.length < GCM_TAG_BYTES)
    throw new CryptoProviderError(
      `AES-GCM sealed data must hold a ${GCM_TAG_BYTES}-byte tag, got ${sealed.length} bytes`,
    );
}

const gcmName = (key: Uint8Array) => `aes-${key.length * 8}-gcm` as CipherGCMTypes;

function gcmSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, data: Uint8Array): Buffer {
  checkGcmArgs(key, iv);
  const c = createCipheriv(gcmName(key), key, iv, { authTagLength: GCM_TAG_BYTES });
  c.setAAD(aad);
  return Buffer.concat([c.update(data), c.final(), c.getAuthTag()]);
}

function gcmOpen(
  key: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
): Buffer | undefined {
  checkGcmArgs(key, iv, sealed);
  const split = sealed.length - GCM_TAG_BYTES;
  const d = createDecipheriv(gcmName(key), key, iv, {
    authTagLength: GCM_TAG_BYTES,
  });
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(split));
  const pt = d.update(sealed.subarray(0, split));
  try {
    d.final(); // throws when the tag does not verify
  } catch {
    return undefined;
  }
  return pt;
}

function cbc(encrypt: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  checkCbcArgs(key, iv, data);
  const algo = `aes-${key.length * 8}-cbc`;
  const c = encrypt ? createCipheriv(algo, key, iv) : createDecipheriv(algo, key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

/** The `node` provider: node:crypto (OpenSSL), synchronous work behind async calls. */
export function createNodeProvider(): CryptoProvider {
  let closed = false;
  const live = () => {
    if (closed) throw new CryptoProviderError("provider is closed");
  };
  return {
    name: "node",
    async aesCbcEncrypt(key, iv, data) {
      live();
      return cbc(true, key, iv, data);
    },
    async aesCbcDecrypt(key, iv, data) {
      live();
      return cbc(false, key, iv, data);
    },
    async hmacSha256(key, data) {
      live();
      return createHmac("sha256", key).update(data).digest();
    },
    async aesGcmSeal(key, iv, aad, data) {
      live();
      return gcmSeal(key, iv, aad, data);
    },
    async aesGcmOpen(key, iv, aad, sealed) {
      live();
      return gcmOpen(key, iv, aad, sealed);
    },
    async close() {
      closed = true;
    },
  };
}
