/**
 * Wire format v1 (include/virtio_cryptodev.h) in TypeScript, for the tests
 * that play the guest driver against the real device. Every struct is a
 * table of its C members in order; offsets follow from the sizes (the
 * header's structs have no padding). wire.test.ts compiles a C program
 * against the header and checks each struct's size, each member's offset
 * and size, and every constant below against it.
 */

/** One member of a wire struct: where it lies, in bytes. */
export interface WireField {
  offset: number;
  size: number;
}

/** A struct of the header: its C tag, size and members by C name. */
export interface WireStruct<N extends string = string> {
  readonly tag: string;
  readonly size: number;
  readonly fields: Readonly<Record<N, WireField>>;
}

function wireStruct<const N extends string>(
  tag: string,
  members: readonly (readonly [N, number])[],
): WireStruct<N> {
  let offset = 0;
  const fields = {} as Record<N, WireField>;
  for (const [name, size] of members) {
    fields[name] = { offset, size };
    offset += size;
  }
  return { tag, size: offset, fields };
}

export const CONFIG = wireStruct("virtio_cryptodev_config", [
  ["wire_version", 4],
  ["engine", 4],
  ["max_handles", 4],
  ["max_sessions", 4],
  ["max_data_len", 4],
  ["max_wire_version", 4],
  ["reserved", 8],
]);

export const REQ = wireStruct("virtio_cryptodev_req", [
  ["version", 2],
  ["op", 2],
  ["handle", 4],
  ["tag", 8],
  ["session", 4],
  ["cipher", 4],
  ["mac", 4],
  ["keylen", 4],
  ["mackeylen", 4],
  ["cop", 2],
  ["flags", 2],
  ["src_len", 4],
  ["iv_len", 4],
  ["dst_len", 4],
  ["iv_out_len", 4],
  ["mac_len", 4],
  ["reserved", 4],
]);

export const RESP = wireStruct("virtio_cryptodev_resp", [
  ["status", 4],
  ["id", 4],
  ["tag", 8],
  ["written", 4],
  ["block_size", 2],
  ["iv_len", 2],
  ["digest_len", 2],
  ["reserved0", 2],
  ["result_len", 4],
]);

const ALG_NAME = 64;

export const SESSION_INFO = wireStruct("virtio_cryptodev_session_info", [
  ["cipher.name", ALG_NAME],
  ["cipher.driver", ALG_NAME],
  ["hash.name", ALG_NAME],
  ["hash.driver", ALG_NAME],
  ["alignmask", 4],
  ["flags", 4],
  ["reserved", 8],
]);

export const AEAD = wireStruct("virtio_cryptodev_aead", [
  ["auth_len", 4],
  ["tag_len", 4],
  ["src_offset", 4],
  ["reserved", 4],
]);

export const STRUCTS = [CONFIG, REQ, RESP, SESSION_INFO, AEAD] as const;

export const REQ_SIZE = REQ.size;
export const RESP_SIZE = RESP.size;
export const INFO_SIZE = SESSION_INFO.size;

/** enum virtio_cryptodev_op (VIRTIO_CRYPTODEV_OP_<name>) */
export const OP = {
  OPEN: 1,
  CLOSE: 2,
  CREATE_SESSION: 3,
  FREE_SESSION: 4,
  CRYPT: 5,
  SESSION_INFO: 6,
  AUTHCRYPT: 7,
} as const;

/** cryptodev-linux algorithm numbers (CRYPTO_<name>, include/crypto/cryptodev.h) */
export const ALG = {
  MD5_HMAC: 6,
  SHA1_HMAC: 7,
  AES_CBC: 11,
  MD5: 13,
  SHA1: 14,
  NULL: 16,
  SHA2_256_HMAC: 18,
  SHA2_384_HMAC: 19,
  SHA2_512_HMAC: 20,
  AES_CTR: 21,
  AES_ECB: 23,
  AES_GCM: 50,
  SHA2_224: 103,
  SHA2_256: 104,
  SHA2_384: 105,
  SHA2_512: 106,
  SHA2_224_HMAC: 107,
} as const;

/** VIRTIO_CRYPTODEV_F_WRITE_IV */
export const F_WRITE_IV = 1;

/** VIRTIO_CRYPTODEV_F_HASH_<name> (wire version 2) */
export const F_HASH = { UPDATE: 2, FINAL: 4, RESET: 8 } as const;

/** VIRTIO_CRYPTODEV_F_AEAD_<name> (wire version 2, AUTHCRYPT) */
export const F_AEAD = { TLS: 16, SRTP: 32 } as const;

/** VIRTIO_CRYPTODEV_WIRE_VERSION and VIRTIO_CRYPTODEV_WIRE_VERSION_MAX */
export const WIRE_VERSION = { BASE: 1, MAX: 2 } as const;

/** Linux errno values the device answers with (x86-64; E<name> in errno.h). */
export const E = {
  E2BIG: 7,
  EBADF: 9,
  EINVAL: 22,
  EBADMSG: 74,
  EMFILE: 24,
  ENOSPC: 28,
  EPROTO: 71,
  EOPNOTSUPP: 95,
} as const;

function put<N extends string>(b: Buffer, s: WireStruct<N>, name: N, v: number | bigint): void {
  const f = s.fields[name];
  if (f.size === 8) b.writeBigUInt64LE(BigInt(v), f.offset);
  else if (f.size === 4) b.writeUInt32LE(Number(v), f.offset);
  else if (f.size === 2) b.writeUInt16LE(Number(v), f.offset);
  else throw new Error(`${s.tag}.${name}: not an integer member`);
}

function get<N extends string>(b: Buffer, s: WireStruct<N>, name: N): number {
  const f = s.fields[name];
  if (f.size === 4) return b.readUInt32LE(f.offset);
  if (f.size === 2) return b.readUInt16LE(f.offset);
  throw new Error(`${s.tag}.${name}: not a 16- or 32-bit member`);
}

function cstr<N extends string>(b: Buffer, s: WireStruct<N>, name: N): string {
  const f = s.fields[name];
  const field = b.subarray(f.offset, f.offset + f.size);
  const z = field.indexOf(0);
  return field.subarray(0, z < 0 ? field.length : z).toString("latin1");
}

export interface Req {
  version?: number;
  op: number;
  handle?: number;
  tag?: bigint;
  session?: number;
  cipher?: number;
  mac?: number;
  keylen?: number;
  mackeylen?: number;
  cop?: number;
  flags?: number;
  srcLen?: number;
  ivLen?: number;
  dstLen?: number;
  ivOutLen?: number;
  macLen?: number;
  reserved?: number;
}

export function encodeReq(r: Req): Buffer {
  const b = Buffer.alloc(REQ.size);
  put(b, REQ, "version", r.version ?? 1);
  put(b, REQ, "op", r.op);
  put(b, REQ, "handle", r.handle ?? 0);
  put(b, REQ, "tag", r.tag ?? 0n);
  put(b, REQ, "session", r.session ?? 0);
  put(b, REQ, "cipher", r.cipher ?? 0);
  put(b, REQ, "mac", r.mac ?? 0);
  put(b, REQ, "keylen", r.keylen ?? 0);
  put(b, REQ, "mackeylen", r.mackeylen ?? 0);
  put(b, REQ, "cop", r.cop ?? 0);
  put(b, REQ, "flags", r.flags ?? 0);
  put(b, REQ, "src_len", r.srcLen ?? 0);
  put(b, REQ, "iv_len", r.ivLen ?? 0);
  put(b, REQ, "dst_len", r.dstLen ?? 0);
  put(b, REQ, "iv_out_len", r.ivOutLen ?? 0);
  put(b, REQ, "mac_len", r.macLen ?? 0);
  put(b, REQ, "reserved", r.reserved ?? 0);
  return b;
}

export interface Resp {
  status: number;
  id: number;
  tag: bigint;
  written: number;
  blockSize: number;
  ivLen: number;
  digestLen: number;
  resultLen: number;
}

/** struct virtio_cryptodev_aead (AUTHCRYPT, wire version 2) */
export function encodeAead(a: { authLen: number; tagLen: number; srcOffset?: number }): Buffer {
  const b = Buffer.alloc(AEAD.size);
  put(b, AEAD, "auth_len", a.authLen);
  put(b, AEAD, "tag_len", a.tagLen);
  put(b, AEAD, "src_offset", a.srcOffset ?? 0);
  return b;
}

/** The response: the last RESP_SIZE bytes of the writable stream. */
export function decodeResp(stream: Buffer): Resp {
  const b = stream.subarray(stream.length - RESP.size);
  return {
    status: get(b, RESP, "status") | 0,
    id: get(b, RESP, "id"),
    tag: b.readBigUInt64LE(RESP.fields.tag.offset),
    written: get(b, RESP, "written"),
    blockSize: get(b, RESP, "block_size"),
    ivLen: get(b, RESP, "iv_len"),
    digestLen: get(b, RESP, "digest_len"),
    resultLen: get(b, RESP, "result_len"),
  };
}

export interface SessionInfo {
  cipherName: string;
  cipherDriver: string;
  hashName: string;
  hashDriver: string;
  alignmask: number;
  flags: number;
}

export function decodeInfo(b: Buffer): SessionInfo {
  return {
    cipherName: cstr(b, SESSION_INFO, "cipher.name"),
    cipherDriver: cstr(b, SESSION_INFO, "cipher.driver"),
    hashName: cstr(b, SESSION_INFO, "hash.name"),
    hashDriver: cstr(b, SESSION_INFO, "hash.driver"),
    alignmask: get(b, SESSION_INFO, "alignmask"),
    flags: get(b, SESSION_INFO, "flags"),
  };
}
