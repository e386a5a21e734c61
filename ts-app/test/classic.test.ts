import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Command,
  PACKET_SIZE,
  PacketReader,
  PacketType,
  answerPacket,
  bodyText,
  decodePacket,
  encodePacket,
  fieldText,
} from "../src/protocol/classic.ts";

describe("classic packet codec", () => {
  it("lays a SEND out exactly as the seed's struct on x86-64", () => {
    const b = encodePacket({
      command: Command.SEND,
      arg1: "alice",
      arg2: "pw",
      arg3: "general",
      arg4: "",
      body: "hi!",
      id: 0x01020304,
    });
    expect(b.length).toBe(304);
    const expected = Buffer.alloc(304);
    expected[0] = 0; // QUESTION
    expected[1] = 3; // SEND
    expected.write("alice", 2); // arg1 at 2
    expected.write("pw", 10); // arg2 at 10
    expected.write("general", 18); // arg3 at 18
    // arg4 at 26..33 empty, padding 34..35 zero
    expected.set([3, 0, 0, 0], 36); // length, little-endian
    expected.set([4, 3, 2, 1], 40); // id, little-endian
    expected.write("hi!", 44); // body at 44
    expect(b.toString("hex")).toBe(expected.toString("hex"));
    expect(b.subarray(0, 48).toString("hex")).toBe(
      "0003" +
        "616c696365000000" +
        "7077000000000000" +
        "67656e6572616c00" +
        "0000000000000000" +
        "0000" +
        "03000000" +
        "04030201" +
        "68692100",
    );
  });

  it("is a whole number of AES blocks", () => {
    expect(PACKET_SIZE % 16).toBe(0);
  });

  it("answers carry ANSWER, the result command, a NUL-terminated body and the id", () => {
    const a = decodePacket(answerPacket(false, "No such packet", 7));
    expect(a.packetType).toBe(PacketType.ANSWER);
    expect(a.command).toBe(Command.SERVER_FAILURE);
    expect(a.id).toBe(7);
    expect(a.length).toBe(14);
    expect(fieldText(a.body)).toBe("No such packet");
    const long = decodePacket(answerPacket(true, "é".repeat(200)));
    expect(long.length).toBeLessThanOrEqual(259);
    expect(long.body[259]).toBe(0);
    expect(fieldText(long.body)).toBe("é".repeat(129)); // cut on a character boundary
  });

  it("reads an 8-byte field with no NUL as 8 characters, never more", () => {
    const b = encodePacket({ command: Command.CREATE_USER, arg1: "abcdefgh", arg2: "12345678" });
    const p = decodePacket(b);
    expect(fieldText(p.arg1)).toBe("abcdefgh");
    expect(fieldText(p.arg2)).toBe("12345678");
  });

  it("rejects body lengths out of 0..260 and cuts the text at a NUL", () => {
    const p = decodePacket(encodePacket({ command: Command.SEND, body: "abc", length: 261 }));
    expect(bodyText(p)).toBeUndefined();
    expect(bodyText({ ...p, length: -1 })).toBeUndefined();
    const q = decodePacket(encodePacket({ command: Command.SEND, body: "ab\0cd", length: 5 }));
    expect(bodyText(q)).toBe("ab");
    expect(() => encodePacket({ command: Command.SEND, arg1: "123456789" })).toThrow(RangeError);
  });

  it("reassembles packets across any split of the stream", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 304, maxLength: 304 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 20 }),
        (packets, cuts) => {
          const stream = Buffer.concat(packets);
          const r = new PacketReader();
          const got: Buffer[] = [];
          let off = 0;
          let i = 0;
          while (off < stream.length) {
            const n = cuts[i++ % cuts.length]!;
            got.push(...r.push(stream.subarray(off, off + n)));
            off += n;
          }
          expect(got.map((g) => g.toString("hex"))).toEqual(
            packets.map((p) => Buffer.from(p).toString("hex")),
          );
          expect(r.pending).toBe(0);
        },
      ),
    );
  });
});
