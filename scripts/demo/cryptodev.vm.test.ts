import { beforeAll, describe, expect, it } from "vitest";
import { cbcVectors, gcmVectors, hmacVectors } from "../../ts-app/e2e/vectors.ts";
import { ensureBuilt, guestArgs, runGuest, vmUnavailable } from "../vm/index.ts";
import { inGuest, selftestBundle } from "./config.ts";

/**
 * The cryptodev provider through the real device, in the guest: the
 * self-test program (ts-app/e2e/cryptodev-selftest.ts, bundled by
 * `lab build app`) runs on /dev/cryptodev0 and /dev/cryptodev1 of a guest
 * with two devices and reports one JSON line per check: NIST SP 800-38A CBC,
 * RFC 4231 HMAC and GCM vectors, random inputs byte-identical to node:crypto,
 * the chat's sealed frames of both suites identical to the node provider's
 * with the device round trips per frame counted (suite 2: one),
 * 200 requests in flight, typed errors (errno, syscall, ioctl) from the
 * driver. One vitest test per check.
 */

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
  ...gcmVectors.map((v) => `${v.name} seal and open`),
  "random AES-GCM inputs byte-identical to node:crypto; a bad tag opens to nothing",
  "chat frames: suite 2 (AES-GCM) byte-identical to node, one device round trip per frame",
  "chat frames: suite 1 (AES-CBC + HMAC) byte-identical to node, two round trips per frame",
  "random AES-CBC and HMAC inputs byte-identical to node:crypto",
  "200 requests in flight at once, all byte-identical",
  "the thread-pool path (inlineMax 0): 64 requests in flight, byte-identical",
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

const why = vmUnavailable();

describe.skipIf(why !== undefined)(
  `cryptodev provider in the guest${why ? ` (skipped: ${why})` : ""}`,
  () => {
    let checks: Check[] = [];
    let out = "";

    beforeAll(async () => {
      await ensureBuilt("driver", "app");
      const r = await runGuest(
        guestArgs({
          devices: 2,
          timeoutS: 500,
          command: ["node", inGuest(selftestBundle), ...devices],
        }),
      );
      out = `guest run exit ${r.code} ${r.reason ?? ""}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;
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
