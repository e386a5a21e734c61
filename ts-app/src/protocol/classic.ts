/**
 * The seed's "AN Protocol 2.0" packet, byte for byte as the C struct lays it
 * out on x86-64 (little-endian, natural alignment):
 *
 *   off  size  field
 *     0     1  u8  packet_type   QUESTION=0, ANSWER=1
 *     1     1  u8  command       CREATE_USER=0 .. READ=4, SERVER_SUCCESS=5, SERVER_FAILURE=6
 *     2     8  char arg1[8]      NUL-padded; all 8 bytes may be used (no terminator)
 *    10     8  char arg2[8]
 *    18     8  char arg3[8]
 *    26     8  char arg4[8]
 *    34     2  padding (zero)    aligns the ints
 *    36     4  i32 length        body length in bytes
 *    40     4  i32 id            READ: message number asked / highest id answered
 *    44   260  char body[260]
 *   304        total, 19 AES blocks
 *
 * On the wire each packet is AES-128-CBC encrypted whole with the configured
 * key and IV (CBC restarted for every packet, no padding).
 */
// BEGIN SOLUTION Z1: (kit) the stubs' import
// END SOLUTION Z1: import { NotImplementedError } from "../errors.ts";
export const PACKET_SIZE = 304;
export const FIELD_SIZE = 8;
export const BODY_SIZE = 260;

export const PacketType = { QUESTION: 0, ANSWER: 1 } as const;
export const Command = {
  CREATE_USER: 0,
  CREATE_CHANNEL: 1,
  ADD_USER: 2,
  SEND: 3,
  READ: 4,
  SERVER_SUCCESS: 5,
  SERVER_FAILURE: 6,
} as const;
export type CommandCode = (typeof Command)[keyof typeof Command];

export const offsets = {
  packetType: 0,
  command: 1,
  arg1: 2,
  arg2: 10,
  arg3: 18,
  arg4: 26,
  length: 36,
  id: 40,
  body: 44,
} as const;

/** A decoded packet; args and body are raw bytes (the C side has no encoding). */
export interface ClassicPacket {
  packetType: number;
  command: number;
  arg1: Buffer;
  arg2: Buffer;
  arg3: Buffer;
  arg4: Buffer;
  length: number;
  id: number;
  /** All 260 body bytes as received. */
  body: Buffer;
}

export interface PacketFields {
  packetType?: number;
  command: number;
  arg1?: string | Uint8Array;
  arg2?: string | Uint8Array;
  arg3?: string | Uint8Array;
  arg4?: string | Uint8Array;
  /** Defaults to the body's byte length. */
  length?: number;
  id?: number;
  body?: string | Uint8Array;
}

/* BEGIN SOLUTION Z1: encodePacket's helpers (yours to shape) */
function bytes(v: string | Uint8Array | undefined): Buffer {
  if (v === undefined) return Buffer.alloc(0);
  return typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v);
}
/* END SOLUTION Z1 */

/**
 * Builds the 304 plaintext bytes. Throws RangeError when an argument is over
 * 8 bytes or the body over 260 (the caller decides whether to truncate).
 */
export function encodePacket(f: PacketFields): Buffer {
  /* BEGIN SOLUTION Z1: encodePacket: the seed's struct, byte for byte (offsets above) */
  const buf = Buffer.alloc(PACKET_SIZE);
  buf.writeUInt8(f.packetType ?? PacketType.QUESTION, offsets.packetType);
  buf.writeUInt8(f.command, offsets.command);
  for (const k of ["arg1", "arg2", "arg3", "arg4"] as const) {
    const b = bytes(f[k]);
    if (b.length > FIELD_SIZE) throw new RangeError(`${k} is ${b.length} bytes, the field holds 8`);
    b.copy(buf, offsets[k]);
  }
  const body = bytes(f.body);
  if (body.length > BODY_SIZE) throw new RangeError(`body is ${body.length} bytes, at most 260`);
  body.copy(buf, offsets.body);
  buf.writeInt32LE(f.length ?? body.length, offsets.length);
  buf.writeInt32LE(f.id ?? 0, offsets.id);
  return buf;
  /* END SOLUTION Z1
   * void f;
   * throw new NotImplementedError("Z1", "encodePacket");
   */
}

/** Splits 304 plaintext bytes into fields; never reads past the buffer. */
export function decodePacket(buf: Uint8Array): ClassicPacket {
  /* BEGIN SOLUTION Z1: decodePacket: 304 bytes into fields, never reading past the buffer */
  if (buf.length !== PACKET_SIZE)
    throw new RangeError(`a packet is ${PACKET_SIZE} bytes, got ${buf.length}`);
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const field = (o: number) => Buffer.from(b.subarray(o, o + FIELD_SIZE));
  return {
    packetType: b.readUInt8(offsets.packetType),
    command: b.readUInt8(offsets.command),
    arg1: field(offsets.arg1),
    arg2: field(offsets.arg2),
    arg3: field(offsets.arg3),
    arg4: field(offsets.arg4),
    length: b.readInt32LE(offsets.length),
    id: b.readInt32LE(offsets.id),
    body: Buffer.from(b.subarray(offsets.body, offsets.body + BODY_SIZE)),
  };
  /* END SOLUTION Z1
   * void buf;
   * throw new NotImplementedError("Z1", "decodePacket");
   */
}

/**
 * A fixed-size C string field as text: up to the first NUL, or all of it
 * when the sender filled every byte (no terminator, no overflow either).
 */
export function fieldText(field: Buffer): string {
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString("utf8");
}

/**
 * The message text of a SEND: `length` bytes of the body, cut at a NUL if
 * one comes first. Returns undefined when `length` is out of 0..260.
 */
export function bodyText(p: ClassicPacket): string | undefined {
  if (p.length < 0 || p.length > BODY_SIZE) return undefined;
  const raw = p.body.subarray(0, p.length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? raw.length : nul).toString("utf8");
}

/**
 * A server answer: SERVER_SUCCESS or SERVER_FAILURE with a text in the body.
 * The text is cut to 259 bytes (on a UTF-8 boundary) so the body always
 * holds a terminating NUL; `length` is the text's byte length.
 */
export function answerPacket(ok: boolean, text: string, id = 0): Buffer {
  const body = truncateUtf8(text, BODY_SIZE - 1);
  return encodePacket({
    packetType: PacketType.ANSWER,
    command: ok ? Command.SERVER_SUCCESS : Command.SERVER_FAILURE,
    body,
    length: body.length,
    id,
  });
}

export function truncateUtf8(text: string, max: number): Buffer {
  const b = Buffer.from(text, "utf8");
  if (b.length <= max) return b;
  let end = max;
  // Back off continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && ((b[end] ?? 0) & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}

/** Fixed-size packet reassembly: bytes in, whole 304-byte packets out. */
export class PacketReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): Buffer[] {
    /* BEGIN SOLUTION Z1: PacketReader.push: whole 304-byte packets out of any split of the stream */
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    const out: Buffer[] = [];
    while (this.buf.length >= PACKET_SIZE) {
      out.push(Buffer.from(this.buf.subarray(0, PACKET_SIZE)));
      this.buf = this.buf.subarray(PACKET_SIZE);
    }
    return out;
    /* END SOLUTION Z1
     * void chunk;
     * throw new NotImplementedError("Z1", "PacketReader.push");
     */
  }

  /** Bytes of an incomplete packet waiting for the rest. */
  get pending(): number {
    return this.buf.length;
  }
}
