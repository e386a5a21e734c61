import { describe, expect, it } from "vitest";
import { createNodeProvider } from "../src/crypto/node.ts";
import { CryptoProviderError } from "../src/errors.ts";
import { cbcVectors, gcmVectors, hmacVectors } from "../e2e/vectors.ts";

const h = (s: string) => Buffer.from(s, "hex");
const p = createNodeProvider();

describe("node provider: NIST SP 800-38A AES-CBC", () => {
  for (const v of cbcVectors) {
    it(`${v.name} encrypt`, async () => {
      const ct = await p.aesCbcEncrypt(h(v.key), h(v.iv), h(v.plaintext));
      expect(ct.toString("hex")).toBe(v.ciphertext);
    });
    it(`${v.name} decrypt`, async () => {
      const pt = await p.aesCbcDecrypt(h(v.key), h(v.iv), h(v.ciphertext));
      expect(pt.toString("hex")).toBe(v.plaintext);
    });
  }
});

describe("node provider: RFC 4231 HMAC-SHA256", () => {
  for (const v of hmacVectors) {
    it(v.name, async () => {
      const mac = await p.hmacSha256(h(v.key), h(v.data));
      expect(mac.length).toBe(32);
      expect(mac.toString("hex").slice(0, v.mac.length)).toBe(v.mac);
    });
  }
});

describe("node provider: AES-GCM (GCM specification test cases)", () => {
  for (const v of gcmVectors) {
    it(`${v.name}: seal gives ciphertext || tag, open gives the plaintext`, async () => {
      const sealed = await p.aesGcmSeal(h(v.key), h(v.iv), h(v.aad), h(v.plaintext));
      expect(sealed.toString("hex")).toBe(v.sealed);
      const pt = await p.aesGcmOpen(h(v.key), h(v.iv), h(v.aad), h(v.sealed));
      expect(pt?.toString("hex")).toBe(v.plaintext);
    });
  }

  it("a flipped bit of the ciphertext, tag, AAD or IV opens to nothing", async () => {
    const v = gcmVectors[3]!; // case 4: AAD and 60 bytes
    const sealed = h(v.sealed);
    for (const at of [0, 59, 60, 75]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 1;
      expect(await p.aesGcmOpen(h(v.key), h(v.iv), h(v.aad), bad)).toBeUndefined();
    }
    const aad = h(v.aad);
    aad[0]! ^= 0x80;
    expect(await p.aesGcmOpen(h(v.key), h(v.iv), aad, sealed)).toBeUndefined();
    const iv = h(v.iv);
    iv[11]! ^= 1;
    expect(await p.aesGcmOpen(h(v.key), iv, h(v.aad), sealed)).toBeUndefined();
  });

  it("rejects a bad key, IV or a sealed input shorter than the tag", async () => {
    const k = Buffer.alloc(16);
    const iv = Buffer.alloc(12);
    const none = Buffer.alloc(0);
    await expect(p.aesGcmSeal(Buffer.alloc(20), iv, none, none)).rejects.toThrow(/key/);
    await expect(p.aesGcmSeal(k, Buffer.alloc(16), none, none)).rejects.toThrow(/IV must be 12/);
    await expect(p.aesGcmOpen(k, iv, none, Buffer.alloc(15))).rejects.toThrow(/16-byte tag/);
  });
});

describe("node provider: argument checks", () => {
  it("rejects a bad key size, IV size or unaligned data with a typed error", async () => {
    const k = Buffer.alloc(16);
    const iv = Buffer.alloc(16);
    await expect(p.aesCbcEncrypt(Buffer.alloc(15), iv, Buffer.alloc(16))).rejects.toBeInstanceOf(
      CryptoProviderError,
    );
    await expect(p.aesCbcEncrypt(k, Buffer.alloc(8), Buffer.alloc(16))).rejects.toThrow(/IV/);
    await expect(p.aesCbcDecrypt(k, iv, Buffer.alloc(17))).rejects.toThrow(/multiple of 16/);
  });

  it("is unusable after close", async () => {
    const q = createNodeProvider();
    await q.close();
    await expect(q.hmacSha256(Buffer.alloc(1), Buffer.alloc(1))).rejects.toThrow(/closed/);
  });
});
