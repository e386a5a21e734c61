/**
 * Wire format v1 (include/virtio_cryptodev.h) in TypeScript, for the tests
 * that play the guest driver against the real device.
 */
export const OP = {
  OPEN: 1,
  CLOSE: 2,
  CREATE_SESSION: 3,
  FREE_SESSION: 4,
  CRYPT: 5,
  SESSION_INFO: 6,
} as const;

export const ALG = {
  SHA1_HMAC: 7,
  AES_CBC: 11,
  SHA1: 14,
  NULL: 16,
  SHA2_256_HMAC: 18,
  AES_CTR: 21,
  AES_ECB: 23,
  SHA2_256: 104,
} as const;

export const F_WRITE_IV = 1;
export const REQ_SIZE = 64;
export const RESP_SIZE = 32;
export const INFO_SIZE = 272;

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
  const b = Buffer.alloc(REQ_SIZE);
  b.writeUInt16LE(r.version ?? 1, 0);
  b.writeUInt16LE(r.op, 2);
  b.writeUInt32LE(r.handle ?? 0, 4);
  b.writeBigUInt64LE(r.tag ?? 0n, 8);
  b.writeUInt32LE(r.session ?? 0, 16);
  b.writeUInt32LE(r.cipher ?? 0, 20);
  b.writeUInt32LE(r.mac ?? 0, 24);
  b.writeUInt32LE(r.keylen ?? 0, 28);
  b.writeUInt32LE(r.mackeylen ?? 0, 32);
  b.writeUInt16LE(r.cop ?? 0, 36);
  b.writeUInt16LE(r.flags ?? 0, 38);
  b.writeUInt32LE(r.srcLen ?? 0, 40);
  b.writeUInt32LE(r.ivLen ?? 0, 44);
  b.writeUInt32LE(r.dstLen ?? 0, 48);
  b.writeUInt32LE(r.ivOutLen ?? 0, 52);
  b.writeUInt32LE(r.macLen ?? 0, 56);
  b.writeUInt32LE(r.reserved ?? 0, 60);
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
}

/** The response: the last RESP_SIZE bytes of the writable stream. */
export function decodeResp(stream: Buffer): Resp {
  const b = stream.subarray(stream.length - RESP_SIZE);
  return {
    status: b.readInt32LE(0),
    id: b.readUInt32LE(4),
    tag: b.readBigUInt64LE(8),
    written: b.readUInt32LE(16),
    blockSize: b.readUInt16LE(20),
    ivLen: b.readUInt16LE(22),
    digestLen: b.readUInt16LE(24),
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

function cstr(b: Buffer): string {
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString("latin1");
}

export function decodeInfo(b: Buffer): SessionInfo {
  return {
    cipherName: cstr(b.subarray(0, 64)),
    cipherDriver: cstr(b.subarray(64, 128)),
    hashName: cstr(b.subarray(128, 192)),
    hashDriver: cstr(b.subarray(192, 256)),
    alignmask: b.readUInt32LE(256),
    flags: b.readUInt32LE(260),
  };
}

/** Linux errno values the device answers with (x86-64). */
export const E = {
  E2BIG: 7,
  EBADF: 9,
  EINVAL: 22,
  EMFILE: 24,
  ENOSPC: 28,
  EPROTO: 71,
  EOPNOTSUPP: 95,
} as const;
