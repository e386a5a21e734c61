/**
 * Salted password hashes: scrypt (N=2^14, r=8, p=1), 16-byte random salt,
 * stored as "scrypt$N$r$p$<salt b64>$<hash b64>". Hashing runs on libuv's
 * thread pool, so the event loop keeps serving other clients meanwhile.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";

const N = 1 << 14;
const R = 8;
const P = 1;
const KEYLEN = 32;

function scrypt(pw: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(pw, salt, KEYLEN, { N: n, r, p, maxmem: 256 * n * r }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** A hash of a random password: verified against when the user does not exist. */
let decoy: Promise<string> | undefined;

/** Constant-time check; a missing user costs the same scrypt as a wrong password. */
export async function verifyPassword(
  password: string,
  stored: string | undefined,
): Promise<boolean> {
  decoy ??= hashPassword(randomBytes(16).toString("hex"));
  const s = stored ?? (await decoy);
  const parts = s.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![n, r, p].every((x) => Number.isSafeInteger(x) && x > 0) || n > 1 << 20) return false;
  const want = Buffer.from(parts[5]!, "base64");
  const got = await scrypt(password, Buffer.from(parts[4]!, "base64"), n, r, p);
  return stored !== undefined && want.length === got.length && timingSafeEqual(want, got);
}
