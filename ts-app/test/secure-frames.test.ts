import { createCipheriv } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createNodeProvider } from "../src/crypto/node.ts";
import { ChatError } from "../src/errors.ts";
import { FrameReader, MAX_FRAME, encodeFrame, type Frame } from "../src/protocol/frames.ts";
import { parseRequest } from "../src/protocol/messages.ts";
import {
  ContentType,
  MAX_PLAINTEXT,
  deriveSessionKeys,
  hkdf,
  open,
  pad,
  seal,
  unpad,
  gcmNonce,
  type DirectionKeys,
  type GcmKeys,
} from "../src/protocol/secure.ts";

const DATA = ContentType.DATA;

const p = createNodeProvider();
const keys: DirectionKeys = { enc: Buffer.alloc(16, 1), mac: Buffer.alloc(32, 2) };

/** Feeds `stream` to a reader in pieces of the given sizes (cycled). */
function feed(r: FrameReader, stream: Buffer, cuts: number[]): Frame[] {
  const out: Frame[] = [];
  let off = 0;
  let i = 0;
  while (off < stream.length) {
    const n = cuts[i++ % cuts.length]!;
    out.push(...r.push(stream.subarray(off, off + n)));
    off += n;
  }
  return out;
}

const cutsArb = fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 30 });

/** Sealed frames of either suite, cut anywhere, open in order to what was sealed. */
async function roundTrips(k: DirectionKeys): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.string({ maxLength: 300 }), { minLength: 1, maxLength: 5 }),
      cutsArb,
      async (texts, cuts) => {
        const type = (i: number) => (i % 2 ? ContentType.ALERT : DATA);
        const sealed = await Promise.all(
          texts.map((t, i) => seal(p, k, i, type(i), Buffer.from(t))),
        );
        const frames = feed(new FrameReader(), Buffer.concat(sealed), cuts);
        expect(frames.length).toBe(texts.length);
        for (let i = 0; i < frames.length; i++) {
          const rec = await open(p, k, i, frames[i]!);
          expect(rec.body.toString()).toBe(texts[i]);
          expect(rec.type).toBe(type(i));
        }
      },
    ),
    { numRuns: 50 },
  );
}

/** Any byte after the length prefix flipped: the frame is refused as bad_mac. */
async function tamperedBytesRejected(k: DirectionKeys, seq: number): Promise<void> {
  const frame = await seal(p, k, seq, DATA, Buffer.from('{"id":1,"op":"ping"}'));
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 5, max: frame.length - 1 }),
      fc.integer({ min: 1, max: 255 }),
      async (pos, flip) => {
        const bad = Buffer.from(frame);
        bad[pos]! ^= flip;
        const f = new FrameReader().push(bad)[0]!;
        await expect(open(p, k, seq, f)).rejects.toMatchObject({ code: "bad_mac" });
      },
    ),
    { numRuns: 100 },
  );
}

describe("frame reassembly (property-based)", () => {
  it("any split of a stream of frames yields exactly those frames", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.integer({ min: 0, max: 255 }),
            data: fc.uint8Array({ maxLength: 700 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        cutsArb,
        (frames, cuts) => {
          const stream = Buffer.concat(frames.map((f) => encodeFrame(f.kind, f.data)));
          const r = new FrameReader();
          const got = feed(r, stream, cuts);
          expect(got.length).toBe(frames.length);
          got.forEach((g, i) => {
            expect(g.kind).toBe(frames[i]!.kind);
            expect(g.raw.subarray(5).equals(Buffer.from(frames[i]!.data))).toBe(true);
          });
          expect(r.pending).toBe(0);
        },
      ),
    );
  });

  it("garbage never crashes: frames out, or a bad_frame ChatError, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), cutsArb, (garbage, cuts) => {
        const r = new FrameReader(4096);
        try {
          const frames = feed(r, Buffer.from(garbage), cuts);
          for (const f of frames) expect(f.raw.length).toBeLessThanOrEqual(4 + 4096);
        } catch (e) {
          expect(e).toBeInstanceOf(ChatError);
          expect((e as ChatError).code).toBe("bad_frame");
        }
      }),
    );
  });

  it("rejects a zero or oversize length at once, before buffering the body", () => {
    const r = new FrameReader();
    const head = Buffer.alloc(4);
    head.writeUInt32BE(MAX_FRAME + 1);
    expect(() => r.push(head)).toThrow(/out of range/);
    expect(() => r.push(Buffer.alloc(1))).toThrow(/out of range/); // stays failed
    expect(() => new FrameReader().push(Buffer.alloc(4))).toThrow(/out of range/);
  });
});

describe("sealed frames (encrypt-then-MAC)", () => {
  it("round-trips through split delivery with increasing sequence numbers", () => roundTrips(keys));

  it("any tampered byte is rejected, never decrypted to a (wrong) message", () =>
    tamperedBytesRejected(keys, 0));

  it("an authenticated record of an unknown content type is refused", async () => {
    const f = new FrameReader().push(
      await seal(p, keys, 0, 7 as ContentType, Buffer.from("x")),
    )[0]!;
    await expect(open(p, keys, 0, f)).rejects.toMatchObject({ code: "bad_frame" });
  });

  it("random sealed-looking garbage never opens", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.uint8Array({ minLength: 200, maxLength: 200 }),
        async (blocks, g) => {
          const body = Buffer.from(g).subarray(0, 8 + 16 + blocks * 16 + 32);
          const f = new FrameReader().push(encodeFrame(2, body))[0]!;
          await expect(open(p, keys, 0, f)).rejects.toBeInstanceOf(ChatError);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("rejects a replayed or reordered frame, a wrong key and a wrong kind", async () => {
    const f0 = new FrameReader().push(await seal(p, keys, 0, DATA, Buffer.from("a")))[0]!;
    await expect(open(p, keys, 1, f0)).rejects.toMatchObject({ code: "replay" });
    const other: DirectionKeys = { enc: keys.enc, mac: Buffer.alloc(32, 3) };
    await expect(open(p, other, 0, f0)).rejects.toMatchObject({ code: "bad_mac" });
    const hello = new FrameReader().push(encodeFrame(1, Buffer.alloc(99)))[0]!;
    await expect(open(p, keys, 0, hello)).rejects.toMatchObject({ code: "bad_frame" });
  });

  it("uses a fresh IV per frame: equal plaintexts give different frames", async () => {
    const a = await seal(p, keys, 0, DATA, Buffer.from("same"));
    const b = await seal(p, keys, 0, DATA, Buffer.from("same"));
    expect(a.equals(b)).toBe(false);
  });

  it("refuses plaintexts that would not fit a frame", async () => {
    await expect(seal(p, keys, 0, DATA, Buffer.alloc(MAX_PLAINTEXT + 1))).rejects.toMatchObject({
      code: "too_large",
    });
    const big = await seal(p, keys, 0, DATA, Buffer.alloc(MAX_PLAINTEXT));
    expect(big.length - 4).toBeLessThanOrEqual(MAX_FRAME);
  });

  it("PKCS#7 pad/unpad round-trips and rejects bad padding", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (d) => {
        const padded = pad(d);
        expect(padded.length % 16).toBe(0);
        expect(unpad(padded)?.equals(Buffer.from(d))).toBe(true);
      }),
    );
    expect(unpad(Buffer.alloc(16, 0))).toBeUndefined();
    expect(unpad(Buffer.alloc(16, 17))).toBeUndefined();
  });
});

const gcmKeys: GcmKeys = {
  suite: 2,
  enc: Buffer.from("000102030405060708090a0b0c0d0e0f", "hex"),
  iv: Buffer.from("a0a1a2a3a4a5a6a7a8a9aaab", "hex"),
};

/** Suite 2's frame built straight from node:crypto, as the README specifies it. */
function referenceGcmFrame(k: GcmKeys, seq: number, type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1 + 8 + 1 + body.length + 16, 0);
  header[4] = 2;
  header.writeBigUInt64BE(BigInt(seq), 5);
  const nonce = Buffer.from(k.iv);
  const s = Buffer.alloc(12);
  s.writeBigUInt64BE(BigInt(seq), 4);
  for (let i = 0; i < 12; i++) nonce[i]! ^= s[i]!;
  const c = createCipheriv("aes-128-gcm", k.enc, nonce);
  c.setAAD(header);
  const ct = Buffer.concat([c.update(Buffer.concat([Buffer.from([type]), body])), c.final()]);
  return Buffer.concat([header, ct, c.getAuthTag()]);
}

describe("sealed frames, suite 2 (AES-128-GCM)", () => {
  it("are byte for byte the specified construction (nonce = IV xor seq, AAD = header)", async () => {
    for (const [seq, body] of [
      [0, ""],
      [1, '{"id":1,"op":"ping"}'],
      [2 ** 40 + 5, "x".repeat(1000)],
    ] as const) {
      const got = await seal(p, gcmKeys, seq, DATA, Buffer.from(body));
      expect(got.toString("hex")).toBe(
        referenceGcmFrame(gcmKeys, seq, DATA, Buffer.from(body)).toString("hex"),
      );
      expect(got.length).toBe(4 + 1 + 8 + 1 + body.length + 16);
    }
    expect(gcmNonce(gcmKeys.iv, 0x0102).toString("hex")).toBe("a0a1a2a3a4a5a6a7a8a9aba9");
  });

  it("round-trips through split delivery with increasing sequence numbers", () =>
    roundTrips(gcmKeys));

  it("any tampered byte (seq included) is rejected, never decrypted", () =>
    tamperedBytesRejected(gcmKeys, 3));

  it("rejects a replay, a wrong key or IV, a too short frame, and the other suite's keys", async () => {
    const f0 = new FrameReader().push(await seal(p, gcmKeys, 0, DATA, Buffer.from("a")))[0]!;
    await expect(open(p, gcmKeys, 1, f0)).rejects.toMatchObject({ code: "replay" });
    const wrongIv: GcmKeys = { ...gcmKeys, iv: Buffer.alloc(12) };
    await expect(open(p, wrongIv, 0, f0)).rejects.toMatchObject({ code: "bad_mac" });
    const wrongKey: GcmKeys = { ...gcmKeys, enc: Buffer.alloc(16) };
    await expect(open(p, wrongKey, 0, f0)).rejects.toMatchObject({ code: "bad_mac" });
    const short = new FrameReader().push(encodeFrame(2, Buffer.alloc(8 + 16)))[0]!;
    await expect(open(p, gcmKeys, 0, short)).rejects.toMatchObject({ code: "bad_frame" });
    await expect(open(p, keys, 0, f0)).rejects.toBeInstanceOf(ChatError);
    const cbcFrame = new FrameReader().push(await seal(p, keys, 0, DATA, Buffer.from("a")))[0]!;
    await expect(open(p, gcmKeys, 0, cbcFrame)).rejects.toMatchObject({ code: "bad_mac" });
  });

  it("refuses plaintexts over MAX_PLAINTEXT, as suite 1 does", async () => {
    await expect(seal(p, gcmKeys, 0, DATA, Buffer.alloc(MAX_PLAINTEXT + 1))).rejects.toMatchObject({
      code: "too_large",
    });
    const big = await seal(p, gcmKeys, 0, DATA, Buffer.alloc(MAX_PLAINTEXT));
    expect(big.length - 4).toBeLessThanOrEqual(MAX_FRAME);
  });
});

describe("key derivation", () => {
  it("HKDF-SHA256 matches RFC 5869 test case 1", async () => {
    const okm = await hkdf(
      p,
      Buffer.alloc(22, 0x0b),
      Buffer.from("000102030405060708090a0b0c", "hex"),
      Buffer.from("f0f1f2f3f4f5f6f7f8f9", "hex"),
      42,
    );
    expect(okm.toString("hex")).toBe(
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    );
  });

  it("gives distinct keys per direction and per transcript", async () => {
    const shared = Buffer.alloc(32, 9);
    const a = await deriveSessionKeys(p, 1, shared, Buffer.alloc(32, 1));
    const b = await deriveSessionKeys(p, 1, shared, Buffer.alloc(32, 2));
    expect(a.c2s.enc.equals(a.s2c.enc)).toBe(false);
    expect(a.c2s.mac.equals(a.s2c.mac)).toBe(false);
    expect(a.c2s.mac.equals(b.c2s.mac)).toBe(false);
    const g = await deriveSessionKeys(p, 2, shared, Buffer.alloc(32, 1));
    expect(g.c2s).toMatchObject({ suite: 2 });
    expect([g.c2s.enc.length, g.c2s.iv.length]).toEqual([16, 12]);
    expect(g.c2s.enc.equals(g.s2c.enc) || g.c2s.iv.equals(g.s2c.iv)).toBe(false);
    // the suite is in the HKDF's info: suite 2's key is not suite 1's
    expect(g.c2s.enc.equals(a.c2s.enc)).toBe(false);
  });
});

describe("request parsing", () => {
  it("never throws anything but a ChatError on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.json(), (j) => {
        try {
          parseRequest(j);
        } catch (e) {
          expect(e).toBeInstanceOf(ChatError);
        }
      }),
    );
  });

  it("checks field types per op and keeps the id for the error answer", () => {
    const part: { id?: number } = {};
    expect(() => parseRequest('{"id":4,"op":"send","channel":"c","text":5}', part)).toThrow(
      /'text' must be a string/,
    );
    expect(part.id).toBe(4);
    expect(() => parseRequest('{"id":5,"op":"nope"}')).toThrow(ChatError);
    expect(parseRequest('{"id":1,"op":"read","channel":"c","msgId":3,"x":1}')).toEqual({
      id: 1,
      op: "read",
      channel: "c",
      msgId: 3,
    });
  });
});
