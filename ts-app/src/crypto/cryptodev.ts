import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
// BEGIN SOLUTION Z2: (kit) the stubs' import
import { CryptoProviderError } from "../errors.ts";
// END SOLUTION Z2: import { CryptoProviderError, NotImplementedError } from "../errors.ts";
import { GCM_TAG_BYTES, checkCbcArgs, checkGcmArgs } from "./node.ts";
import type { CryptoProvider } from "./provider.ts";

/**
 * The `cryptodev` provider: AES-CBC, HMAC-SHA256 (CIOCCRYPT) and AES-GCM
 * (CIOCAUTHCRYPT, one round trip for cipher and tag) through ioctls on
 * /dev/cryptodevN (or /dev/crypto), done by the native binding in
 * ts-app/native/: small requests on the calling thread (the device answers
 * them faster than a thread-pool round trip), large ones on the libuv
 * thread pool, so many are in flight at once. Byte for byte the same
 * results as the `node` provider.
 */

/** What the addon exports (ts-app/native/src/addon.cc, device.cc). */
interface NativeDevice {
  open(): Promise<void>;
  createSession(
    cipher: number,
    key: Uint8Array | null,
    mac: number,
    mackey: Uint8Array | null,
  ): Promise<number>;
  freeSession(ses: number): Promise<void>;
  /** macLen 0: cipher session, resolves to dst; else the digest. */
  crypt(
    ses: number,
    op: number,
    iv: Uint8Array | null,
    src: Uint8Array,
    macLen: number,
  ): Promise<Buffer>;
  /** CIOCAUTHCRYPT on an AEAD session; null: the tag did not verify (EBADMSG). */
  authCrypt(
    ses: number,
    op: number,
    iv: Uint8Array,
    aad: Uint8Array,
    src: Uint8Array,
    tagLen: number,
  ): Promise<Buffer | null>;
  close(): Promise<void>;
  readonly inflight: number;
  readonly path: string;
}

interface NativeBinding {
  /**
   * inlineMax: requests of at most this many bytes (src plus AAD) run on the
   * calling thread, their promise settled before the call returns; larger
   * ones on the thread pool (native/src/device.h). Default 16 KiB; 0: none.
   */
  Device: new (path: string, options?: { inlineMax?: number }) => NativeDevice;
  constants: {
    CRYPTO_AES_CBC: number;
    CRYPTO_AES_GCM: number;
    CRYPTO_SHA2_256_HMAC: number;
    COP_ENCRYPT: number;
    COP_DECRYPT: number;
  };
}

/** The shape of the errors the addon rejects with (see native/src/errors.cc). */
interface NativeSysError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  ioctl?: string;
}

/**
 * A failed syscall on the device: `errno` is the positive C value (as in
 * `os.constants.errno`), `code` its name ("ENOENT"), `syscall` "open",
 * "ioctl" or "close", `ioctl` the request ("CIOCCRYPT") for ioctls.
 */
export class CryptodevError extends CryptoProviderError {
  constructor(
    message: string,
    override readonly errno: number,
    readonly code: string,
    readonly syscall: string,
    readonly path?: string,
    readonly ioctl?: string,
  ) {
    super(message, errno);
  }
}

function isNativeSysError(e: unknown): e is NativeSysError {
  return (
    e instanceof Error &&
    typeof (e as Partial<NativeSysError>).errno === "number" &&
    typeof (e as Partial<NativeSysError>).code === "string" &&
    typeof (e as Partial<NativeSysError>).syscall === "string"
  );
}

/** Rewraps the addon's errors as CryptodevError; anything else unchanged. */
export function typed(e: unknown): unknown {
  if (!isNativeSysError(e)) return e;
  let msg = e.message;
  if (e.syscall === "open" && (e.code === "ENOENT" || e.code === "ENXIO" || e.code === "ENODEV"))
    msg += " (is the vcryptodev driver loaded and a virtio-cryptodev device attached?)";
  return new CryptodevError(msg, e.errno, e.code, e.syscall, e.path, e.ioctl);
}

async function call<T>(p: () => Promise<T>): Promise<T> {
  try {
    return await p();
  } catch (e) {
    throw typed(e);
  }
}

export const bindingFileName = "vcryptodev_binding.node";

/**
 * Where the built addon is looked for: $LAB_CRYPTODEV_BINDING, else
 * ts-app/native/build/Release/ relative to this module, both as a source
 * file (ts-app/src/crypto/) and bundled (ts-app/dist/chat.mjs).
 */
export function bindingCandidates(): string[] {
  const env = process.env.LAB_CRYPTODEV_BINDING;
  if (env) return [env];
  return [
    `../../native/build/Release/${bindingFileName}`,
    `../native/build/Release/${bindingFileName}`,
  ].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
}

let binding: NativeBinding | undefined;

/** Loads the addon once; a clear error when it has not been built. */
export function loadBinding(): NativeBinding {
  if (binding) return binding;
  const candidates = bindingCandidates();
  const file = candidates.find((p) => existsSync(p));
  if (!file)
    throw new CryptoProviderError(
      `the cryptodev native binding is not built (looked for ${candidates.join(", ")}); run: npx lab build binding`,
    );
  const require = createRequire(import.meta.url);
  binding = require(file) as NativeBinding;
  return binding;
}

/**
 * Sessions kept open per device before the least recently used idle one is
 * freed. The chat server uses two keys per connection, in turn: a cache
 * smaller than that set misses on every request (LRU's worst case, a cycle),
 * and each miss costs a session created and one freed. So: as many as the
 * reference device allows per open file (max-sessions, 256), less room for
 * the frees still in flight.
 */
export const maxCachedSessions = 240;

interface CachedSession {
  ses: Promise<number>;
  /** Requests using the session now; only idle sessions are evicted. */
  users: number;
}

/**
 * One session per (algorithm, key), created on first use and reused: a
 * session costs a round trip to the device, a CIOCCRYPT on it one more.
 * Least recently used idle sessions beyond `max` are freed.
 */
export class SessionCache {
  private readonly entries = new Map<string, CachedSession>();

  constructor(
    private readonly dev: Pick<NativeDevice, "freeSession">,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  async use<T>(
    id: string,
    create: () => Promise<number>,
    fn: (ses: number) => Promise<T>,
  ): Promise<T> {
    let entry = this.entries.get(id);
    if (entry) {
      this.entries.delete(id); // re-inserted below: most recently used last
    } else {
      entry = { ses: this.create(create), users: 0 };
      // A failed creation is not cached; the next use tries again.
      entry.ses.catch(() => {
        if (this.entries.get(id) === entry) this.entries.delete(id);
      });
    }
    this.entries.set(id, entry);
    entry.users++;
    try {
      return await fn(await entry.ses);
    } finally {
      entry.users--;
      this.evict();
    }
  }

  /**
   * create(); when the device has no room for another session (ENOSPC: its
   * max-sessions per open file), frees every idle session and tries once
   * more. A busy server's set of keys can outgrow the device's table.
   */
  private async create(create: () => Promise<number>): Promise<number> {
    try {
      return await create();
    } catch (e) {
      if ((e as { code?: unknown } | null)?.code !== "ENOSPC") throw e;
      const idle = [...this.entries].filter(([, x]) => x.users === 0);
      for (const [id] of idle) this.entries.delete(id);
      await Promise.allSettled(idle.map(async ([, x]) => this.dev.freeSession(await x.ses)));
      return create();
    }
  }

  private evict(): void {
    if (this.entries.size <= this.max) return;
    for (const [id, e] of this.entries) {
      if (this.entries.size <= this.max) break;
      if (e.users > 0) continue;
      this.entries.delete(id);
      e.ses.then(
        (ses) => this.dev.freeSession(ses).catch(() => undefined),
        () => undefined,
      );
    }
  }

  /** Frees every session (best effort: closing the device frees them too). */
  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(all.map(async (e) => this.dev.freeSession(await e.ses)));
  }
}

/** The cryptodev provider, plus what the tests and the demo look at. */
export interface CryptodevProvider extends CryptoProvider {
  readonly name: "cryptodev";
  readonly devicePath: string;
  /** Sessions open now and requests in flight on the descriptor. */
  stats(): { sessions: number; inflight: number };
}

const hmacSha256Len = 32;
/** The longest HMAC key the ABI takes (CRYPTO_HMAC_MAX_KEY_LEN). */
const maxMacKeyLen = 512;

/**
 * An HMAC key the device accepts and that gives the same MAC (RFC 2104):
 * a key longer than the hash's block is replaced by its hash anyway, and an
 * empty key is zero-padded to the block just like a single zero byte.
 */
export function deviceMacKey(key: Uint8Array): Uint8Array {
  if (key.length === 0) return new Uint8Array(1);
  if (key.length > maxMacKeyLen) return createHash("sha256").update(key).digest();
  return key;
}

/**
 * Opens `devicePath` and returns a provider on it. Rejects with a
 * CryptodevError (errno, code, syscall) when the device cannot be opened,
 * and with a CryptoProviderError when the addon is not built.
 */
export async function openCryptodevProvider(
  devicePath = "/dev/cryptodev0",
): Promise<CryptodevProvider> {
  const b = loadBinding();
  const { CRYPTO_AES_CBC, CRYPTO_AES_GCM, CRYPTO_SHA2_256_HMAC, COP_ENCRYPT, COP_DECRYPT } =
    b.constants;
  const dev = new b.Device(devicePath);
  await call(() => dev.open());
  const sessions = new SessionCache(dev, maxCachedSessions);
  let closed = false;
  /** Requests started and not settled: close() lets them finish first. */
  const pending = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    const done = () => pending.delete(p);
    p.then(done, done);
    return p;
  };

  const live = () => {
    if (closed) throw new CryptoProviderError("provider is closed");
  };
  /** The session cache's key for a key: its bytes, base64. */
  const keyId = (k: Uint8Array) =>
    Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString("base64");

  const cbc = async (op: number, key: Uint8Array, iv: Uint8Array, data: Uint8Array) => {
    /* BEGIN SOLUTION Z2: cbc: AES-CBC on the device: a session for the key (cached), then CIOCCRYPT */
    live();
    checkCbcArgs(key, iv, data);
    if (data.length === 0) return Buffer.alloc(0);
    return track(
      call(() =>
        sessions.use(
          `aes-cbc:${keyId(key)}`,
          () => dev.createSession(CRYPTO_AES_CBC, key, 0, null),
          (ses) => dev.crypt(ses, op, iv, data, 0),
        ),
      ),
    );
    /* END SOLUTION Z2
     * void [live, track, sessions, keyId, checkCbcArgs, CRYPTO_AES_CBC, op, key, iv, data];
     * throw new NotImplementedError("Z2", "cbc (AES-CBC through /dev/cryptodev)");
     */
  };

  /**
   * AES-GCM: one CIOCAUTHCRYPT (one device round trip) on the key's cached
   * session; the IV and the AAD travel with each request.
   */
  const gcm = async (
    op: number,
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    data: Uint8Array,
  ): Promise<Buffer | null> => {
    /* BEGIN SOLUTION Z2: gcm: AES-GCM on the device in one CIOCAUTHCRYPT (a session for the key, cached) */
    live();
    checkGcmArgs(key, iv, op === COP_DECRYPT ? data : undefined);
    return track(
      call(() =>
        sessions.use(
          `aes-gcm:${keyId(key)}`,
          () => dev.createSession(CRYPTO_AES_GCM, key, 0, null),
          (ses) => dev.authCrypt(ses, op, iv, aad, data, GCM_TAG_BYTES),
        ),
      ),
    );
    /* END SOLUTION Z2
     * void [live, track, sessions, keyId, checkGcmArgs, CRYPTO_AES_GCM, GCM_TAG_BYTES];
     * void [op, key, iv, aad, data];
     * throw new NotImplementedError("Z2", "gcm (AES-GCM through /dev/cryptodev, CIOCAUTHCRYPT)");
     */
  };

  return {
    name: "cryptodev",
    devicePath,
    async aesGcmSeal(key, iv, aad, data) {
      const out = await gcm(COP_ENCRYPT, key, iv, aad, data);
      if (!out) throw new CryptoProviderError("AES-GCM encryption returned no data");
      return out;
    },
    async aesGcmOpen(key, iv, aad, sealed) {
      return (await gcm(COP_DECRYPT, key, iv, aad, sealed)) ?? undefined;
    },
    aesCbcEncrypt: (key, iv, data) => cbc(COP_ENCRYPT, key, iv, data),
    aesCbcDecrypt: (key, iv, data) => cbc(COP_DECRYPT, key, iv, data),
    async hmacSha256(rawKey, data) {
      /* BEGIN SOLUTION Z2: hmacSha256: HMAC-SHA256 on the device (a MAC session, CIOCCRYPT with mac) */
      live();
      const key = deviceMacKey(rawKey);
      return track(
        call(() =>
          sessions.use(
            `hmac-sha256:${keyId(key)}`,
            () => dev.createSession(0, null, CRYPTO_SHA2_256_HMAC, key),
            (ses) => dev.crypt(ses, COP_ENCRYPT, null, data, hmacSha256Len),
          ),
        ),
      );
      /* END SOLUTION Z2
       * void [rawKey, data, CRYPTO_SHA2_256_HMAC, hmacSha256Len];
       * throw new NotImplementedError("Z2", "hmacSha256 (HMAC-SHA256 through /dev/cryptodev)");
       */
    },
    stats: () => ({ sessions: sessions.size, inflight: dev.inflight }),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...pending]);
      await sessions.clear();
      await call(() => dev.close());
    },
  };
}
