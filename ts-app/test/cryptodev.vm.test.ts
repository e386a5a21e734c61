import { existsSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { guestRepoPath, patchedQemuPath, repoRoot } from "../../scripts/lib/paths.ts";
import { cbcVectors, hmacVectors } from "./vectors.ts";

/**
 * The cryptodev provider through the real device, in the guest: the
 * self-test program (scripts/demo/cryptodev-selftest.ts, bundled by
 * `lab build app`) runs on /dev/cryptodev0 and /dev/cryptodev1 of a guest
 * with two devices and reports one JSON line per check: NIST SP 800-38A CBC
 * and RFC 4231 HMAC vectors, random inputs byte-identical to node:crypto,
 * 200 requests in flight, typed errors (errno, syscall, ioctl) from the
 * driver. One vitest test per check.
 */

const labBin = join(repoRoot, "bin", "lab.mjs");
const devices = ["/dev/cryptodev0", "/dev/cryptodev1"];

interface Check {
  type: "check";
  device: string;
  name: string;
  ok: boolean;
  detail: string;
}

const perDevice = [
  "open",
  ...cbcVectors.flatMap((v) => [`${v.name} encrypt`, `${v.name} decrypt`]),
  ...hmacVectors.map((v) => v.name),
  "random AES-CBC and HMAC inputs byte-identical to node:crypto",
  "200 requests in flight at once, all byte-identical",
  "argument errors are typed, as with the node provider",
  "unknown algorithm: EINVAL from CIOCGSESSION",
  "unknown session: EINVAL from CIOCCRYPT, with errno and syscall",
  "closed provider refuses work",
];
const expected: [string, string][] = [
  ...devices.flatMap((d) => perDevice.map((n): [string, string] => [d, n])),
  ["/dev/cryptodev-missing", "a missing device: ENOENT from open, typed"],
  ["/dev/crypto", "the /dev/crypto name works too"],
];

function unavailable(): string | undefined {
  if (!existsSync(patchedQemuPath()))
    return `patched QEMU not built (${patchedQemuPath()}): run \`lab build qemu\``;
  return undefined;
}
const why = unavailable();

describe.skipIf(why !== undefined)(
  `cryptodev provider in the guest${why ? ` (skipped: ${why})` : ""}`,
  () => {
    let checks: Check[] = [];
    let out = "";

    beforeAll(async () => {
      const build = await execa(process.execPath, [labBin, "build", "driver", "app"], {
        cwd: repoRoot,
        all: true,
        reject: false,
        env: { CI: "true" },
      });
      if (build.exitCode !== 0) throw new Error(`lab build driver app failed:\n${build.all ?? ""}`);
      const r = await execa(
        process.execPath,
        [
          labBin,
          "run",
          "--devices",
          "2",
          "--timeout",
          "500",
          "--",
          "node",
          `${guestRepoPath}/ts-app/dist/cryptodev-selftest.mjs`,
          ...devices,
        ],
        { cwd: repoRoot, reject: false, env: { CI: "true" }, stdin: "ignore" },
      );
      out = `lab run exit ${r.exitCode}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;
      checks = r.stdout
        .split("\n")
        .filter((l) => l.startsWith('{"type":"check"'))
        .map((l) => JSON.parse(l) as Check);
    });

    it.each(expected)("%s: %s", (device, name) => {
      const c = checks.find((x) => x.device === device && x.name === name);
      expect(c, `no result for ${device} ${name}\n${out}`).toBeDefined();
      expect(c?.ok, `${device} ${name}: ${c?.detail}`).toBe(true);
    });

    it("ran no check beyond the expected list, and none failed", () => {
      const extra = checks.filter(
        (c) => !expected.some(([d, n]) => d === c.device && n === c.name),
      );
      expect(extra).toEqual([]);
      expect(checks.filter((c) => !c.ok)).toEqual([]);
    });
  },
);
