/**
 * The cryptodev provider checked against the node provider, in the guest.
 * Bundled by `lab build app` into ts-app/dist/cryptodev-selftest.mjs:
 *
 *   node /lab/ts-app/dist/cryptodev-selftest.mjs [DEVICE...]   (default /dev/cryptodev0)
 *
 * For each device: NIST SP 800-38A CBC, RFC 4231 HMAC and GCM
 * specification vectors (ts-app/e2e/vectors.ts), random inputs byte for
 * byte against node:crypto, the chat's sealed frames of both suites
 * byte-identical between providers with the device round trips per frame
 * counted (the driver's sysfs `requests`), many requests in flight at once,
 * typed errors from the driver. Prints one
 * JSON line per check, {"type":"check","device":...,"name":...,"ok":...,
 * "detail":...}, then {"type":"done","failed":N}; exit code 0 when all pass.
 */
import { randomBytes, randomInt } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import {
  CryptodevError,
  loadBinding,
  openCryptodevProvider,
  typed,
  type CryptodevProvider,
} from "../src/crypto/cryptodev.ts";
import { createNodeProvider } from "../src/crypto/node.ts";
import { CryptoProviderError } from "../src/errors.ts";
import { FrameReader } from "../src/protocol/frames.ts";
import {
  ContentType,
  open,
  seal,
  type CbcHmacKeys,
  type DirectionKeys,
  type GcmKeys,
} from "../src/protocol/secure.ts";
import { cbcVectors, gcmVectors, hmacVectors } from "./vectors.ts";

const h = (s: string) => Buffer.from(s, "hex");
let failed = 0;

function report(device: string, name: string, ok: boolean, detail = ""): void {
  if (!ok) failed++;
  process.stdout.write(JSON.stringify({ type: "check", device, name, ok, detail }) + "\n");
}

async function check(
  device: string,
  name: string,
  fn: () => Promise<string | void>,
): Promise<void> {
  try {
    const detail = await fn();
    report(device, name, true, detail ?? "");
  } catch (e) {
    const err = e as Error & { code?: string };
    report(device, name, false, `${err.code ? err.code + ": " : ""}${err.message}`);
  }
}

function same(what: string, got: Buffer, want: Buffer | string): void {
  const w = typeof want === "string" ? want : want.toString("hex");
  const g = got.toString("hex").slice(0, w.length);
  if (g !== w) throw new Error(`${what}: got ${g.slice(0, 64)}..., want ${w.slice(0, 64)}...`);
}

async function expectError(
  p: Promise<unknown>,
  want: { code?: string; ioctl?: string; cls: new (...args: never[]) => CryptoProviderError },
): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof want.cls)) throw new Error(`expected ${want.cls.name}, got ${String(e)}`);
  const ce = e as CryptodevError;
  if (want.code && ce.code !== want.code)
    throw new Error(`expected ${want.code}, got ${ce.code}: ${ce.message}`);
  if (want.ioctl && ce.ioctl !== want.ioctl)
    throw new Error(`expected ioctl ${want.ioctl}, got ${ce.ioctl}`);
  return ce.message;
}

/** The driver's count of requests the device answered on `device` (sysfs). */
function deviceRequests(device: string): number {
  return Number(readFileSync(`/sys/class/cryptodev/${basename(device)}/requests`, "utf8"));
}

/**
 * Seals `n` frames with `keys` through `dev` and opens them again: every
 * frame byte-identical to the node provider's, each opening through the
 * other provider too. Returns the device requests per frame sealed and
 * per frame opened (the sessions are made before counting).
 */
async function framesThroughBoth(
  device: string,
  dev: CryptodevProvider,
  node: ReturnType<typeof createNodeProvider>,
  keys: DirectionKeys,
  n: number,
): Promise<{ seal: number; open: number }> {
  const bodies = Array.from({ length: n }, (_, i) =>
    Buffer.from(JSON.stringify({ id: i, op: "send", text: randomBytes(i * 7).toString("hex") })),
  );
  const iv = randomBytes(16); // suite 1's per-frame IV, the same for both providers
  const warm = await seal(dev, keys, 0, ContentType.DATA, bodies[0]!, iv);
  await open(dev, keys, 0, new FrameReader().push(warm)[0]!);
  const before = deviceRequests(device);
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const f = await seal(dev, keys, i, ContentType.DATA, bodies[i]!, iv);
    same(`frame ${i}`, f, await seal(node, keys, i, ContentType.DATA, bodies[i]!, iv));
    frames.push(f);
  }
  const sealed = deviceRequests(device);
  for (let i = 0; i < n; i++) {
    const f = new FrameReader().push(frames[i]!)[0]!;
    const rec = await open(dev, keys, i, f);
    same(`opened ${i}`, rec.body, bodies[i]!);
  }
  const opened = deviceRequests(device);
  for (let i = 0; i < n; i++) {
    const rec = await open(node, keys, i, new FrameReader().push(frames[i]!)[0]!);
    same(`node opened ${i}`, rec.body, bodies[i]!);
  }
  // a tampered frame: refused, nothing decrypted
  const bad = Buffer.from(frames[0]!);
  bad[bad.length - 1]! ^= 1;
  const err = await open(dev, keys, 0, new FrameReader().push(bad)[0]!).then(
    () => undefined,
    (e: unknown) => e as { code?: string },
  );
  if (err?.code !== "bad_mac") throw new Error(`tampered frame: ${JSON.stringify(err)}`);
  return { seal: (sealed - before) / n, open: (opened - sealed) / n };
}

async function checkDevice(device: string): Promise<void> {
  const node = createNodeProvider();
  let dev: CryptodevProvider;
  try {
    dev = await openCryptodevProvider(device);
    report(device, "open", true, device);
  } catch (e) {
    report(device, "open", false, (e as Error).message);
    return;
  }
  try {
    for (const v of cbcVectors) {
      await check(device, `${v.name} encrypt`, async () =>
        same(
          "ciphertext",
          await dev.aesCbcEncrypt(h(v.key), h(v.iv), h(v.plaintext)),
          v.ciphertext,
        ),
      );
      await check(device, `${v.name} decrypt`, async () =>
        same("plaintext", await dev.aesCbcDecrypt(h(v.key), h(v.iv), h(v.ciphertext)), v.plaintext),
      );
    }
    for (const v of hmacVectors)
      await check(device, v.name, async () =>
        same("mac", await dev.hmacSha256(h(v.key), h(v.data)), v.mac),
      );

    for (const v of gcmVectors)
      await check(device, `${v.name} seal and open`, async () => {
        same("sealed", await dev.aesGcmSeal(h(v.key), h(v.iv), h(v.aad), h(v.plaintext)), v.sealed);
        const pt = await dev.aesGcmOpen(h(v.key), h(v.iv), h(v.aad), h(v.sealed));
        if (!pt) throw new Error("the vector's tag did not verify");
        same("plaintext", pt, v.plaintext);
      });

    await check(
      device,
      "random AES-GCM inputs byte-identical to node:crypto; a bad tag opens to nothing",
      async () => {
        let bytes = 0;
        for (let i = 0; i < 40; i++) {
          const key = randomBytes([16, 24, 32][i % 3] ?? 16);
          const iv = randomBytes(12);
          const aad = randomBytes(i % 4 === 0 ? 0 : randomInt(1, 200));
          const data = randomBytes(i === 1 ? 0 : randomInt(1, i < 30 ? 300 : 8000));
          const sealed = await dev.aesGcmSeal(key, iv, aad, data);
          same(`seal ${data.length} B`, sealed, await node.aesGcmSeal(key, iv, aad, data));
          const pt = await dev.aesGcmOpen(key, iv, aad, sealed);
          if (!pt || !pt.equals(data)) throw new Error(`open ${data.length} B: wrong plaintext`);
          const bad = Buffer.from(sealed);
          bad[randomInt(0, bad.length)]! ^= 1 << randomInt(0, 8);
          if ((await dev.aesGcmOpen(key, iv, aad, bad)) !== undefined)
            throw new Error(`a flipped bit of ${sealed.length} B opened`);
          bytes += data.length;
        }
        return `${bytes} bytes`;
      },
    );

    await check(
      device,
      "chat frames: suite 2 (AES-GCM) byte-identical to node, one device round trip per frame",
      async () => {
        const keys: GcmKeys = { suite: 2, enc: randomBytes(16), iv: randomBytes(12) };
        const per = await framesThroughBoth(device, dev, node, keys, 20);
        if (per.seal !== 1 || per.open !== 1)
          throw new Error(`device requests per frame: seal ${per.seal}, open ${per.open}`);
        return `device requests per frame: seal ${per.seal}, open ${per.open}`;
      },
    );

    await check(
      device,
      "chat frames: suite 1 (AES-CBC + HMAC) byte-identical to node, two round trips per frame",
      async () => {
        const keys: CbcHmacKeys = { enc: randomBytes(16), mac: randomBytes(32) };
        const per = await framesThroughBoth(device, dev, node, keys, 20);
        if (per.seal !== 2 || per.open !== 2)
          throw new Error(`device requests per frame: seal ${per.seal}, open ${per.open}`);
        return `device requests per frame: seal ${per.seal}, open ${per.open}`;
      },
    );

    await check(
      device,
      "random AES-CBC and HMAC inputs byte-identical to node:crypto",
      async () => {
        let bytes = 0;
        for (let i = 0; i < 40; i++) {
          const key = randomBytes([16, 24, 32][i % 3] ?? 16);
          const iv = randomBytes(16);
          const data = randomBytes(16 * (i < 30 ? randomInt(1, 65) : randomInt(1, 4097)));
          const ct = await dev.aesCbcEncrypt(key, iv, data);
          same(`encrypt ${data.length} B`, ct, await node.aesCbcEncrypt(key, iv, data));
          same(`decrypt ${data.length} B`, await dev.aesCbcDecrypt(key, iv, ct), data);
          const msg = randomBytes(i === 0 ? 0 : randomInt(1, 4096));
          const mkey = randomBytes(i % 5 === 0 ? randomInt(65, 700) : i === 1 ? 0 : 32);
          same(
            `hmac ${msg.length} B`,
            await dev.hmacSha256(mkey, msg),
            await node.hmacSha256(mkey, msg),
          );
          bytes += data.length * 2 + msg.length;
        }
        return `${bytes} bytes`;
      },
    );

    await check(device, "200 requests in flight at once, all byte-identical", async () => {
      const key = randomBytes(16);
      const jobs = Array.from({ length: 200 }, async (_, i) => {
        const iv = randomBytes(16);
        const data = randomBytes(16 * (1 + (i % 32)));
        const [a, b] =
          i % 2
            ? await Promise.all([
                dev.aesCbcEncrypt(key, iv, data),
                node.aesCbcEncrypt(key, iv, data),
              ])
            : await Promise.all([dev.hmacSha256(key, data), node.hmacSha256(key, data)]);
        same(`request ${i}`, a, b);
      });
      await Promise.all(jobs);
      // Evicted sessions are freed in the background: wait for those too.
      for (let i = 0; i < 100 && dev.stats().inflight > 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      const s = dev.stats();
      if (s.inflight !== 0) throw new Error(`${s.inflight} requests still in flight after 5 s`);
      return `sessions cached: ${s.sessions}`;
    });

    await check(
      device,
      "the thread-pool path (inlineMax 0): 64 requests in flight, byte-identical",
      async () => {
        const { Device, constants } = loadBinding();
        const { CRYPTO_AES_GCM, COP_ENCRYPT, COP_DECRYPT } = constants;
        const pooled = new Device(device, { inlineMax: 0 });
        await pooled.open();
        try {
          const key = randomBytes(16);
          const ses = await pooled.createSession(CRYPTO_AES_GCM, key, 0, null);
          const inputs = Array.from({ length: 64 }, (_, i) => ({
            iv: randomBytes(12),
            aad: randomBytes(i % 3),
            data: randomBytes(1 + i * 7),
          }));
          const sealing = inputs.map((x) =>
            pooled.authCrypt(ses, COP_ENCRYPT, x.iv, x.aad, x.data, 16),
          );
          // Nothing settles before this turn ends: all 64 wait on the pool.
          const queued = pooled.inflight;
          if (queued !== 64) throw new Error(`${queued} requests in flight, expected 64`);
          const sealed = await Promise.all(sealing);
          for (const [i, x] of inputs.entries()) {
            const s = sealed[i];
            if (!s) throw new Error(`request ${i}: no data`);
            same(`seal ${i}`, s, await node.aesGcmSeal(key, x.iv, x.aad, x.data));
            const pt = await pooled.authCrypt(ses, COP_DECRYPT, x.iv, x.aad, s, 16);
            if (!pt || !pt.equals(x.data)) throw new Error(`open ${i}: wrong plaintext`);
          }
          await pooled.freeSession(ses);
          return `in flight at once: ${queued}`;
        } finally {
          await pooled.close();
        }
      },
    );

    await check(device, "argument errors are typed, as with the node provider", async () => {
      await expectError(dev.aesCbcEncrypt(Buffer.alloc(15), Buffer.alloc(16), Buffer.alloc(16)), {
        cls: CryptoProviderError,
      });
      return expectError(dev.aesCbcDecrypt(Buffer.alloc(16), Buffer.alloc(16), Buffer.alloc(17)), {
        cls: CryptoProviderError,
      });
    });

    // The raw binding, for what the provider never sends: the driver's errno.
    const b = loadBinding();
    const raw = new b.Device(device);
    await raw.open();
    try {
      await check(device, "unknown algorithm: EINVAL from CIOCGSESSION", () =>
        expectError(
          raw.createSession(999, Buffer.alloc(16), 0, null).catch((e: unknown) => {
            throw typed(e);
          }),
          { cls: CryptodevError, code: "EINVAL", ioctl: "CIOCGSESSION" },
        ),
      );
      await check(
        device,
        "unknown session: EINVAL from CIOCCRYPT, with errno and syscall",
        async () => {
          const e = (await raw.crypt(0x7fffffff, 0, Buffer.alloc(16), Buffer.alloc(16), 0).then(
            () => undefined,
            (err: unknown) => err,
          )) as { code?: string; errno?: number; syscall?: string; ioctl?: string } | undefined;
          if (
            !e ||
            e.code !== "EINVAL" ||
            e.errno !== 22 ||
            e.syscall !== "ioctl" ||
            e.ioctl !== "CIOCCRYPT"
          )
            throw new Error(`got ${JSON.stringify(e)}`);
          return `${e.code} errno ${e.errno} ${e.syscall} ${e.ioctl}`;
        },
      );
    } finally {
      await raw.close();
    }

    await check(device, "closed provider refuses work", async () => {
      const p = await openCryptodevProvider(device);
      await p.close();
      return expectError(p.hmacSha256(Buffer.alloc(32), Buffer.alloc(1)), {
        cls: CryptoProviderError,
      });
    });
  } finally {
    await dev.close();
  }
}

async function main(): Promise<number> {
  const devices = process.argv.slice(2);
  if (devices.length === 0) devices.push("/dev/cryptodev0");
  for (const d of devices) await checkDevice(d);
  await check("/dev/cryptodev-missing", "a missing device: ENOENT from open, typed", () =>
    expectError(openCryptodevProvider("/dev/cryptodev-missing"), {
      cls: CryptodevError,
      code: "ENOENT",
    }),
  );
  if (existsSync("/dev/crypto"))
    await check("/dev/crypto", "the /dev/crypto name works too", async () => {
      const p = await openCryptodevProvider("/dev/crypto");
      try {
        const v = cbcVectors[0]!;
        same("ciphertext", await p.aesCbcEncrypt(h(v.key), h(v.iv), h(v.plaintext)), v.ciphertext);
      } finally {
        await p.close();
      }
    });
  process.stdout.write(JSON.stringify({ type: "done", failed }) + "\n");
  return failed ? 1 : 0;
}

process.exitCode = await main();
