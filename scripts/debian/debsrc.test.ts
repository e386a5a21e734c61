import { describe, expect, it } from "vitest";
import { deriveDebSrc, parseDeb822, parseOneLine } from "./debsrc.ts";
import { pathsInDiff } from "../build/qemu/patch.ts";

const deb822 = `Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: https://vendor.example/apt
Suites: nodistro
Components: main

Types: deb
Enabled: no
URIs: http://off.example/debian
Suites: bookworm
Components: main
`;

describe("deb-src derivation", () => {
  it("mirrors the release's deb entries of a deb822 file, and only those", () => {
    const text = deriveDebSrc(parseDeb822(deb822), "bookworm");
    expect(text).toContain(
      [
        "Types: deb-src",
        "URIs: http://mirror.example/debian",
        "Suites: bookworm bookworm-updates",
        "Components: main contrib",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
      ].join("\n"),
    );
    expect(text).toContain(
      "URIs: http://mirror.example/debian-security\nSuites: bookworm-security",
    );
    expect(text).not.toContain("vendor.example");
    expect(text).not.toContain("off.example");
    expect(text.match(/^Types: deb-src$/gm)).toHaveLength(2);
  });

  it("reads one-line sources.list entries with options", () => {
    const entries = parseOneLine(
      [
        "# deb-src http://x.example/debian bookworm main",
        "deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main non-free",
        "deb http://m.example/debian-security bookworm-security main # tail",
        "deb http://other.example/ubuntu jammy main",
      ].join("\n"),
    );
    expect(entries).toHaveLength(3);
    const text = deriveDebSrc(entries, "bookworm");
    expect(text).toContain(
      "URIs: http://m.example/debian\nSuites: bookworm\nComponents: main non-free\nSigned-By: /k.gpg",
    );
    expect(text).toContain("Suites: bookworm-security");
    expect(text).not.toContain("jammy");
  });

  it("derives nothing when no entry is of the release", () => {
    expect(deriveDebSrc(parseDeb822(deb822), "trixie")).toBe("");
  });
});

describe("pathsInDiff", () => {
  it("lists the -p1 paths a unified or git diff touches", () => {
    const diff = [
      "diff --git a/hw/virtio/meson.build b/hw/virtio/meson.build",
      "--- a/hw/virtio/meson.build\t2026-01-01 00:00:00",
      "+++ b/hw/virtio/meson.build",
      "@@ -1 +1 @@",
      "--- a removed line that looks like a header",
      "+++ an added one",
      "diff --git a/hw/virtio/new.c b/hw/virtio/new.c",
      "--- /dev/null",
      "+++ b/hw/virtio/new.c",
    ].join("\n");
    expect(pathsInDiff(diff)).toEqual(["hw/virtio/meson.build", "hw/virtio/new.c"]);
  });
});
