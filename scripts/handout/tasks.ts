/**
 * The lab's tasks, in the order a student does them (the seed lab's Z1-Z3):
 * what each asks for, where its code lives (the folders scanned for solution
 * markers and packed by `lab submit`), and which test files check it (for
 * `lab test --task`, the per-task summary and STUDENT.md).
 */
export interface LabTask {
  /** Upper case id, as in the markers: "Z1". */
  id: string;
  title: string;
  /** A paragraph for STUDENT.md. */
  goal: string;
  /** Repository folders (posix, relative) that hold this task's files. */
  folders: string[];
  /** Test files of the task: globs relative to the repository (`*`, `**`). */
  tests: { glob: string; checks: string }[];
  /** A hint for the first step. */
  start: string;
}

export const labTasks: readonly LabTask[] = [
  {
    id: "Z1",
    title: "the chat over TCP",
    goal:
      "The seed's chat (AN protocol 2.0: users, channels, numbered messages) over TCP. " +
      "You write the wire side: the seed's 304-byte packet laid out byte for byte as the C " +
      "struct, and the reassembly of whole packets and frames from a TCP byte stream that " +
      "splits and merges them at will (one read() is never one packet).",
    folders: ["ts-app/src/protocol", "ts-app/src/server", "ts-app/src/client"],
    tests: [
      {
        glob: "ts-app/test/classic.test.ts",
        checks: "the packet layout, field limits, reassembly",
      },
      {
        glob: "ts-app/test/secure-frames.test.ts",
        checks: "frames split and merged at every byte",
      },
      { glob: "ts-app/test/server-*.test.ts", checks: "the server end to end on the host" },
      {
        glob: "ts-app/test/c-client.test.ts",
        checks: "a C client written from the seed talks to your server",
      },
      {
        glob: "ts-app/test/*.test.ts",
        checks: "the rest of the chat: limits, attacks, store, processes",
      },
      { glob: "ts-app/e2e/*.test.ts", checks: "the scripted scenario on the host" },
    ],
    start: "npx lab test --task z1   (host only, about two minutes)",
  },
  {
    id: "Z2",
    title: "the chat encrypted through /dev/crypto",
    goal:
      "Every cipher operation of the chat goes through a CryptoProvider. You write the " +
      "`cryptodev` provider: AES-GCM in one CIOCAUTHCRYPT per frame (the secure chat's suite 2), " +
      "and AES-CBC and HMAC-SHA256 with CIOCCRYPT (suite 1, the fallback), as cryptodev-linux " +
      "ioctls (CIOCGSESSION, CIOCCRYPT, CIOCAUTHCRYPT, CIOCFSESSION) on /dev/cryptodevN through " +
      "the given native binding, byte for byte what node:crypto gives.",
    folders: ["ts-app/src/crypto"],
    tests: [
      {
        glob: "ts-app/test/cryptodev.test.ts",
        checks: "the provider against node:crypto (skips without a device)",
      },
      {
        glob: "scripts/demo/cryptodev.vm.test.ts",
        checks: "the provider in the guest, through the real device",
      },
      {
        glob: "scripts/demo/chat.vm.test.ts",
        checks: "the whole chat in the guest through /dev/cryptodev0",
      },
    ],
    start: "npx lab test --task z2   (boots the guest: needs Z3 for the device)",
  },
  {
    id: "Z3",
    title: "the virtio-cryptodev driver and device",
    goal:
      "The frontend (guest-driver/, a Linux module): the ioctls that copy the cryptodev-linux " +
      "arguments in and out and the virtqueue round trip (descriptor chain, add, kick, sleep, " +
      "callback). The backend (host-backend/, a QEMU device): decoding and executing each " +
      "request. Module init, probe, the character devices, the QOM device and its virtqueue " +
      "plumbing, and the wire format (include/virtio_cryptodev.h) are given.",
    folders: ["guest-driver/module", "host-backend/qemu"],
    tests: [
      {
        glob: "host-backend/test/*.test.ts",
        checks: "the device's request handling on the host (C unit tests, fuzz, qtest)",
      },
      {
        glob: "guest-driver/tests/*.test.ts",
        checks:
          "the KTAP conformance suite in the guest: known answers, errnos, concurrency, unplug",
      },
      { glob: "host-backend/test/*.vm.test.ts", checks: "a hostile driver against your device" },
    ],
    start: "npx lab test --task z3   (builds QEMU and the module, boots the guest)",
  },
];

export const taskIds = labTasks.map((t) => t.id);

export function findTask(id: string): LabTask | undefined {
  return labTasks.find((t) => t.id === id.toUpperCase());
}

/** `*` matches within a path segment, `**` across them. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
      if (glob[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else re += c.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * The task whose tests include `file` (relative, posix): a glob naming the
 * file exactly wins over a wildcard one, else the first task that matches.
 */
export function taskOfTest(file: string): LabTask | undefined {
  const exact = labTasks.find((t) => t.tests.some((g) => g.glob === file));
  return exact ?? labTasks.find((t) => t.tests.some((g) => globToRegExp(g.glob).test(file)));
}
