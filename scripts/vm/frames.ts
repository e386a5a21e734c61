/**
 * Framing on the host -> guest command port (see vm/guest/labexec.c): each
 * frame is a u32 little-endian length and the payload. Pure.
 */
export function frame(payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(payload.length);
  return Buffer.concat([head, payload]);
}

/** The first frame: cwd NUL argv[0] NUL argv[1] NUL ... */
export function commandFrame(cwd: string, argv: readonly string[]): Buffer {
  if (argv.length === 0) throw new Error("empty command");
  for (const s of [cwd, ...argv])
    if (s.includes("\0")) throw new Error("command arguments cannot contain NUL bytes");
  return frame(Buffer.from([cwd, ...argv].map((s) => s + "\0").join(""), "utf8"));
}

/** End of standard input: a zero-length frame. */
export const eofFrame = frame(Buffer.alloc(0));

/**
 * The host has read all the output the status line counts: the length
 * 0xffffffff alone, never a data frame's (labexec waits for it before the
 * guest powers off, which ends QEMU).
 */
export const ackFrame = Buffer.from([0xff, 0xff, 0xff, 0xff]);

/** Stdin data, split so no frame exceeds `max` bytes (zero-length would mean EOF). */
export function dataFrames(data: Buffer, max = 65536): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += max) out.push(frame(data.subarray(i, i + max)));
  return out;
}

export interface ExitStatus {
  code: number;
  outBytes: number;
  errBytes: number;
}

/** Parses labexec's status line "exit CODE OUTBYTES ERRBYTES". */
export function parseStatusLine(line: string): ExitStatus | undefined {
  const m = /^exit (\d+) (\d+) (\d+)$/.exec(line.trim());
  if (!m) return undefined;
  return { code: Number(m[1]), outBytes: Number(m[2]), errBytes: Number(m[3]) };
}
