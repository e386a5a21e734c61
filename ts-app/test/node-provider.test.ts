import { describe, expect, it } from "vitest";
import { createNodeProvider } from "../src/crypto/node.ts";
import { CryptoProviderError } from "../src/errors.ts";
import { cbcVectors, hmacVectors } from "../e2e/vectors.ts";

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
