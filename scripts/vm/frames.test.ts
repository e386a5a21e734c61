import { describe, expect, it } from "vitest";
import { ackFrame, commandFrame, dataFrames, eofFrame, parseStatusLine } from "./frames.ts";
import { parseLdd } from "../guest/ldd.ts";

describe("command port framing", () => {
  it("frames the command as cwd and argv, NUL-terminated, length first", () => {
    const f = commandFrame("/", ["sh", "-c", "exit 7"]);
    expect(f.readUInt32LE(0)).toBe(f.length - 4);
    expect(f.subarray(4).toString()).toBe("/\0sh\0-c\0exit 7\0");
    expect(() => commandFrame("/", [])).toThrow();
    expect(() => commandFrame("/", ["a\0b"])).toThrow(/NUL/);
  });

  it("splits stdin so no data frame is empty or too big", () => {
    const frames = dataFrames(Buffer.alloc(150_000, 1), 65536);
    expect(frames.map((f) => f.readUInt32LE(0))).toEqual([65536, 65536, 150_000 - 131072]);
    expect(dataFrames(Buffer.alloc(0))).toEqual([]);
    expect(eofFrame.equals(Buffer.from([0, 0, 0, 0]))).toBe(true);
  });

  it("ends with an ack whose length no data frame has (labexec skips stdin frames to it)", () => {
    expect(ackFrame.length).toBe(4);
    expect(ackFrame.readUInt32LE(0)).toBe(0xffffffff);
    const lengths = dataFrames(Buffer.alloc(1 << 20), 1 << 20).map((f) => f.readUInt32LE(0));
    expect(Math.max(...lengths)).toBeLessThan(ackFrame.readUInt32LE(0));
  });

  it("parses the status line", () => {
    expect(parseStatusLine("exit 7 12 0\n")).toEqual({ code: 7, outBytes: 12, errBytes: 0 });
    expect(parseStatusLine("exit x")).toBeUndefined();
  });
});

describe("ldd output", () => {
  it("lists the shared objects with a file, the loader included", () => {
    const text = `\tlinux-vdso.so.1 (0x00007ffc)
\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f1)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f3)`;
    expect(parseLdd(text)).toEqual([
      "/lib/x86_64-linux-gnu/libdl.so.2",
      "/lib/x86_64-linux-gnu/libc.so.6",
      "/lib64/ld-linux-x86-64.so.2",
    ]);
  });
});
