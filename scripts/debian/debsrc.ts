import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LabError } from "../lib/errors.ts";
import { info, step } from "../lib/log.ts";
import { recipe, sh } from "../lib/sh.ts";

/**
 * `apt-get source` needs `deb-src` entries. When the machine has none for
 * its Debian release, we add them DERIVED from its own apt configuration:
 * the same URIs, suites and components as its `deb` entries, never a host
 * name of our own.
 */

/** One apt source entry, in either format, reduced to what we copy. */
export interface AptEntry {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  /** deb822 `Signed-By` or one-line `[signed-by=...]`, kept as is. */
  signedBy?: string;
}

const aptDir = "/etc/apt";
export const debSrcFile = join(aptDir, "sources.list.d", "cryptodev-lab-src.sources");

/** Parses a deb822 `.sources` file (stanzas separated by blank lines). */
export function parseDeb822(text: string): AptEntry[] {
  const out: AptEntry[] = [];
  for (const stanza of text.split(/\n[ \t]*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of stanza.split("\n")) {
      if (line.startsWith("#") || line.trim() === "") continue;
      if (/^[ \t]/.test(line) && last) {
        fields.set(last, `${fields.get(last) ?? ""}\n${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (!m?.[1]) continue;
      last = m[1].toLowerCase();
      fields.set(last, (m[2] ?? "").trim());
    }
    if (!fields.has("types") || !fields.has("uris")) continue;
    if ((fields.get("enabled") ?? "yes").toLowerCase() === "no") continue;
    const words = (k: string) => (fields.get(k) ?? "").split(/\s+/).filter(Boolean);
    out.push({
      types: words("types"),
      uris: words("uris"),
      suites: words("suites"),
      components: words("components"),
      signedBy: fields.get("signed-by"),
    });
  }
  return out;
}

/** Parses one-line `sources.list` entries (`deb [opts] uri suite comp...`). */
export function parseOneLine(text: string): AptEntry[] {
  const out: AptEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m?.[1] || !m[3] || !m[4]) continue;
    const opts = m[2] ?? "";
    const signed = /(?:^|\s)signed-by=(\S+)/.exec(opts);
    out.push({
      types: [m[1]],
      uris: [m[3]],
      suites: [m[4]],
      components: (m[5] ?? "").split(/\s+/).filter(Boolean),
      signedBy: signed?.[1],
    });
  }
  return out;
}

/** True for a suite of this Debian release: bookworm, bookworm-updates, bookworm-security... */
function ofRelease(suite: string, codename: string): boolean {
  return suite === codename || suite.startsWith(`${codename}-`) || suite.startsWith(`${codename}/`);
}

/**
 * The deb822 text of `deb-src` entries mirroring the `deb` entries of the
 * given release (third-party repositories with other suites are left out,
 * since they rarely publish sources). Empty when there is nothing to copy.
 */
export function deriveDebSrc(entries: readonly AptEntry[], codename: string): string {
  const stanzas: string[] = [];
  for (const e of entries) {
    if (!e.types.includes("deb")) continue;
    const suites = e.suites.filter((s) => ofRelease(s, codename));
    if (suites.length === 0) continue;
    const lines = [
      "Types: deb-src",
      `URIs: ${e.uris.join(" ")}`,
      `Suites: ${suites.join(" ")}`,
      `Components: ${e.components.join(" ")}`,
    ];
    if (e.signedBy && !e.signedBy.includes("\n")) lines.push(`Signed-By: ${e.signedBy}`);
    stanzas.push(lines.join("\n"));
  }
  if (stanzas.length === 0) return "";
  return (
    "# deb-src entries derived from this machine's deb entries by `lab build qemu`\n" +
    `${stanzas.join("\n\n")}\n`
  );
}

/** Every entry apt reads: sources.list, sources.list.d/*.list and *.sources. */
export async function readAptEntries(): Promise<AptEntry[]> {
  const out: AptEntry[] = [];
  const main = join(aptDir, "sources.list");
  if (existsSync(main)) out.push(...parseOneLine(await readFile(main, "utf8")));
  const dir = join(aptDir, "sources.list.d");
  const names = existsSync(dir) ? (await readdir(dir)).sort() : [];
  for (const n of names) {
    const p = join(dir, n);
    if (n.endsWith(".list")) out.push(...parseOneLine(await readFile(p, "utf8")));
    else if (n.endsWith(".sources")) out.push(...parseDeb822(await readFile(p, "utf8")));
  }
  return out;
}

async function codename(): Promise<string> {
  const text = await readFile("/etc/os-release", "utf8");
  const m = /^VERSION_CODENAME=("?)([a-z]+)\1$/m.exec(text);
  if (!m?.[2]) throw new LabError("/etc/os-release has no VERSION_CODENAME (is this Debian?)");
  return m[2];
}

/** Whether apt knows a source package `pkg` (a deb-src index lists it). */
export async function hasSourcePackage(pkg: string): Promise<boolean> {
  const r = await sh({ nothrow: true })`apt-cache showsrc --only-source ${pkg}`;
  return r.exitCode === 0 && /^Version:/m.test(r.stdout);
}

/**
 * Makes `apt-get source pkg` work: adds derived deb-src entries and runs
 * `apt-get update` when apt knows no such source package yet. Not root: stops
 * with the exact commands.
 */
export async function ensureDebSrc(pkg: string): Promise<void> {
  if (await hasSourcePackage(pkg)) return;
  const entries = await readAptEntries();
  const release = await codename();
  const hasSrc = entries.some((e) => e.types.includes("deb-src"));
  const text = deriveDebSrc(entries, release);
  if (!text)
    throw new LabError(
      `no deb entry for Debian ${release} to derive a deb-src entry from`,
      1,
      "add a deb-src line for your Debian mirror to /etc/apt/sources.list.d/, then apt-get update",
    );
  if (process.getuid?.() !== 0) {
    const body = text.replace(/'/g, "'\\''");
    throw new LabError(
      `apt has no source package '${pkg}' (no deb-src entry for ${release})`,
      1,
      `run as root:\n    printf '%s' '${body}' | sudo tee ${debSrcFile} && sudo apt-get update`,
    );
  }
  const { withAptLock } = await import("./apt.ts");
  await withAptLock(() =>
    step(hasSrc ? "updating apt source indexes" : "adding deb-src entries", async () => {
      if (!existsSync(debSrcFile) || (await readFile(debSrcFile, "utf8")) !== text) {
        await writeFile(debSrcFile, text);
        info(`wrote ${debSrcFile} (deb-src for the configured ${release} mirror)`);
      }
      const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
      await recipe("apt-get update", () => sh({ env })`apt-get update -qq`);
    }),
  );
  if (!(await hasSourcePackage(pkg)))
    throw new LabError(`apt still knows no source package '${pkg}' after apt-get update`);
}
