import { mkdir, writeFile } from "node:fs/promises";
import { readMarkedSources } from "../../handout/kit.ts";
import { stubOut } from "../../handout/markers.ts";
import { referenceChat, referenceDriver } from "../samples.ts";

export { referenceChat, referenceDevice, referenceDriver } from "../samples.ts";
import { dirname, join } from "node:path";
import { sh } from "../../lib/sh.ts";

/**
 * Test submissions made at test time from the reference: a copy of the
 * driver's sources (no build products), optionally with a patch applied
 * or files replaced.
 */

/** The reference driver with `patch` (a -p1 diff against the repository) applied. */
export async function patchedDriver(dest: string, patch: string): Promise<string> {
  await referenceDriver(dest);
  await sh({ cwd: dest })`patch -p1 -s -f --no-backup-if-mismatch -i ${patch}`;
  return dest;
}

/** Writes files (path -> content) under `dest`. */
export async function writeTree(
  dest: string,
  files: Record<string, string | Buffer>,
): Promise<string> {
  for (const [p, data] of Object.entries(files)) {
    await mkdir(dirname(join(dest, p)), { recursive: true });
    await writeFile(join(dest, p), data);
  }
  return dest;
}

/** One tar (ustar) entry; `size` may claim more than `data` holds (a header-only fixture). */
export function tarEntry(
  name: string,
  data: Buffer | string = "",
  o: { type?: string; link?: string; size?: number } = {},
): Buffer {
  const body = Buffer.from(data);
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  h.write("0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(`${(o.size ?? body.length).toString(8).padStart(11, "0")}\0`, 124);
  h.write("00000000000\0", 136);
  h.write("        ", 148);
  h.write(o.type ?? "0", 156);
  if (o.link) h.write(o.link, 157, 100, "utf8");
  h.write("ustar\0", 257);
  h.write("00", 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad]);
}

export const tarEnd = Buffer.alloc(1024);

/** A zip of stored or deflated entries (CRC left 0: the grader does not check it). */
export function zipOf(
  entries: { name: string; data: Buffer; deflated?: Buffer; mode?: number; usize?: number }[],
): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let off = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const payload = e.deflated ?? e.data;
    const l = Buffer.alloc(30);
    l.writeUInt32LE(0x04034b50, 0);
    l.writeUInt16LE(20, 4);
    l.writeUInt16LE(e.deflated ? 8 : 0, 8);
    l.writeUInt32LE(payload.length, 18);
    l.writeUInt32LE(e.usize ?? e.data.length, 22);
    l.writeUInt16LE(name.length, 26);
    locals.push(l, name, payload);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(0x0314, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(e.deflated ? 8 : 0, 10);
    c.writeUInt32LE(payload.length, 20);
    c.writeUInt32LE(e.usize ?? e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    c.writeUInt32LE(off, 42);
    central.push(c, name);
    off += 30 + name.length + payload.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cd, end]);
}

/**
 * The reference chat (ts-app/src) with the starter kit's stubs of `tasks`
 * in place of their solutions (scripts/handout: the kit's own cut).
 */
export async function stubbedChat(dest: string, tasks: string[]): Promise<string> {
  await referenceChat(dest);
  for (const m of await readMarkedSources())
    if (m.path.startsWith("ts-app/src/") && m.marked.blocks.some((b) => tasks.includes(b.task)))
      await writeFile(join(dest, m.path), stubOut(m.marked, tasks));
  return dest;
}
