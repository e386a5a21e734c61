/**
 * Secure-mode framing: every frame is a big-endian u32 length followed by
 * that many bytes; the first of them is the frame kind. Frames are
 * reassembled across any split of the byte stream; a length of 0 or over
 * the maximum is a framing error (the stream cannot be resynchronised, so
 * the connection is closed).
 */
// BEGIN SOLUTION Z1: (kit) the stubs' import
import { ChatError } from "../errors.ts";
// END SOLUTION Z1: import { type ChatError, NotImplementedError } from "../errors.ts";

export const LENGTH_BYTES = 4;
/** Largest frame body (after the length prefix) a peer may send. */
export const MAX_FRAME = 64 * 1024;

export const FrameKind = {
  /** Handshake, clear: version, mode, suites, key shares (protocol/handshake.ts). */
  HELLO: 1,
  /** Encrypted and authenticated: seq, IV, ciphertext, HMAC (protocol/secure.ts). */
  SEALED: 2,
  /** Clear, unauthenticated notice sent before closing, only while no keys exist yet. */
  ALERT: 3,
} as const;

/** One length-prefixed frame: prefix included, as received (for the MAC). */
export interface Frame {
  kind: number;
  /** The whole frame including its 4-byte length prefix. */
  raw: Buffer;
}

export function encodeFrame(kind: number, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(LENGTH_BYTES + 1 + payload.length);
  out.writeUInt32BE(1 + payload.length, 0);
  out.writeUInt8(kind, LENGTH_BYTES);
  Buffer.from(payload.buffer, payload.byteOffset, payload.length).copy(out, LENGTH_BYTES + 1);
  return out;
}

/** The bytes after the kind byte. */
export function framePayload(f: Frame): Buffer {
  return f.raw.subarray(LENGTH_BYTES + 1);
}

/**
 * Incremental frame parser. `push` returns the complete frames so far and
 * throws ChatError("bad_frame") on a length out of range; after an error
 * the reader stays failed.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private failed: ChatError | undefined;

  constructor(private maxFrame = MAX_FRAME) {}

  /** Changes the largest frame accepted from now on (small before the handshake and login). */
  setMaxFrame(n: number): void {
    this.maxFrame = n;
  }

  push(chunk: Uint8Array): Frame[] {
    /* BEGIN SOLUTION Z1: FrameReader.push: whole frames out of any split of the stream */
    if (this.failed) throw this.failed;
    if (chunk.length) {
      this.chunks.push(Buffer.from(chunk));
      this.size += chunk.length;
    }
    const out: Frame[] = [];
    while (this.size >= LENGTH_BYTES) {
      const head = this.peek(LENGTH_BYTES);
      const len = head.readUInt32BE(0);
      if (len < 1 || len > this.maxFrame) {
        this.failed = new ChatError(
          "bad_frame",
          `frame length ${len} out of range 1..${this.maxFrame}`,
        );
        throw this.failed;
      }
      if (this.size < LENGTH_BYTES + len) break;
      const raw = this.take(LENGTH_BYTES + len);
      out.push({ kind: raw.readUInt8(LENGTH_BYTES), raw });
    }
    return out;
    /* END SOLUTION Z1
     * void chunk;
     * throw new NotImplementedError("Z1", "FrameReader.push");
     */
  }

  /** Bytes of an incomplete frame held (for the slow-peer timer). */
  get pending(): number {
    return this.size;
  }

  /* BEGIN SOLUTION Z1: FrameReader helpers (yours to shape) */
  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) return first.subarray(0, n);
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const raw = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.size -= n;
    return raw;
  }
  /* END SOLUTION Z1 */
}
