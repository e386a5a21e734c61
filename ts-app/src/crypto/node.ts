import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
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
    async close() {
      closed = true;
    },
  };
}
