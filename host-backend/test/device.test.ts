/**
 * The real virtio-cryptodev device in the patched QEMU, driven from the host
 * through qtest (no guest kernel): the builtin engine against node:crypto,
 * large requests through the thread pool, many requests in flight,
 * descriptor layouts, malformed chains, limits, reset, QOM counters and
 * trace events. The guest driver's own end-to-end tests are in
 * guest-driver/.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { patchedQemuPath } from "../../scripts/lib/paths.ts";
import { qemuFirmwareArgs } from "../../scripts/vm/firmware.ts";
import {
  startMachine,
  STATUS_NEEDS_RESET,
  type Chain,
  type Machine,
  type Submitted,
  type VirtioCryptodev,
} from "./qtest-virtio.ts";
import {
  ALG,
  CONFIG,
  decodeInfo,
  decodeResp,
  E,
  encodeAead,
  encodeReq,
  F_AEAD,
  F_HASH,
  F_WRITE_IV,
  INFO_SIZE,
  OP,
  RESP_SIZE,
  type Req,
  type Resp,
} from "./wire.ts";

const qemu = patchedQemuPath();
const haveQemu = existsSync(qemu);

interface Answer {
  resp: Resp;
  out: Buffer;
  usedLen: number;
}

/** One request as one readable and one writable descriptor. */
function chain(req: Req, payload: Buffer[] = [], outLen = 0): Chain {
  return {
    readable: [Buffer.concat([encodeReq(req), ...payload])],
    writable: [outLen + RESP_SIZE],
  };
}

async function call(d: VirtioCryptodev, c: Chain): Promise<Answer> {
  const [r] = await d.batch([c]);
  if (!r) throw new Error("no completion");
  return answer(r.data, r.usedLen);
}

function answer(data: Buffer, usedLen: number): Answer {
  return { resp: decodeResp(data), out: data.subarray(0, data.length - RESP_SIZE), usedLen };
}

async function open(d: VirtioCryptodev): Promise<number> {
  const a = await call(d, chain({ op: OP.OPEN }));
  expect(a.resp.status).toBe(0);
  return a.resp.id;
}

async function session(
  d: VirtioCryptodev,
  handle: number,
  o: { cipher?: number; key?: Buffer; mac?: number; mackey?: Buffer },
): Promise<Resp> {
  const key = o.key ?? Buffer.alloc(0);
  const mackey = o.mackey ?? Buffer.alloc(0);
  const a = await call(
    d,
    chain(
      {
        op: OP.CREATE_SESSION,
        handle,
        cipher: o.cipher ?? 0,
        mac: o.mac ?? 0,
        keylen: key.length,
        mackeylen: mackey.length,
      },
      [key, mackey],
    ),
  );
  return a.resp;
}

interface CryptArgs {
  handle: number;
  session: number;
  decrypt?: boolean;
  iv?: Buffer;
  src: Buffer;
  dst?: boolean;
  ivOut?: number;
  macLen?: number;
  tag?: bigint;
}

function cryptChain(a: CryptArgs): Chain {
  const iv = a.iv ?? Buffer.alloc(0);
  const dstLen = a.dst === false ? 0 : a.src.length;
  return chain(
    {
      op: OP.CRYPT,
      handle: a.handle,
      session: a.session,
      cop: a.decrypt ? 1 : 0,
      flags: a.ivOut ? F_WRITE_IV : 0,
      srcLen: a.src.length,
      ivLen: iv.length,
      dstLen,
      ivOutLen: a.ivOut ?? 0,
      macLen: a.macLen ?? 0,
      tag: a.tag ?? 0n,
    },
    [iv, a.src],
    dstLen + (a.ivOut ?? 0) + (a.macLen ?? 0),
  );
}

function nodeCipher(name: string, key: Buffer, iv: Buffer | null, data: Buffer, decrypt = false) {
  const c = decrypt ? createDecipheriv(name, key, iv) : createCipheriv(name, key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

function ctrAdd(iv: Buffer, blocks: number): Buffer {
  const n = (BigInt("0x" + iv.toString("hex")) + BigInt(blocks)) % (1n << 128n);
  return Buffer.from(n.toString(16).padStart(32, "0"), "hex");
}

async function qom(m: Machine, id: string, prop: string): Promise<unknown> {
  return m.qmp.execute("qom-get", { path: `/machine/peripheral/${id}`, property: prop });
}

describe.skipIf(!haveQemu)(
  "virtio-cryptodev in QEMU via qtest" +
    (haveQemu ? "" : " (skipped: no patched QEMU; run `npx lab build qemu`)"),
  () => {
    let m: Machine;
    let d0: VirtioCryptodev;
    let d1: VirtioCryptodev;
    let d2: VirtioCryptodev;
    let d3: VirtioCryptodev;

    beforeAll(async () => {
      m = await startMachine(
        qemu,
        qemuFirmwareArgs(),
        [
          "virtio-cryptodev-pci,id=cryptodev0,engine=builtin",
          "virtio-cryptodev-pci,id=cryptodev1,engine=auto,max-handles=2,max-sessions=2,max-data-len=65536,inline-max=0",
          // one job in the thread pool at a time: the rest wait in the ring
          "virtio-cryptodev-pci,id=cryptodev2,engine=builtin,inline-max=0,max-inflight-bytes=1",
          // as a device that predates wire version 2
          "virtio-cryptodev-pci,id=cryptodev3,engine=builtin,x-max-wire-version=1",
        ],
        ["-trace", "enable=virtio_cryptodev_*"],
      );
      expect(m.devices).toHaveLength(4);
      [d0, d1, d2, d3] = m.devices as [
        VirtioCryptodev,
        VirtioCryptodev,
        VirtioCryptodev,
        VirtioCryptodev,
      ];
    }, 60_000);

    afterAll(async () => {
      await m?.close();
    });

    it("exposes the configuration space of the header", async () => {
      const cfg = (name: keyof typeof CONFIG.fields) => CONFIG.fields[name].offset;
      expect(await d0.readConfig(cfg("wire_version"))).toBe(1);
      expect(await d0.readConfig(cfg("engine"))).toBe(1); // builtin
      expect(await d0.readConfig(cfg("max_handles"))).toBe(1024);
      expect(await d0.readConfig(cfg("max_sessions"))).toBe(256);
      expect(await d0.readConfig(cfg("max_data_len"))).toBe(4 * 1024 * 1024);
      expect(await d0.readConfig(cfg("max_wire_version"))).toBe(2);
      expect(await d3.readConfig(cfg("max_wire_version"))).toBe(1);
      expect(await d1.readConfig(cfg("max_handles"))).toBe(2);
      expect(await d1.readConfig(cfg("max_data_len"))).toBe(65536);
      // no /dev/crypto on the test machines: auto falls back to builtin
      expect(await qom(m, "cryptodev1", "engine-active")).toBe("builtin");
    });

    it("runs AES-CBC/ECB/CTR, NULL, SHA and HMAC like node:crypto (builtin engine)", async () => {
      const h = await open(d0);
      for (const bits of [128, 192, 256]) {
        const key = randomBytes(bits / 8);
        const iv = randomBytes(16);
        const pt = randomBytes(256);
        const s = await session(d0, h, { cipher: ALG.AES_CBC, key });
        expect(s).toMatchObject({ status: 0, blockSize: 16, ivLen: 16, digestLen: 0 });
        const ct = nodeCipher(`aes-${bits}-cbc`, key, iv, pt);
        const enc = await call(
          d0,
          cryptChain({ handle: h, session: s.id, iv, src: pt, ivOut: 16 }),
        );
        expect(enc.resp.status).toBe(0);
        expect(enc.out.subarray(0, 256)).toEqual(ct);
        expect(enc.out.subarray(256)).toEqual(ct.subarray(240)); // WRITE_IV: last block
        const dec = await call(
          d0,
          cryptChain({ handle: h, session: s.id, decrypt: true, iv, src: ct, ivOut: 16 }),
        );
        expect(dec.out.subarray(0, 256)).toEqual(pt);
        expect(dec.out.subarray(256)).toEqual(ct.subarray(240));
      }
      const key = randomBytes(16);
      const ecb = await session(d0, h, { cipher: ALG.AES_ECB, key });
      const pt = randomBytes(64);
      const e = await call(d0, cryptChain({ handle: h, session: ecb.id, src: pt }));
      expect(e.out).toEqual(nodeCipher("aes-128-ecb", key, null, pt));

      const ctr = await session(d0, h, { cipher: ALG.AES_CTR, key });
      expect(ctr).toMatchObject({ status: 0, blockSize: 1, ivLen: 16 });
      const iv = Buffer.from("ffffffffffffffffffffffffffffffff", "hex");
      const odd = randomBytes(37);
      const c = await call(d0, cryptChain({ handle: h, session: ctr.id, iv, src: odd, ivOut: 16 }));
      expect(c.out.subarray(0, 37)).toEqual(nodeCipher("aes-128-ctr", key, iv, odd));
      expect(c.out.subarray(37)).toEqual(ctrAdd(iv, 3)); // wraps, partial block counts

      const nul = await session(d0, h, { cipher: ALG.NULL });
      const n = await call(d0, cryptChain({ handle: h, session: nul.id, src: odd }));
      expect(n.out).toEqual(odd);

      const data = randomBytes(1000);
      for (const [alg, name, len] of [
        [ALG.SHA1, "sha1", 20],
        [ALG.SHA2_256, "sha256", 32],
      ] as const) {
        const s = await session(d0, h, { mac: alg });
        expect(s).toMatchObject({ status: 0, digestLen: len });
        const r = await call(
          d0,
          cryptChain({ handle: h, session: s.id, src: data, dst: false, macLen: len }),
        );
        expect(r.out).toEqual(createHash(name).update(data).digest());
      }
      const mk = randomBytes(100);
      for (const [alg, name, len] of [
        [ALG.SHA1_HMAC, "sha1", 20],
        [ALG.SHA2_256_HMAC, "sha256", 32],
      ] as const) {
        const s = await session(d0, h, { mac: alg, mackey: mk });
        const r = await call(
          d0,
          cryptChain({ handle: h, session: s.id, src: data, dst: false, macLen: len }),
        );
        expect(r.out).toEqual(createHmac(name, mk).update(data).digest());
      }
      // cipher + HMAC in one session: the mac covers the plaintext
      const both = await session(d0, h, {
        cipher: ALG.AES_CBC,
        key,
        mac: ALG.SHA2_256_HMAC,
        mackey: mk,
      });
      const civ = randomBytes(16);
      const plain = randomBytes(128);
      const r = await call(
        d0,
        cryptChain({ handle: h, session: both.id, iv: civ, src: plain, macLen: 32 }),
      );
      expect(r.out.subarray(0, 128)).toEqual(nodeCipher("aes-128-cbc", key, civ, plain));
      expect(r.out.subarray(128)).toEqual(createHmac("sha256", mk).update(plain).digest());

      const infoA = await call(
        d0,
        chain({ op: OP.SESSION_INFO, handle: h, session: both.id }, [], INFO_SIZE),
      );
      expect(infoA.resp).toMatchObject({ status: 0, written: INFO_SIZE });
      expect(decodeInfo(infoA.out)).toEqual({
        cipherName: "cbc(aes)",
        cipherDriver: "virtio-cryptodev-builtin",
        hashName: "hmac(sha256)",
        hashDriver: "virtio-cryptodev-builtin",
        alignmask: 0,
        flags: 1,
      });
      expect((await call(d0, chain({ op: OP.CLOSE, handle: h }))).resp.status).toBe(0);
    });

    it("hashes every hash and HMAC in one shot (v1) and in parts (v2) like node:crypto", async () => {
      const h = await open(d0);
      const msg = randomBytes(3000);
      const algs = [
        ["md5", ALG.MD5, ALG.MD5_HMAC],
        ["sha1", ALG.SHA1, ALG.SHA1_HMAC],
        ["sha224", ALG.SHA2_224, ALG.SHA2_224_HMAC],
        ["sha256", ALG.SHA2_256, ALG.SHA2_256_HMAC],
        ["sha384", ALG.SHA2_384, ALG.SHA2_384_HMAC],
        ["sha512", ALG.SHA2_512, ALG.SHA2_512_HMAC],
      ] as const;
      const hashReq = (ses: number, version: number, flags: number, src: Buffer, macLen: number) =>
        chain(
          { version, op: OP.CRYPT, handle: h, session: ses, flags, srcLen: src.length, macLen },
          [src],
          macLen,
        );
      for (const [name, plain, hmac] of algs) {
        for (const [alg, key] of [
          [plain, Buffer.alloc(0)],
          [hmac, randomBytes(70)],
        ] as const) {
          const want = key.length
            ? createHmac(name, key).update(msg).digest()
            : createHash(name).update(msg).digest();
          const s = await session(d0, h, { mac: alg, mackey: key });
          expect(s.status, `${name} ${key.length}`).toBe(0);
          expect(s.digestLen).toBe(want.length);
          const one = await call(d0, hashReq(s.id, 1, 0, msg, want.length));
          expect(one.out.equals(want), `${name} one shot`).toBe(true);
          const parts = [
            [F_HASH.RESET | F_HASH.UPDATE, msg.subarray(0, 1000), 0],
            [F_HASH.UPDATE, msg.subarray(1000, 1001), 0],
            [F_HASH.FINAL, msg.subarray(1001), want.length],
          ] as const;
          let last: Answer | undefined;
          for (const [flags, part, macLen] of parts) {
            last = await call(d0, hashReq(s.id, 2, flags, part, macLen));
            expect(last.resp.status).toBe(0);
          }
          expect(last?.out.equals(want), `${name} in parts`).toBe(true);
        }
      }
      // a device that predates version 2: every v2 request is -EPROTO
      const h3 = await open(d3);
      const s3 = await session(d3, h3, { mac: ALG.SHA1 });
      const v2 = chain(
        { version: 2, op: OP.CRYPT, handle: h3, session: s3.id, flags: F_HASH.UPDATE, srcLen: 3 },
        [Buffer.from("abc")],
      );
      expect((await call(d3, v2)).resp.status).toBe(-E.EPROTO);
      const v1 = await call(
        d3,
        chain(
          { op: OP.CRYPT, handle: h3, session: s3.id, srcLen: 3, macLen: 20 },
          [Buffer.from("abc")],
          20,
        ),
      );
      expect(v1.out.equals(createHash("sha1").update("abc").digest())).toBe(true);
      // a v1 request for what v2 added: what a v1 device answers
      expect((await call(d0, chain({ op: OP.AUTHCRYPT, handle: h }))).resp.status).toBe(
        -E.EOPNOTSUPP,
      );
    });

    it("runs AUTHCRYPT: AES-GCM, TLS and SRTP kinds like node:crypto, -EBADMSG with nothing written", async () => {
      const h = await open(d0);
      const key = randomBytes(16);
      const iv = randomBytes(12);
      const aad = randomBytes(20);
      const pt = randomBytes(100);
      const auth = (
        ses: number,
        decrypt: boolean,
        flags: number,
        ivb: Buffer,
        authData: Buffer,
        tagLen: number,
        src: Buffer,
        dstLen: number,
        o: { srcOffset?: number; extraOut?: number; srcInline?: boolean } = {},
      ) =>
        chain(
          {
            version: 2,
            op: OP.AUTHCRYPT,
            handle: h,
            session: ses,
            cop: decrypt ? 1 : 0,
            flags,
            srcLen: o.srcInline === false ? dstLen : src.length,
            ivLen: ivb.length,
            dstLen,
          },
          [
            encodeAead({ authLen: authData.length, tagLen, srcOffset: o.srcOffset }),
            ivb,
            authData,
            src,
          ],
          dstLen + (o.extraOut ?? 0),
        );
      // AES-GCM
      const gcm = await session(d0, h, { cipher: ALG.AES_GCM, key });
      expect(gcm.status).toBe(0);
      const e = createCipheriv("aes-128-gcm", key, iv);
      e.setAAD(aad);
      const ct = Buffer.concat([e.update(pt), e.final()]);
      const tag = e.getAuthTag();
      const enc = await call(d0, auth(gcm.id, false, 0, iv, aad, 16, pt, 116));
      expect(enc.resp.status).toBe(0);
      expect(enc.out.equals(Buffer.concat([ct, tag]))).toBe(true);
      expect(enc.resp.resultLen).toBe(116);
      const dec = await call(d0, auth(gcm.id, true, 0, iv, aad, 16, enc.out, 100));
      expect(dec.out.equals(pt)).toBe(true);
      const bad = Buffer.from(enc.out);
      bad[110] = (bad[110] ?? 0) ^ 1;
      const rej = await call(d0, auth(gcm.id, true, 0, iv, aad, 16, bad, 100));
      expect(rej.resp.status).toBe(-E.EBADMSG);
      // nothing but the response written (the guest test checks the buffer)
      expect(rej.resp.written).toBe(0);
      expect(rej.resp.resultLen).toBe(0);
      // TLS: HMAC-SHA256 of aad || data, padding, AES-128-CBC
      const mackey = randomBytes(32);
      const tls = await session(d0, h, {
        cipher: ALG.AES_CBC,
        key,
        mac: ALG.SHA2_256_HMAC,
        mackey,
      });
      const civ = randomBytes(16);
      const mac = createHmac("sha256", mackey).update(aad).update(pt).digest();
      const padLen = 16 - ((100 + 32) % 16);
      const record = Buffer.concat([pt, mac, Buffer.alloc(padLen, padLen - 1)]);
      const tlsCt = nodeCipher("aes-128-cbc", key, civ, record);
      const tenc = await call(d0, auth(tls.id, false, F_AEAD.TLS, civ, aad, 32, pt, record.length));
      expect(tenc.resp.status).toBe(0);
      expect(tenc.out.equals(tlsCt)).toBe(true);
      const tdec = await call(
        d0,
        auth(tls.id, true, F_AEAD.TLS, civ, aad, 32, tlsCt, tlsCt.length),
      );
      expect(tdec.resp.status).toBe(0);
      expect(tdec.resp.resultLen).toBe(100);
      expect(tdec.out.subarray(0, 100).equals(pt)).toBe(true);
      const tbad = Buffer.from(tlsCt);
      tbad[3] = (tbad[3] ?? 0) ^ 0x80;
      const trej = await call(d0, auth(tls.id, true, F_AEAD.TLS, civ, aad, 32, tbad, tbad.length));
      expect(trej.resp.status).toBe(-E.EBADMSG);
      expect(trej.resp.written).toBe(0);
      // SRTP: AES-CTR in place inside the packet, HMAC-SHA1 of the packet, 10 bytes
      const srtp = await session(d0, h, { cipher: ALG.AES_CTR, key, mac: ALG.SHA1_HMAC, mackey });
      const ctr = randomBytes(16);
      const header = randomBytes(12);
      const packet = Buffer.concat([header, pt]);
      const sct = nodeCipher("aes-128-ctr", key, ctr, pt);
      const stag = createHmac("sha1", mackey)
        .update(Buffer.concat([header, sct]))
        .digest()
        .subarray(0, 10);
      const senc = await call(
        d0,
        auth(srtp.id, false, F_AEAD.SRTP, ctr, packet, 10, Buffer.alloc(0), 100, {
          srcOffset: 12,
          extraOut: 10,
          srcInline: false,
        }),
      );
      expect(senc.resp.status).toBe(0);
      expect(senc.out.equals(Buffer.concat([sct, stag]))).toBe(true);
      const sdec = await call(
        d0,
        auth(srtp.id, true, F_AEAD.SRTP, ctr, Buffer.concat([header, sct]), 10, stag, 100, {
          srcOffset: 12,
          srcInline: false,
        }),
      );
      expect(sdec.resp.status).toBe(0);
      expect(sdec.out.equals(pt)).toBe(true);
    });

    it("runs a 1 MiB AES-128-CBC request through the thread pool", async () => {
      const h = await open(d0);
      const key = randomBytes(16);
      const iv = randomBytes(16);
      const s = await session(d0, h, { cipher: ALG.AES_CBC, key });
      const pt = randomBytes(1 << 20);
      const r = await call(d0, cryptChain({ handle: h, session: s.id, iv, src: pt }));
      expect(r.resp.status).toBe(0);
      expect(r.resp.written).toBe(1 << 20);
      expect(r.out.equals(nodeCipher("aes-128-cbc", key, iv, pt))).toBe(true);
      await call(d0, chain({ op: OP.CLOSE, handle: h }));
    });

    it("completes 32 requests posted at once, each with its own tag and result", async () => {
      for (const d of [d0, d1, d2]) {
        const h = await open(d);
        const key = randomBytes(32);
        const s = await session(d, h, { cipher: ALG.AES_CTR, key });
        const jobs = Array.from({ length: 32 }, (_, i) => ({
          iv: randomBytes(16),
          src: randomBytes(8192 + i * 16),
          tag: 0x1000n + BigInt(i),
        }));
        const done = await d.batch(jobs.map((j) => cryptChain({ handle: h, session: s.id, ...j })));
        done.forEach((c, i) => {
          const a = answer(c.data, c.usedLen);
          const j = jobs[i];
          if (!j) throw new Error("job missing");
          expect(a.resp.status).toBe(0);
          expect(a.resp.tag).toBe(j.tag);
          expect(a.out.equals(nodeCipher("aes-256-ctr", key, j.iv, j.src))).toBe(true);
        });
        await call(d, chain({ op: OP.CLOSE, handle: h }));
      }
      expect(await qom(m, "cryptodev0", "in-flight")).toBe(0);
    });

    it("treats each direction as one stream, however it is split", async () => {
      const h = await open(d0);
      const key = randomBytes(16);
      const iv = randomBytes(16);
      const s = await session(d0, h, { cipher: ALG.AES_CBC, key });
      const pt = randomBytes(64);
      const whole = Buffer.concat([
        encodeReq({
          op: OP.CRYPT,
          handle: h,
          session: s.id,
          srcLen: 64,
          ivLen: 16,
          dstLen: 64,
          ivOutLen: 16,
          flags: F_WRITE_IV,
        }),
        iv,
        pt,
      ]);
      const r = await call(d0, {
        readable: [
          whole.subarray(0, 10),
          whole.subarray(10, 70),
          whole.subarray(70, 100),
          whole.subarray(100),
        ],
        writable: [7, 60, 13, 32],
      });
      expect(r.resp.status).toBe(0);
      const ct = nodeCipher("aes-128-cbc", key, iv, pt);
      expect(r.out.subarray(0, 64)).toEqual(ct);
      expect(r.out.subarray(64)).toEqual(ct.subarray(48));
      await call(d0, chain({ op: OP.CLOSE, handle: h }));
    });

    it("answers malformed requests with a negative errno and keeps running", async () => {
      const h = await open(d1);
      const key = randomBytes(16);
      const s = (await session(d1, h, { cipher: ALG.AES_CBC, key })).id;
      const errors0 = Number(await qom(m, "cryptodev1", "errors"));
      const status = async (c: Chain) => (await call(d1, c)).resp.status;

      const hdrOnly = encodeReq({ op: OP.OPEN });
      // the header in device-writable buffers only: nothing readable
      expect(await status({ readable: [], writable: [64, 32] })).toBe(-E.EINVAL);
      expect(await status({ readable: [hdrOnly.subarray(0, 40)], writable: [32] })).toBe(-E.EINVAL);
      expect(await status({ readable: [hdrOnly, Buffer.alloc(1)], writable: [32] })).toBe(
        -E.EINVAL,
      );
      const extraOut = await call(d1, { readable: [hdrOnly], writable: [32, 32], fill: 0xa5 });
      expect(extraOut.resp.status).toBe(-E.EINVAL);
      expect(extraOut.out.equals(Buffer.alloc(32, 0xa5))).toBe(true); // nothing but the response
      // no room for the response: completed with nothing written
      const [dropped] = await d1.batch([{ readable: [hdrOnly], writable: [16], fill: 0xa5 }]);
      expect(dropped?.usedLen).toBe(0);
      expect(dropped?.data.equals(Buffer.alloc(16, 0xa5))).toBe(true);
      const noWritable = await d1.batch([{ readable: [hdrOnly], writable: [] }]);
      expect(noWritable[0]?.usedLen).toBe(0);

      expect(await status(chain({ op: OP.OPEN, version: 3 }))).toBe(-E.EPROTO);
      expect(await status(chain({ op: 99, handle: h }))).toBe(-E.EOPNOTSUPP);
      expect(await status(chain({ op: OP.CLOSE, handle: 0x1234_5678 }))).toBe(-E.EBADF);
      expect(await status(chain({ op: OP.FREE_SESSION, handle: h, session: 777 }))).toBe(-E.EINVAL);
      expect(
        await status(
          chain({ op: OP.CREATE_SESSION, handle: h, cipher: ALG.AES_CBC, keylen: 15 }, [
            randomBytes(15),
          ]),
        ),
      ).toBe(-E.EINVAL);
      expect(
        await status(
          chain({ op: OP.CREATE_SESSION, handle: h, cipher: ALG.AES_CBC, keylen: 16 }, [
            randomBytes(8),
          ]),
        ),
      ).toBe(-E.EINVAL);
      expect(
        await status(chain({ op: OP.CREATE_SESSION, handle: h, cipher: 12345, keylen: 16 }, [key])),
      ).toBe(-E.EINVAL);
      expect(
        await status(
          cryptChain({ handle: h, session: s, iv: randomBytes(16), src: randomBytes(33) }),
        ),
      ).toBe(-E.EINVAL);
      expect(
        await status(
          cryptChain({ handle: h, session: s, iv: randomBytes(8), src: randomBytes(32) }),
        ),
      ).toBe(-E.EINVAL);
      expect(
        await status(
          cryptChain({ handle: h, session: s, iv: randomBytes(16), src: randomBytes(65536 + 16) }),
        ),
      ).toBe(-E.E2BIG);
      // lengths beyond the descriptors: the header claims more than the chain holds
      expect(
        await status(
          chain(
            { op: OP.CRYPT, handle: h, session: s, srcLen: 4096, ivLen: 16, dstLen: 4096 },
            [randomBytes(16), randomBytes(64)],
            4096,
          ),
        ),
      ).toBe(-E.EINVAL);
      expect(
        await status(
          chain(
            { op: OP.CRYPT, handle: h, session: s, srcLen: 64, ivLen: 16, dstLen: 64 },
            [randomBytes(16), randomBytes(64)],
            32,
          ),
        ),
      ).toBe(-E.EINVAL);
      expect(Number(await qom(m, "cryptodev1", "errors"))).toBeGreaterThanOrEqual(errors0 + 16);
      // still serving
      const ok = await call(
        d1,
        cryptChain({ handle: h, session: s, iv: randomBytes(16), src: randomBytes(32) }),
      );
      expect(ok.resp.status).toBe(0);
      // limits of this device: 2 handles, 2 sessions per handle
      expect((await session(d1, h, { cipher: ALG.AES_ECB, key })).status).toBe(0);
      expect((await session(d1, h, { cipher: ALG.AES_ECB, key })).status).toBe(-E.ENOSPC);
      const h2 = await open(d1);
      expect((await call(d1, chain({ op: OP.OPEN }))).resp.status).toBe(-E.EMFILE);
      for (const x of [h, h2])
        expect((await call(d1, chain({ op: OP.CLOSE, handle: x }))).resp.status).toBe(0);
      expect(m.alive()).toBe(true);
    });

    it("survives a chain with descriptors in the wrong order; a reset recovers", async () => {
      // writable before readable breaks the virtio ring rules: QEMU's virtio
      // core (virtqueue_pop) marks the device broken until the next reset
      const bad = { readable: [encodeReq({ op: OP.OPEN })], writable: [32], writableFirst: true };
      await expect(d1.batch([bad], 2000)).rejects.toThrow(/did not complete/);
      expect(m.alive()).toBe(true);
      expect(m.stderr()).toMatch(/Incorrect order for descriptors/);
      await d1.reset();
      const a = await call(d1, chain({ op: OP.OPEN }));
      expect(a.resp.status).toBe(0);
      expect((await call(d1, chain({ op: OP.CLOSE, handle: a.resp.id }))).resp.status).toBe(0);
    });

    it("drops every handle and session on reset", async () => {
      const h = await open(d0);
      await session(d0, h, { cipher: ALG.AES_CBC, key: randomBytes(16) });
      expect(Number(await qom(m, "cryptodev0", "handles-open"))).toBeGreaterThan(0);
      expect(Number(await qom(m, "cryptodev0", "sessions-open"))).toBeGreaterThan(0);
      await d0.reset();
      expect(await qom(m, "cryptodev0", "handles-open")).toBe(0);
      expect(await qom(m, "cryptodev0", "sessions-open")).toBe(0);
      expect((await call(d0, chain({ op: OP.CLOSE, handle: h }))).resp.status).toBe(-E.EBADF);
    });

    it("waits for requests in the thread pool when reset under load", async () => {
      const h = await open(d0);
      const key = randomBytes(16);
      const s = await session(d0, h, { cipher: ALG.AES_CBC, key });
      const src = randomBytes(1 << 20);
      const jobs = Array.from({ length: 16 }, () =>
        cryptChain({ handle: h, session: s.id, iv: randomBytes(16), src }),
      );
      await d0.batch(jobs, 0, false); // 16 MiB in flight, not collected
      await d0.reset();
      expect(m.alive()).toBe(true);
      expect(m.stderr()).toMatch(/virtio_cryptodev_reset .*dropping 1 handles, 1 sessions/);
      expect(await qom(m, "cryptodev0", "in-flight")).toBe(0);
      expect(await qom(m, "cryptodev0", "handles-open")).toBe(0);
      expect(await qom(m, "cryptodev0", "sessions-open")).toBe(0);
      const a = await call(d0, chain({ op: OP.OPEN }));
      expect(a.resp.status).toBe(0);
      await call(d0, chain({ op: OP.CLOSE, handle: a.resp.id }));
    });

    it("leaks nothing over 10,000 OPEN/CLOSE and 10,000 session create/free cycles", async () => {
      const before = Number(await qom(m, "cryptodev0", "requests"));
      const key = randomBytes(16);
      for (let i = 0; i < 10_000; i += 32) {
        const opens = await d0.batch(Array.from({ length: 32 }, () => chain({ op: OP.OPEN })));
        const hs = opens.map((c) => answer(c.data, c.usedLen).resp.id);
        const closes = await d0.batch(hs.map((handle) => chain({ op: OP.CLOSE, handle })));
        for (const c of closes) expect(answer(c.data, c.usedLen).resp.status).toBe(0);
      }
      const h = await open(d0);
      for (let i = 0; i < 10_000; i += 32) {
        const made = await d0.batch(
          Array.from({ length: 32 }, () =>
            chain({ op: OP.CREATE_SESSION, handle: h, cipher: ALG.AES_CBC, keylen: 16 }, [key]),
          ),
        );
        const ids = made.map((c) => answer(c.data, c.usedLen).resp.id);
        const freed = await d0.batch(
          ids.map((session) => chain({ op: OP.FREE_SESSION, handle: h, session })),
        );
        for (const c of freed) expect(answer(c.data, c.usedLen).resp.status).toBe(0);
      }
      await call(d0, chain({ op: OP.CLOSE, handle: h }));
      expect(await qom(m, "cryptodev0", "handles-open")).toBe(0);
      expect(await qom(m, "cryptodev0", "sessions-open")).toBe(0);
      expect(Number(await qom(m, "cryptodev0", "requests")) - before).toBeGreaterThanOrEqual(
        40_000,
      );
    });

    it("emits virtio_cryptodev_* trace events for requests, errors and completions", () => {
      const err = m.stderr();
      expect(err).toMatch(/virtio_cryptodev_request/);
      expect(err).toMatch(/virtio_cryptodev_complete/);
      expect(err).toMatch(/virtio_cryptodev_error.*status -22/);
      expect(err).toMatch(/virtio_cryptodev_engine.*virtio-cryptodev-builtin/);
    });
  },
);

/**
 * Jobs in the thread pool against the lifecycle of the ring they came from:
 * a queue reset (VIRTIO_F_RING_RESET), a device reset, a VM stop. Buffers
 * the driver took back must never be written afterwards, and nothing stale
 * may reach the ring that replaced them. A fresh machine: its RAM is zero,
 * so "untouched" means still zero.
 */
describe.skipIf(!haveQemu)(
  "virtio-cryptodev: thread-pool jobs across queue reset, device reset and VM stop" +
    (haveQemu ? "" : " (skipped: no patched QEMU; run `npx lab build qemu`)"),
  () => {
    const BIG = 2 << 20; // above inline-max: each runs in the thread pool
    const JOBS = 12;
    const key = Buffer.from("2b7e151628aed2a6abf7158809cf4f3c", "hex");
    const iv = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");
    let m: Machine;
    let d: VirtioCryptodev;
    let bufBase = 0x0400_0000;
    let ringBase = 0x0180_0000;

    beforeAll(async () => {
      m = await startMachine(qemu, qemuFirmwareArgs(), [
        "virtio-cryptodev-pci,id=cryptodev0,engine=builtin",
      ]);
      [d] = m.devices as [VirtioCryptodev];
    }, 60_000);

    afterAll(async () => {
      await m?.close();
    });

    // each test starts from a freshly reset device, whatever the last left
    beforeEach(async () => {
      await d.reset();
    });

    interface BigJobs {
      sub: Submitted;
      /** used entries before them (OPEN, CREATE_SESSION) */
      base: number;
    }

    /** 12 CRYPTs of 2 MiB in fresh (zero) memory, kicked, not collected. */
    async function bigJobs(): Promise<BigJobs> {
      const h = await open(d);
      const s = (await session(d, h, { cipher: ALG.AES_CBC, key })).id;
      const base = await d.usedIndex();
      const src = randomBytes(BIG);
      const jobs = Array.from({ length: JOBS }, (_, i) =>
        cryptChain({ handle: h, session: s, iv, src, tag: BigInt(i + 1) }),
      );
      const sub = await d.submit(jobs, bufBase);
      bufBase += JOBS * 2 * (BIG + 4096);
      return { sub, base };
    }

    /**
     * Which of the jobs not answered before the reset (`answered`: the used
     * ring as the reset left it) have anything written in their writable
     * buffers (first and last 4 KiB: output and response).
     */
    async function writtenAfter(jobs: BigJobs, answered: number[]): Promise<number[]> {
      const before = new Set(answered.slice(jobs.base));
      const written: number[] = [];
      for (const [i, bufs] of jobs.sub.writable.entries()) {
        if (before.has(jobs.sub.heads[i] ?? -1)) continue;
        for (const b of bufs) {
          const n = Math.min(4096, b.len);
          const head = await d.peek(b.addr, n);
          const tail = await d.peek(b.addr + b.len - n, n);
          if (head.some((x) => x !== 0) || tail.some((x) => x !== 0)) written.push(i);
        }
      }
      return written;
    }

    async function settled(): Promise<void> {
      const deadline = Date.now() + 60_000;
      while (Number(await qom(m, "cryptodev0", "in-flight")) !== 0) {
        if (Date.now() > deadline) throw new Error("jobs still in flight after 60 s");
        await new Promise((r) => setTimeout(r, 10));
      }
    }

    /** 16 small known-answer CBC requests: all complete, exact lengths and answers. */
    async function smallKnownAnswers(): Promise<void> {
      const h = await open(d);
      const s = (await session(d, h, { cipher: ALG.AES_CBC, key })).id;
      const pt = Buffer.from(
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" +
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
        "hex",
      );
      const ct = Buffer.from(
        "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2" +
          "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
        "hex",
      );
      const done = await d.batch(
        Array.from({ length: 16 }, (_, i) =>
          cryptChain({ handle: h, session: s, iv, src: pt, tag: BigInt(1000 + i) }),
        ),
        10_000,
      );
      expect(done).toHaveLength(16);
      for (const [i, c] of done.entries()) {
        expect(c.usedLen).toBe(64 + RESP_SIZE);
        const a = answer(c.data, c.usedLen);
        expect(a.resp.status).toBe(0);
        expect(a.resp.tag).toBe(BigInt(1000 + i));
        expect(a.out).toEqual(ct);
      }
      expect((await call(d, chain({ op: OP.CLOSE, handle: h }))).resp.status).toBe(0);
    }

    it("a queue reset drops the jobs' completions: no write into reclaimed buffers, nothing stale on the new ring", async () => {
      expect(d.ringReset).toBe(true);
      for (let round = 0; round < 2; round++) {
        const jobs = await bigJobs();
        const answered = await d.queueReset(ringBase);
        ringBase += 0x1_0000;
        await smallKnownAnswers();
        await settled();
        expect(await writtenAfter(jobs, answered), `round ${round}`).toEqual([]);
        expect(await d.usedIndex()).toBe(16 + 2 + 1); // OPEN, CREATE_SESSION, 16 CRYPTs, CLOSE
        expect((await d.status()) & STATUS_NEEDS_RESET).toBe(0);
        await d.reset();
      }
      expect(m.alive()).toBe(true);
    });

    it("a device reset drops the jobs' completions the same way", async () => {
      const jobs = await bigJobs();
      const answered = await d.reset();
      await settled();
      expect(await writtenAfter(jobs, answered)).toEqual([]);
      await smallKnownAnswers();
      expect(m.alive()).toBe(true);
    });

    it("stopping the VM waits for the jobs; a kick while stopped waits for cont", async () => {
      const jobs = await bigJobs();
      await m.qmp.execute("stop");
      // the stop has let every job complete: all answered, none in flight
      expect(await qom(m, "cryptodev0", "in-flight")).toBe(0);
      expect(await d.usedIndex()).toBe(jobs.base + JOBS);
      for (const c of await d.collect(jobs.sub, 1000)) {
        expect(c.usedLen).toBe(BIG + RESP_SIZE);
        expect(answer(c.data, c.usedLen).resp.status).toBe(0);
      }
      const sub = await d.submit([chain({ op: OP.OPEN })], 0x0300_0000);
      await new Promise((r) => setTimeout(r, 300));
      expect(await d.usedIndex()).toBe(jobs.base + JOBS);
      await m.qmp.execute("cont");
      const [c] = await d.collect(sub, 10_000);
      expect(c && answer(c.data, c.usedLen).resp.status).toBe(0);
      await d.reset();
    });
  },
);
