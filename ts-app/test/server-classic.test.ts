/**
 * Classic mode against the bytes a C client written from the seed would
 * send: the struct filled in, encrypted whole with AES-128-CBC (key, IV,
 * no padding), written to the socket; the answer read back the same way.
 * Encryption here is node:crypto directly, not the chat's own code.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  Command,
  PACKET_SIZE,
  PacketType,
  decodePacket,
  encodePacket,
  fieldText,
  type PacketFields,
} from "../src/protocol/classic.ts";
import {
  classicIv,
  classicKey,
  rawSocket,
  readUntilClose,
  startServer,
  type Running,
} from "./helpers.ts";

let srv: Running | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

function cbc(enc: boolean, data: Buffer, key: Buffer = classicKey): Buffer {
  const c = enc
    ? createCipheriv("aes-128-cbc", key, classicIv)
    : createDecipheriv("aes-128-cbc", key, classicIv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

const q = (f: PacketFields, key?: Buffer) => cbc(true, encodePacket(f), key);

interface Answer {
  ok: boolean;
  type: number;
  text: string;
  id: number;
  length: number;
}

function answers(bytes: Buffer): Answer[] {
  expect(bytes.length % PACKET_SIZE).toBe(0);
  const out: Answer[] = [];
  for (let o = 0; o < bytes.length; o += PACKET_SIZE) {
    const p = decodePacket(cbc(false, bytes.subarray(o, o + PACKET_SIZE)));
    expect([Command.SERVER_SUCCESS, Command.SERVER_FAILURE]).toContain(p.command);
    out.push({
      ok: p.command === Command.SERVER_SUCCESS,
      type: p.packetType,
      text: fieldText(p.body),
      id: p.id,
      length: p.length,
    });
  }
  return out;
}

/** Sends the packets in one write, half-closes, returns the decoded answers. */
async function exchange(port: number, packets: Buffer[]): Promise<Answer[]> {
  const s = await rawSocket(port);
  const all = readUntilClose(s);
  s.end(Buffer.concat(packets));
  return answers(await all);
}

const { CREATE_USER, CREATE_CHANNEL, ADD_USER, SEND, READ } = Command;

describe("classic server (AN Protocol 2.0)", () => {
  it("answers several requests on one connection, in order, with the seed's semantics fixed", async () => {
    srv = await startServer({ mode: "classic" });
    const a = await exchange(srv.port, [
      q({ command: CREATE_USER, arg1: "alice", arg2: "pw1" }),
      q({ command: CREATE_USER, arg1: "bob", arg2: "pw2" }),
      q({ command: CREATE_USER, arg1: "alice", arg2: "x" }), // exists
      q({ command: CREATE_CHANNEL, arg1: "alice", arg3: "general" }),
      q({ command: CREATE_CHANNEL, arg1: "bob", arg3: "general" }), // exists
      q({ command: SEND, arg1: "bob", arg2: "pw2", arg3: "general", body: "hi" }), // not a member
      q({ command: ADD_USER, arg1: "alice", arg2: "bad", arg3: "general", arg4: "bob" }), // bad password
      q({ command: ADD_USER, arg1: "alice", arg2: "pw1", arg3: "general", arg4: "bob" }),
      q({ command: SEND, arg1: "alice", arg2: "pw1", arg3: "general", body: "hello bob" }),
      q({ command: SEND, arg1: "bob", arg2: "pw2", arg3: "general", body: "hi alice" }),
      q({ command: READ, arg1: "bob", arg2: "pw2", arg3: "general", id: 0 }),
      q({ command: READ, arg1: "alice", arg2: "pw1", arg3: "general", id: 1 }),
      q({ command: READ, arg1: "alice", arg2: "pw1", arg3: "general", id: 2 }), // missing
      q({ command: READ, arg1: "alice", arg2: "pw1", arg3: "nowhere", id: 0 }),
      q({ command: 9, arg1: "alice", arg2: "pw1" }), // unknown command
    ]);
    expect(a.map((x) => [x.ok, x.text])).toEqual([
      [true, "User created successfully."],
      [true, "User created successfully."],
      [false, "User already exists"],
      [true, "Created channel general"],
      [false, "Channel already exists."],
      [false, "Access denied for that channel"],
      [false, "Failed to validate user"],
      [true, "added user bob to general"],
      [true, "Sent packet successfully"],
      [true, "Sent packet successfully"],
      [true, "[alice]\t hello bob"],
      [true, "[bob]\t hi alice"],
      [false, "No such packet"],
      [false, "Access denied for that channel"],
      [false, "Failed Question"],
    ]);
    for (const x of a) {
      expect(x.type).toBe(PacketType.ANSWER);
      expect(x.length).toBe(Buffer.byteLength(x.text));
    }
    expect(a[10]!.id).toBe(1); // READ answers carry the channel's highest id
    expect(a[11]!.id).toBe(1);
  });

  it("serves a client that sends one request and closes, on fresh connections each time", async () => {
    srv = await startServer({ mode: "classic" });
    const one = (f: PacketFields) => exchange(srv!.port, [q(f)]).then((a) => a[0]!);
    expect(await one({ command: CREATE_USER, arg1: "carol", arg2: "secret" })).toMatchObject({
      ok: true,
    });
    expect(
      await one({ command: CREATE_CHANNEL, arg1: "carol", arg2: "secret", arg3: "c" }),
    ).toMatchObject({ ok: true });
    expect(
      await one({ command: SEND, arg1: "carol", arg2: "secret", arg3: "c", body: "x" }),
    ).toMatchObject({ ok: true });
    expect(
      await one({ command: READ, arg1: "carol", arg2: "secret", arg3: "c", id: 0 }),
    ).toMatchObject({
      ok: true,
      text: "[carol]\t x",
      id: 0,
    });
  });

  it("takes 8-byte fields with no NUL, and refuses bad lengths and bad packet types", async () => {
    srv = await startServer({ mode: "classic" });
    const a = await exchange(srv.port, [
      q({ command: CREATE_USER, arg1: "eightchr", arg2: "12345678" }),
      q({ command: CREATE_CHANNEL, arg1: "eightchr", arg2: "12345678", arg3: "channel8" }),
      q({
        command: SEND,
        arg1: "eightchr",
        arg2: "12345678",
        arg3: "channel8",
        body: "ok",
        length: 261,
      }),
      q({
        command: SEND,
        arg1: "eightchr",
        arg2: "12345678",
        arg3: "channel8",
        body: "ok",
        length: -5,
      }),
      q({
        command: SEND,
        arg1: "eightchr",
        arg2: "12345678",
        arg3: "channel8",
        body: "a".repeat(260),
      }),
      q({ command: READ, arg1: "eightchr", arg2: "12345678", arg3: "channel8", id: 0 }),
      q({ packetType: PacketType.ANSWER, command: CREATE_USER, arg1: "mallory", arg2: "x" }),
    ]);
    expect(a.map((x) => x.ok)).toEqual([true, true, false, false, true, true, false]);
    expect(a[5]!.text.startsWith("[eightchr]\t aaaa")).toBe(true);
    expect(Buffer.byteLength(a[5]!.text)).toBe(259); // cut to fit, still NUL-terminated
  });

  it("a wrong key gets failure answers, a partial packet is dropped, others unaffected", async () => {
    srv = await startServer({ mode: "classic" });
    const wrongKey = Buffer.alloc(16, 0x55);
    const bad = await exchange(srv.port, [
      q({ command: CREATE_USER, arg1: "eve", arg2: "x" }, wrongKey),
    ]);
    expect(bad).toHaveLength(1);
    expect(bad[0]!.ok).toBe(false);
    const partial = await exchange(srv.port, [
      q({ command: CREATE_USER, arg1: "eve", arg2: "x" }).subarray(0, 100),
    ]);
    expect(partial).toHaveLength(0);
    const good = await exchange(srv.port, [q({ command: CREATE_USER, arg1: "dave", arg2: "x" })]);
    expect(good[0]).toMatchObject({ ok: true });
  });

  it("answers random garbage packets with failures and keeps serving", async () => {
    srv = await startServer({ mode: "classic" });
    const junk = Array.from({ length: 60 }, () => randomBytes(PACKET_SIZE));
    const a = await exchange(srv.port, junk);
    expect(a).toHaveLength(60);
    expect(a.every((x) => !x.ok && x.type === PacketType.ANSWER)).toBe(true);
    const good = await exchange(srv.port, [q({ command: CREATE_USER, arg1: "gina", arg2: "x" })]);
    expect(good[0]).toMatchObject({ ok: true });
  });

  it("answers a request split into many small writes", async () => {
    srv = await startServer({ mode: "classic" });
    const s = await rawSocket(srv.port);
    const all = readUntilClose(s);
    const pkt = q({ command: CREATE_USER, arg1: "frank", arg2: "x" });
    for (let o = 0; o < pkt.length; o += 7) {
      s.write(pkt.subarray(o, o + 7));
      await new Promise((r) => setImmediate(r));
    }
    s.end();
    expect(answers(await all)).toMatchObject([{ ok: true }]);
  });
});
