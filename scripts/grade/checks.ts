import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../lib/paths.ts";
import { chatChecks } from "./chat.ts";

/**
 * The test ids a rubric item may name: the grader's own host checks (below),
 * the chat's checks (chat.ts: chatChecks) and the in-guest KTAP tests of
 * guest-driver/tests/conformance.c, whose ids ("group.name") are read from its test table.
 */

export const hostChecks = {
  "build.driver": "the module builds (Kbuild, in the sandbox)",
  "build.warnings": "the module builds without warnings (W=1)",
  "build.device": "QEMU builds with the submitted device (in the sandbox)",
  "smap.nested_pointers":
    "known answers under --cpu max (SMAP/SMEP): no direct user access, no oops",
  "console.clean": "no kernel BUG, WARNING or oops on any console",
  "qemu.alive": "QEMU neither crashed nor hung in any boot",
  "device.hostile":
    "the lab's hostile driver (malformed requests, lengths that disagree with the chain, limits): every answer as the wire format says",
} as const;

export type HostCheckId = keyof typeof hostChecks;

export const conformanceSource = join(repoRoot, "guest-driver", "tests", "conformance.c");

/** The ids and descriptions of conformance.c's test table, in order (pure). */
export function conformanceIdsFrom(source: string): { id: string; title: string }[] {
  const start = source.indexOf("static const struct test tests[] = {");
  if (start < 0) return [];
  const table = source.slice(start, source.indexOf("};", start));
  const out: { id: string; title: string }[] = [];
  for (const m of table.matchAll(/\{\s*"([a-z0-9_]+\.[a-z0-9_]+)",\s*"((?:[^"\\]|\\.)*)",/g))
    out.push({ id: m[1] as string, title: m[2] as string });
  return out;
}

let cached: Map<string, string> | undefined;

/** Every test id with its description: conformance tests, then host checks. */
export function knownTestIds(): Map<string, string> {
  if (!cached) {
    cached = new Map(
      conformanceIdsFrom(readFileSync(conformanceSource, "utf8")).map((t) => [t.id, t.title]),
    );
    for (const [id, title] of Object.entries(hostChecks)) cached.set(id, title);
    for (const [id, title] of Object.entries(chatChecks)) cached.set(id, title);
  }
  return cached;
}

/** The conformance suite's ids alone, in order. */
export function conformanceIds(): string[] {
  return [...knownTestIds().keys()].filter((id) => !(id in hostChecks) && !(id in chatChecks));
}

/** The KTAP group of a conformance id ("kat.ciphers" -> "kat"). */
export const groupOf = (id: string): string => id.split(".")[0] as string;
