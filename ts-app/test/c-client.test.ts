/**
 * Classic mode against a real C client (test/c-client/an_client.c, written
 * from the seed's description and built here with gcc): the struct layout the
 * compiler gives must be the codec's, and the client must chat with the
 * server, over one connection and one connection per request.
 */
import { execa } from "execa";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PACKET_SIZE, offsets } from "../src/protocol/classic.ts";
import { classicIv, classicKey, startServer, type Running } from "./helpers.ts";

const src = join(import.meta.dirname, "c-client", "an_client.c");
const dir = mkdtempSync(join(tmpdir(), "chat-c-"));
const layoutBin = join(dir, "an_layout");
const clientBin = join(dir, "an_client");

/** Builds a binary; resolves to the compiler's complaint, or undefined when built. */
async function build(out: string, extra: string[]): Promise<string | undefined> {
  const r = await execa("gcc", ["-O1", "-Wall", "-o", out, src, ...extra], { reject: false });
  if (r.exitCode === 0) return undefined;
  const why = String(r.stderr ?? "") || String(r.message ?? "") || "gcc failed";
  return why.split("\n")[0];
}

let noGcc: string | undefined;
let noCrypto: string | undefined;
beforeAll(async () => {
  noGcc = await build(layoutBin, ["-DNO_CRYPTO"]);
  noCrypto = noGcc ?? (await build(clientBin, ["-lcrypto"]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let srv: Running | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

async function run(lines: string[], one = false): Promise<string[]> {
  const args = [
    "127.0.0.1",
    String(srv!.port),
    classicKey.toString("hex"),
    classicIv.toString("hex"),
  ];
  const r = await execa(clientBin, one ? [...args, "--one"] : args, {
    input: lines.join("\n") + "\n",
  });
  return r.stdout.split("\n");
}

describe("classic mode with a C client built from the seed", () => {
  it("gcc lays the seed's struct out exactly as the codec does", async (ctx) => {
    if (noGcc) return ctx.skip(`gcc could not build the C client: ${noGcc}`);
    const { stdout } = await execa(layoutBin, ["--layout"]);
    const got = Object.fromEntries(stdout.split("\n").map((l) => l.split(" ") as [string, string]));
    expect(Number(got.size)).toBe(PACKET_SIZE);
    expect(Number(got.packet_type)).toBe(offsets.packetType);
    expect(Number(got.command)).toBe(offsets.command);
    for (const k of ["arg1", "arg2", "arg3", "arg4", "length", "id", "body"] as const)
      expect(Number(got[k]), k).toBe(offsets[k]);
  });

  it("chats: several requests on one connection, then one request per connection", async (ctx) => {
    if (noCrypto) return ctx.skip(`no C client with OpenSSL (libssl-dev missing?): ${noCrypto}`);
    srv = await startServer({ mode: "classic" });
    // COMMAND ARG1 ARG2 ARG3 ARG4 ID BODY
    const out = await run([
      "0 alice pw1 - - 0",
      "0 bob pw2 - - 0",
      "1 alice - general - 0",
      "2 alice pw1 general bob 0",
      "3 bob pw2 general - 0 hello from C",
      "3 alice wrong general - 0 nope",
      "4 alice pw1 general - 0",
      "4 alice pw1 general - 5",
    ]);
    expect(out).toEqual([
      "SUCCESS 0 26 User created successfully.",
      "SUCCESS 0 26 User created successfully.",
      "SUCCESS 0 23 Created channel general",
      "SUCCESS 0 25 added user bob to general",
      "SUCCESS 0 24 Sent packet successfully",
      "FAILURE 0 23 Failed to validate user",
      "SUCCESS 0 19 [bob]\t hello from C",
      "FAILURE 0 14 No such packet",
    ]);
    const each = await run(
      [
        "0 longname 12345678 - - 0",
        "1 longname 12345678 chan8chr - 0",
        "4 longname 12345678 chan8chr - 0",
      ],
      true,
    );
    expect(each).toEqual([
      "SUCCESS 0 26 User created successfully.",
      "SUCCESS 0 24 Created channel chan8chr",
      "FAILURE -1 14 No such packet",
    ]);
  });
});
