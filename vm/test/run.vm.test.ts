import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { patchedQemuPath } from "../../scripts/lib/paths.ts";
import { guestStderr, labProcess } from "../../scripts/vm/index.ts";

const lab = (args: string[], input?: string | Buffer) => labProcess(args, { input });

/**
 * End to end through the real guest (TCG on these machines). Devices are
 * left out (--devices 0) except where the test is about them, so these
 * tests check the VM itself, whatever state the driver is in.
 */
const run = (args: string[], input?: string | Buffer) =>
  lab(["run", "--devices", "0", ...args], input);

describe("lab run", () => {
  beforeAll(async () => {
    const r = await lab(["build", "guest"]);
    expect(r.code, r.stderr).toBe(0);
  });

  it("a second `lab build guest` is a one-line no-op", async () => {
    const r = await lab(["build", "guest"]);
    expect(r.code).toBe(0);
    const lines = r.stderr
      .trim()
      .split("\n")
      .filter((l) => !/warn/i.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/up to date/);
  });

  it("`true` exits 0", async () => {
    const r = await run(["--", "true"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(0);
  });

  it("`sh -c 'exit 7'` exits 7", async () => {
    const r = await run(["--", "sh", "-c", "exit 7"]);
    expect(r.code, r.stderr).toBe(7);
  });

  it("a missing command exits 127 and says why", async () => {
    const r = await run(["--", "no-such-command-here"]);
    expect(r.code, r.stderr).toBe(127);
    expect(r.stderr).toMatch(/no-such-command-here/);
  });

  it("keeps stdout and stderr apart and intact, 1 MiB included", async () => {
    // 1 MiB of pseudo-random bytes on stdout (hex of /dev/urandom would not
    // be reproducible: the guest prints its sha256 on stderr instead).
    const script =
      "head -c 1048576 /dev/urandom > /tmp/blob; cat /tmp/blob; echo err-line >&2; sha256sum /tmp/blob | cut -d' ' -f1 >&2; echo out-end";
    const r = await run(["--", "sh", "-c", script]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(1048576 + "out-end\n".length);
    const blob = r.stdout.subarray(0, 1048576);
    expect(r.stdout.subarray(1048576).toString()).toBe("out-end\n");
    const sum = createHash("sha256").update(blob).digest("hex");
    expect(guestStderr(r.stderr).trim().split("\n")).toEqual(["err-line", sum]);
  });

  it("passes standard input through", async () => {
    const input = Buffer.alloc(200_000, "x");
    const r = await run(["--", "sh", "-c", "wc -c; echo done"], input);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString().split(/\s+/).filter(Boolean)).toEqual(["200000", "done"]);
  });

  describe("--share", () => {
    let dir = "";
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "lab-share-"));
      await writeFile(join(dir, "from-host.txt"), "hello from the host\n");
    });
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("makes a host file readable and a guest-written file appear on the host", async () => {
      const r = await run([
        "--share",
        `${dir}:/mnt/s`,
        "--",
        "sh",
        "-c",
        "cat /mnt/s/from-host.txt; echo written-in-guest > /mnt/s/from-guest.txt",
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.toString()).toBe("hello from the host\n");
      expect(await readFile(join(dir, "from-guest.txt"), "utf8")).toBe("written-in-guest\n");
    });

    it("defaults the guest path to /mnt/share; the repository is at /lab", async () => {
      const r = await run([
        "--share",
        dir,
        "--",
        "sh",
        "-c",
        "cat /mnt/share/from-host.txt; test -f /lab/package.json",
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.toString()).toBe("hello from the host\n");
    });
  });

  it("--timeout on `sleep 1000` exits 124 within the bound, with a one-line reason", async () => {
    const r = await run(["--timeout", "20", "--", "sleep", "1000"]);
    expect(r.code).toBe(124);
    expect(r.stderr).toMatch(/lab: timeout: .*20 s/);
    // Not a speed check: the run must end because of --timeout, long
    // before `sleep 1000` could (a generous margin for a loaded machine).
    expect(r.ms).toBeLessThan(120_000);
  });

  it("a kernel panic (sysrq c) exits 255 naming the panic", async () => {
    const r = await run([
      "--timeout",
      "120",
      "--",
      "sh",
      "-c",
      "echo c > /proc/sysrq-trigger; sleep 100",
    ]);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(
      /lab: guest kernel panic: Kernel panic - not syncing: sysrq triggered crash/,
    );
    expect(r.stderr).toMatch(/last console lines/);
  });

  const noCompiler = !existsSync("/usr/bin/make") || !existsSync("/usr/bin/gcc-12");
  it.skipIf(noCompiler)(
    `an oops (in a module's init) ends the run with 255 and names it${noCompiler ? " (skipped: no make or gcc-12; `lab build driver` installs them)" : ""}`,
    async () => {
      const { execFileSync } = await import("node:child_process");
      const { kernelBuildDir } = await import("../../scripts/guest/kernel.ts");
      const dir = await mkdtemp(join(tmpdir(), "lab-oops-"));
      try {
        await writeFile(
          join(dir, "oops.c"),
          [
            "#include <linux/module.h>",
            "static int __init oops_init(void)",
            "{",
            "\tvolatile int *p = NULL;",
            "\treturn *p;",
            "}",
            "module_init(oops_init);",
            'MODULE_LICENSE("GPL");',
            "",
          ].join("\n"),
        );
        await writeFile(join(dir, "Kbuild"), "obj-m := oops.o\n");
        execFileSync("make", ["-s", "-C", kernelBuildDir(), `M=${dir}`, "modules"], {
          stdio: "pipe",
        });
        const r = await run([
          "--timeout",
          "120",
          "--share",
          `${dir}:/mnt/oops`,
          "--",
          "insmod",
          "/mnt/oops/oops.ko",
        ]);
        expect(r.code, r.stderr).toBe(255);
        expect(r.stderr).toMatch(/BUG: kernel NULL pointer dereference/);
        expect(r.stderr).toMatch(
          /lab: guest kernel panic: Kernel panic - not syncing: Fatal exception/,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it("SIGTERM to lab run kills the guest and exits 130", async () => {
    let sent = false;
    const r = await labProcess(
      ["run", "--devices", "0", "--", "sh", "-c", "echo ready; sleep 1000"],
      {
        onStdout: (d, child) => {
          if (!sent && d.toString().includes("ready")) {
            sent = true;
            child.kill("SIGTERM");
          }
        },
      },
    );
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted; QEMU killed/);
  });

  it("--forward reaches a guest server from 127.0.0.1 on the host", async () => {
    const { createConnection, createServer } = await import("node:net");
    // A free host port: bind port 0, read it, release it.
    const port = await new Promise<number>((res) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const a = srv.address();
        srv.close(() => res(typeof a === "object" && a ? a.port : 0));
      });
    });
    const guest = lab([
      "run",
      "--devices",
      "0",
      "--timeout",
      "120",
      "--forward",
      `${port}:8000`,
      "--",
      "sh",
      "-c",
      "echo hello-from-guest | nc -l -p 8000",
    ]);
    // The guest listens a few seconds from now: retry until it answers.
    let got = "";
    for (let i = 0; i < 120 && !got; i++) {
      got = await new Promise<string>((res) => {
        let data = "";
        const c = createConnection({ host: "127.0.0.1", port });
        c.on("data", (d: Buffer) => (data += d.toString()));
        c.on("end", () => res(data));
        c.on("error", () => res(""));
      });
      if (!got) await new Promise((r) => setTimeout(r, 500));
    }
    expect(got).toBe("hello-from-guest\n");
    const r = await guest;
    expect(r.code, r.stderr).toBe(0);
  });

  it("the guest cannot connect out, not even to the host (restrict=on)", async () => {
    const { createServer } = await import("node:net");
    let connected = false;
    const srv = createServer((c) => {
      connected = true;
      c.destroy();
    });
    const port = await new Promise<number>((res) =>
      srv.listen(0, "127.0.0.1", () => {
        const a = srv.address();
        res(typeof a === "object" && a ? a.port : 0);
      }),
    );
    try {
      const r = await run([
        "--",
        "sh",
        "-c",
        `echo x | timeout 5 nc 10.0.2.2 ${port} && echo connected || echo refused`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.toString()).toBe("refused\n");
      expect(connected).toBe(false);
    } finally {
      srv.close();
    }
  });

  it("runs node in the guest", async () => {
    const r = await run(["--", "node", "-e", "console.log(process.version, 6 * 7)"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe(`${process.version} 42\n`);
  });

  it("writes the full console log with --console", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lab-console-"));
    try {
      const file = join(dir, "console.log");
      const r = await run(["--console", file, "--", "true"]);
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(file, "utf8")).toMatch(/Linux version 6\.1\./);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const noQemu = !existsSync(patchedQemuPath());
  it.skipIf(noQemu)(
    `hot-unplugs a device on request over lab.ctl${noQemu ? " (skipped: needs the patched QEMU, `lab build qemu`)" : ""}`,
    async () => {
      const script =
        "exec 3<>/dev/virtio-ports/lab.ctl; echo device_del cryptodev1 >&3; read -r r <&3; echo $r;" +
        " echo device_del nosuch >&3; read -r r <&3; echo $r";
      const r = await lab(["run", "--devices", "2", "--", "sh", "-c", script]);
      expect(r.code, r.stderr).toBe(0);
      const [first, second] = r.stdout.toString().trim().split("\n");
      expect(first).toBe("ok");
      expect(second).toMatch(/^error: /);
    },
  );
});
