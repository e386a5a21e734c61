/**
 * What the chat needs from a cipher implementation. Two providers implement
 * it byte for byte identically: `node` (node:crypto) and `cryptodev` (ioctls
 * on /dev/cryptodevN through the native binding, run off the event loop).
 *
 * AES-CBC here is raw: no padding; data must be a multiple of 16 bytes and
 * the caller pads. Keys are 16, 24 or 32 bytes; IVs 16 bytes.
 *
 * AES-GCM takes a 12-byte IV and always a 16-byte tag: sealing gives
 * ciphertext || tag (cryptodev-linux's CIOCAUTHCRYPT layout), opening takes
 * it and gives the plaintext, or `undefined` when the tag does not verify
 * (nothing of the plaintext is released).
 */
export interface CryptoProvider {
  readonly name: "node" | "cryptodev";
  aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Promise<Buffer>;
  aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Promise<Buffer>;
  hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Buffer>;
  aesGcmSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, data: Uint8Array): Promise<Buffer>;
  aesGcmOpen(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
  ): Promise<Buffer | undefined>;
  /** Releases sessions and file descriptors; the provider is unusable after. */
  close(): Promise<void>;
}

export type ProviderName = "node" | "cryptodev" | "auto";
