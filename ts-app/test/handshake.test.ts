/**
 * The v2 handshake's messages, property-based, and its defences against an
 * active attacker on the path: any altered byte of either hello makes the
 * handshake fail (the client refuses the signature, or the server the
 * hello), never two sides agreeing on keys over different transcripts; a
 * relay with its own host key is caught by the pin; a relay that swaps key
 * shares breaks the signature.
 */
import fc from "fast-check";
import { createServer, connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createNodeProvider } from "../src/crypto/node.ts";
import { ChatError } from "../src/errors.ts";
import { FrameKind, FrameReader, encodeFrame, type Frame } from "../src/protocol/frames.ts";
import {
  MODE_SECURE,
  PROTOCOL_VERSION,
  encodeClientHello,
  encodeServerHello,
  finishClientHandshake,
  parseClientHello,
  parseServerHello,
  serverHandshake,
  startClientHandshake,
  type ClientHello,
  type ServerHello,
} from "../src/protocol/handshake.ts";
import { HostKey, fingerprint, newEphemeral } from "../src/protocol/keys.ts";
import type { Suite } from "../src/protocol/secure.ts";
import { suitesOf } from "../src/cli/options.ts";
import { pinnedHostKey, trustOnFirstUse } from "../src/client/host-keys.ts";
import { client, startServer, type Running } from "./helpers.ts";

const p = createNodeProvider();
const hostKey = HostKey.generate();
const frame = (b: Buffer): Frame => new FrameReader().push(b)[0]!;

const bytes = (n: number) =>
  fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));

const clientHelloArb: fc.Arbitrary<ClientHello> = fc.record({
  version: fc.constant(PROTOCOL_VERSION),
  mode: fc.constant(MODE_SECURE),
  suites: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }),
  random: bytes(32),
  share: bytes(32),
});

const serverHelloArb: fc.Arbitrary<ServerHello> = fc.record({
  version: fc.constant(PROTOCOL_VERSION),
  mode: fc.constant(MODE_SECURE),
  suite: fc.integer({ min: 0, max: 255 }),
  random: bytes(32),
  share: bytes(32),
  hostKey: bytes(32),
  signature: bytes(64),
});

describe("handshake messages (property-based)", () => {
  it("client and server hellos round-trip through their encoding", () => {
    fc.assert(
      fc.property(clientHelloArb, (h) => {
        expect(parseClientHello(frame(encodeClientHello(h)))).toEqual(h);
      }),
    );
    fc.assert(
      fc.property(serverHelloArb, (h) => {
        expect(parseServerHello(frame(encodeServerHello(h)))).toEqual(h);
      }),
    );
  });

  it("garbage is refused as bad_hello, never anything else", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }), (k, d) => {
        for (const parse of [parseClientHello, parseServerHello]) {
          try {
            parse(frame(encodeFrame(k, d)));
          } catch (e) {
            expect(e).toBeInstanceOf(ChatError);
            expect((e as ChatError).code).toBe("bad_hello");
          }
        }
      }),
    );
  });

  it("an untouched handshake gives both sides the same keys, fresh per handshake", async () => {
    const run = async () => {
      const hs = startClientHandshake();
      const srv = await serverHandshake(p, hostKey, frame(hs.hello));
      const cli = await finishClientHandshake(p, hs, frame(srv.reply));
      expect(cli.keys).toEqual(srv.keys);
      expect(cli.hostKey.equals(hostKey.publicKey)).toBe(true);
      return cli.keys;
    };
    const [a, b] = [await run(), await run()];
    expect(a.c2s.enc.equals(b.c2s.enc)).toBe(false);
  });

  it("any altered byte of either hello fails the handshake; keys never agree", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (inClient, at, flip) => {
          const hs = startClientHandshake();
          const ch = Buffer.from(hs.hello);
          if (inClient) ch[4 + (at % (ch.length - 4))]! ^= flip;
          let reply: Buffer;
          let serverKeys;
          try {
            const s = await serverHandshake(p, hostKey, frame(ch));
            reply = Buffer.from(s.reply);
            serverKeys = s.keys;
          } catch (e) {
            expect((e as ChatError).code).toBe("bad_hello"); // the server refused
            return;
          }
          if (!inClient) reply[4 + (at % (reply.length - 4))]! ^= flip;
          try {
            const c = await finishClientHandshake(p, hs, frame(reply));
            expect.fail(
              `accepted an altered hello (keys equal: ${c.keys.c2s.enc.equals(serverKeys.c2s.enc)})`,
            );
          } catch (e) {
            expect(e).toBeInstanceOf(ChatError);
            expect(["bad_hello", "bad_signature"]).toContain((e as ChatError).code);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("negotiates suite 2 by default, suite 1 with an old client or a server limited to it", async () => {
    const run = async (offer: Suite[] | undefined, accept?: Suite[]) => {
      const hs = startClientHandshake(offer);
      const srv = await serverHandshake(p, hostKey, frame(hs.hello), accept);
      const cli = await finishClientHandshake(p, hs, frame(srv.reply));
      expect(cli.keys).toEqual(srv.keys);
      expect(cli.suite).toBe(srv.suite);
      return srv.suite;
    };
    expect(await run(undefined)).toBe(2);
    expect(await run([1])).toBe(1);
    expect(await run([1, 2])).toBe(1);
    expect(await run(undefined, [1])).toBe(1);
    await expect(run([1], [2])).rejects.toThrow(/no common cipher suite \(offered 1\)/);
  });

  it("--suites takes known suite ids, each once, in order", () => {
    expect(suitesOf("2,1")).toEqual([2, 1]);
    expect(suitesOf(" 1 ")).toEqual([1]);
    expect(suitesOf(undefined)).toBeUndefined();
    for (const bad of ["3", "1,1", "gcm", "1,,2"])
      expect(() => suitesOf(bad), bad).toThrow(/--suites must list suite ids among 1,2/);
  });

  it("refuses another protocol version or wire mode, naming it", async () => {
    const hs = startClientHandshake();
    for (const [at, v, msg] of [
      [5, 1, /the client speaks protocol version 1; this side speaks 2/],
      [6, 0, /wire mode 0, not secure/],
    ] as const) {
      const ch = Buffer.from(hs.hello);
      ch[at] = v;
      await expect(serverHandshake(p, hostKey, frame(ch))).rejects.toThrow(msg);
    }
    // A v1 client's 17-byte hello gets a clear answer too.
    const v1 = frame(
      encodeFrame(FrameKind.HELLO, Buffer.concat([Buffer.from([1]), Buffer.alloc(16)])),
    );
    await expect(serverHandshake(p, hostKey, v1)).rejects.toThrow(/protocol version 1/);
  });

  it("a server choosing a suite the client did not offer is refused, even when signed", async () => {
    const hs = startClientHandshake([1]);
    const eph = newEphemeral();
    const unsigned = encodeServerHello({
      version: PROTOCOL_VERSION,
      mode: MODE_SECURE,
      suite: 9,
      random: Buffer.alloc(32, 1),
      share: eph.publicKey,
      hostKey: hostKey.publicKey,
      signature: Buffer.alloc(64),
    }).subarray(0, -64);
    const { signedData } = await import("../src/protocol/handshake.ts");
    const reply = Buffer.concat([unsigned, hostKey.sign(signedData(hs.hello, unsigned))]);
    await expect(finishClientHandshake(p, hs, frame(reply))).rejects.toThrow(
      /suite 9, which was not offered/,
    );
  });

  it("no common suite, or a key share of small order, is bad_hello", async () => {
    const none = encodeClientHello({
      version: PROTOCOL_VERSION,
      mode: MODE_SECURE,
      suites: [7, 8],
      random: Buffer.alloc(32),
      share: newEphemeral().publicKey,
    });
    await expect(serverHandshake(p, hostKey, frame(none))).rejects.toThrow(
      /no common cipher suite/,
    );
    const zero = encodeClientHello({
      version: PROTOCOL_VERSION,
      mode: MODE_SECURE,
      suites: [1],
      random: Buffer.alloc(32),
      share: Buffer.alloc(32),
    });
    await expect(serverHandshake(p, hostKey, frame(zero))).rejects.toMatchObject({
      code: "bad_hello",
    });
  });
});

describe("an active attacker on the path", () => {
  let srv: Running | undefined;
  let closeRelay: (() => void) | undefined;
  afterEach(async () => {
    closeRelay?.();
    await srv?.stop();
    srv = undefined;
  });

  /** A relay to the server that rewrites the first server frame with `rewrite`. */
  async function relay(port: number, rewrite: (hello: Buffer) => Buffer): Promise<number> {
    const server = createServer((down: Socket) => {
      const up = connect({ host: "127.0.0.1", port });
      let first = true;
      down.on("data", (d: Buffer) => up.write(d));
      up.on("data", (d: Buffer) => {
        down.write(first ? rewrite(d) : d);
        first = false;
      });
      down.on("error", () => up.destroy());
      up.on("error", () => down.destroy());
      down.on("close", () => up.destroy());
      up.on("close", () => down.destroy());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closeRelay = () => server.close();
    return (server.address() as { port: number }).port;
  }

  it("an impostor with its own host key is refused by the pin (host_key_mismatch)", async () => {
    srv = await startServer();
    const impostor = await startServer({ hostKey: HostKey.generate() });
    try {
      await expect(
        client(impostor.port, { hostKeys: pinnedHostKey(srv.fingerprint) }),
      ).rejects.toMatchObject({ code: "host_key_mismatch" });
      // Trust on first use pins what it saw first.
      const tofu = trustOnFirstUse();
      await tofu.check("127.0.0.1", 1, hostKey.publicKey);
      await expect(tofu.check("127.0.0.1", 1, HostKey.generate().publicKey)).rejects.toMatchObject({
        code: "host_key_mismatch",
      });
    } finally {
      await impostor.stop();
    }
  });

  it("a relay swapping the server's key share for its own breaks the signature", async () => {
    srv = await startServer();
    const mine = newEphemeral();
    const port = await relay(srv.port, (d) => {
      const out = Buffer.from(d);
      mine.publicKey.copy(out, 4 + 4 + 32); // share after length, kind, version, mode, suite, random
      return out;
    });
    await expect(client(port, { hostKeys: pinnedHostKey(srv.fingerprint) })).rejects.toMatchObject({
      code: "bad_signature",
    });
  });

  it("the server's key printed at start is what clients pin", async () => {
    srv = await startServer();
    const c = await client(srv.port, { hostKeys: pinnedHostKey(srv.fingerprint) });
    expect(c.serverKey).toBe(srv.fingerprint);
    expect(fingerprint(srv.server.hostKey!.publicKey)).toBe(srv.fingerprint);
    await c.close();
  });
});
