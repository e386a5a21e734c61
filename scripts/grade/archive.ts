import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { posix } from "node:path";
import { createGunzip, inflateRawSync } from "node:zlib";

/**
 * Reading a submitted archive (.tar, .tar.gz/.tgz, .zip) safely: every
 * entry is checked before anything is written — no absolute path, no `..`,
 * no symlink leaving the submission, no device node, no hard link, sizes
 * within the caps (a 2 GiB entry is refused from its header, before its
 * data is read). The result is an in-memory list of files the caller
 * writes out itself; this module never touches the disk but to read.
 */

export interface Limits {
  /** One file. */
  fileBytes: number;
  /** All files together (also bounds decompression). */
  totalBytes: number;
  entries: number;
}

export const defaultLimits: Limits = {
  fileBytes: 64 * 1024 * 1024,
  totalBytes: 256 * 1024 * 1024,
  entries: 20_000,
};

export type Entry =
  | { kind: "file"; path: string; data: Buffer; mode: number }
  | { kind: "dir"; path: string }
  | { kind: "symlink"; path: string; target: string };

/** An archive (or a folder) refused before extraction, with the reason. */
export class RejectedSubmission extends Error {
  override readonly name = "RejectedSubmission";
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n < 1024 * 1024 ? 2 : 0)} MiB`;

/** A relative, normalised path inside the submission, or a rejection. */
export function safePath(raw: string): string {
  const p = raw.replace(/\/+$/, "");
  if (!p || p === ".") return "";
  if (p.includes("\0")) throw new RejectedSubmission(`a path contains a NUL byte`);
  if (p.startsWith("/")) throw new RejectedSubmission(`absolute path in the archive: ${p}`);
  const parts = p.split("/");
  if (parts.includes("..")) throw new RejectedSubmission(`path with '..' in the archive: ${p}`);
  return posix.normalize(p).replace(/^\.\//, "");
}

/** Checks that a symlink at `path` pointing at `target` stays inside the submission. */
export function checkLink(path: string, target: string): void {
  if (target.startsWith("/"))
    throw new RejectedSubmission(`symlink ${path} points outside the submission (-> ${target})`);
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  if (resolved === ".." || resolved.startsWith("../"))
    throw new RejectedSubmission(`symlink ${path} points outside the submission (-> ${target})`);
}

class Budget {
  total = 0;
  count = 0;
  constructor(readonly l: Limits) {}
  entry(path: string, size: number): void {
    if (++this.count > this.l.entries)
      throw new RejectedSubmission(`more than ${this.l.entries} entries`);
    if (size > this.l.fileBytes)
      throw new RejectedSubmission(
        `${path} is ${mib(size)} (limit ${mib(this.l.fileBytes)} per file)`,
      );
    this.total += size;
    if (this.total > this.l.totalBytes)
      throw new RejectedSubmission(`the files add up to more than ${mib(this.l.totalBytes)}`);
  }
}

// ------------------------------------------------------------------ tar

function cstr(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z < 0 ? s : s.subarray(0, z)).toString("utf8");
}

function tarNumber(b: Buffer, off: number, len: number): number {
  const f = b.subarray(off, off + len);
  if ((f[0] as number) & 0x80) {
    // base-256 (GNU): big sizes
    let n = 0;
    for (let i = 1; i < len; i++) n = n * 256 + (f[i] as number);
    return n;
  }
  const s = cstr(b, off, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(data.subarray(i, sp).toString());
    if (!(len > 0)) break;
    const rec = data.subarray(sp + 1, i + len - 1).toString("utf8");
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Parses a tar stream (chunks), checking each header before its data is kept. */
export async function readTar(
  chunks: AsyncIterable<Buffer>,
  limits: Limits = defaultLimits,
): Promise<Entry[]> {
  const budget = new Budget(limits);
  const entries: Entry[] = [];
  let buf = Buffer.alloc(0);
  let streamed = 0;
  const it = chunks[Symbol.asyncIterator]();
  let ended = false;
  /** Makes `n` bytes available in buf (false at the end of the stream). */
  const need = async (n: number): Promise<boolean> => {
    const parts: Buffer[] = [buf];
    let have = buf.length;
    while (have < n && !ended) {
      const r = await it.next();
      if (r.done) ended = true;
      else {
        parts.push(r.value);
        have += r.value.length;
        streamed += r.value.length;
        // headers + data kept + padding; a stream of zeros never ends otherwise
        if (streamed > limits.totalBytes + limits.entries * 1024 + 1024 * 1024)
          throw new RejectedSubmission(`the archive expands beyond ${mib(limits.totalBytes)}`);
      }
    }
    buf = parts.length === 1 ? buf : Buffer.concat(parts);
    return buf.length >= n;
  };
  const take = (n: number): Buffer => {
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  for (;;) {
    if (!(await need(512))) break;
    const h = take(512);
    if (h.every((x) => x === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] as number);
    if (sum !== tarNumber(h, 148, 8))
      throw new RejectedSubmission("not a tar archive (bad header)");
    const type = String.fromCharCode(h[156] as number) || "0";
    const size = Number(pax.size ?? tarNumber(h, 124, 12));
    const prefix = cstr(h, 257, 6) === "ustar" ? cstr(h, 345, 155) : "";
    const rawName = pax.path ?? longName ?? (prefix ? `${prefix}/` : "") + cstr(h, 0, 100);
    const linkName = pax.linkpath ?? longLink ?? cstr(h, 157, 100);
    const meta = type === "L" || type === "K" || type === "x" || type === "g";
    const padded = Math.ceil(size / 512) * 512;
    if (meta) {
      if (size > 1024 * 1024) throw new RejectedSubmission("oversized tar metadata record");
      if (!(await need(padded))) throw new RejectedSubmission("truncated tar archive");
      const data = take(padded).subarray(0, size);
      if (type === "L") longName = cstr(data, 0, data.length);
      else if (type === "K") longLink = cstr(data, 0, data.length);
      else if (type === "x") pax = paxRecords(data);
      continue;
    }
    longName = longLink = undefined;
    pax = {};
    const path = safePath(rawName);
    if (type === "0" || type === "7" || type === "\0") {
      budget.entry(rawName, size); // before reading any data
      if (!(await need(padded))) throw new RejectedSubmission(`truncated tar archive at ${path}`);
      const data = Buffer.from(take(padded).subarray(0, size));
      if (path) entries.push({ kind: "file", path, data, mode: tarNumber(h, 100, 8) & 0o777 });
    } else if (type === "5") {
      budget.entry(rawName, 0);
      if (path) entries.push({ kind: "dir", path });
      if (padded && !(await need(padded))) throw new RejectedSubmission("truncated tar archive");
      take(padded);
    } else if (type === "2") {
      budget.entry(rawName, 0);
      checkLink(path, linkName);
      entries.push({ kind: "symlink", path, target: linkName });
    } else if (type === "1") {
      throw new RejectedSubmission(`hard link in the archive: ${path} -> ${linkName}`);
    } else {
      throw new RejectedSubmission(`special file in the archive (tar type '${type}'): ${path}`);
    }
  }
  return entries;
}

// ------------------------------------------------------------------ zip

/** Parses a zip file's central directory; sizes are checked before inflating. */
export function readZip(z: Buffer, limits: Limits = defaultLimits): Entry[] {
  const budget = new Budget(limits);
  let eocd = -1;
  for (let i = z.length - 22; i >= Math.max(0, z.length - 22 - 65535); i--)
    if (z.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new RejectedSubmission("not a zip archive (no end of central directory)");
  const count = z.readUInt16LE(eocd + 10);
  let off = z.readUInt32LE(eocd + 16);
  if (count === 0xffff || off === 0xffffffff)
    throw new RejectedSubmission("zip64 archives are not accepted");
  const entries: Entry[] = [];
  for (let n = 0; n < count; n++) {
    if (off + 46 > z.length || z.readUInt32LE(off) !== 0x02014b50)
      throw new RejectedSubmission("corrupt zip central directory");
    const method = z.readUInt16LE(off + 10);
    const csize = z.readUInt32LE(off + 20);
    const usize = z.readUInt32LE(off + 24);
    const nlen = z.readUInt16LE(off + 28);
    const xlen = z.readUInt16LE(off + 30);
    const clen = z.readUInt16LE(off + 32);
    const attr = z.readUInt32LE(off + 38);
    const local = z.readUInt32LE(off + 42);
    const rawName = z.subarray(off + 46, off + 46 + nlen).toString("utf8");
    off += 46 + nlen + xlen + clen;
    const path = safePath(rawName);
    const unixMode = attr >>> 16;
    const fileType = unixMode & 0o170000;
    budget.entry(rawName, usize); // declared size, before inflating
    if (local + 30 > z.length || z.readUInt32LE(local) !== 0x04034b50)
      throw new RejectedSubmission(`corrupt zip entry ${rawName}`);
    const start = local + 30 + z.readUInt16LE(local + 26) + z.readUInt16LE(local + 28);
    const raw = z.subarray(start, start + csize);
    const data = (): Buffer => {
      if (method === 0) return Buffer.from(raw);
      if (method === 8) {
        try {
          return inflateRawSync(raw, { maxOutputLength: Math.max(usize, 1) });
        } catch {
          throw new RejectedSubmission(
            `${rawName}: inflates beyond its declared size or is corrupt`,
          );
        }
      }
      throw new RejectedSubmission(`${rawName}: zip compression method ${method} not accepted`);
    };
    if (fileType === 0o120000) {
      const target = data().toString("utf8");
      checkLink(path, target);
      entries.push({ kind: "symlink", path, target });
    } else if (rawName.endsWith("/") || fileType === 0o040000) {
      if (path) entries.push({ kind: "dir", path });
    } else if (fileType === 0 || fileType === 0o100000) {
      const d = data();
      if (d.length !== usize)
        throw new RejectedSubmission(`${rawName}: size differs from its header`);
      if (path) entries.push({ kind: "file", path, data: d, mode: unixMode & 0o777 || 0o644 });
    } else throw new RejectedSubmission(`special file in the archive: ${rawName}`);
  }
  return entries;
}

// ------------------------------------------------------------------ any

export type ArchiveKind = "tar" | "tar.gz" | "zip";

export function archiveKind(file: string): ArchiveKind | undefined {
  if (/\.(tar\.gz|tgz)$/i.test(file)) return "tar.gz";
  if (/\.tar$/i.test(file)) return "tar";
  if (/\.zip$/i.test(file)) return "zip";
  return undefined;
}

/** Reads and checks an archive file: its entries, or RejectedSubmission. */
export async function readArchive(file: string, limits: Limits = defaultLimits): Promise<Entry[]> {
  const kind = archiveKind(file);
  const st = await stat(file);
  if (kind === "zip") {
    if (st.size > limits.totalBytes * 2)
      throw new RejectedSubmission(
        `the archive is ${mib(st.size)} (limit ${mib(limits.totalBytes * 2)})`,
      );
    const fh = await open(file, "r");
    try {
      return readZip(await fh.readFile(), limits);
    } finally {
      await fh.close();
    }
  }
  const src = createReadStream(file);
  const stream = kind === "tar.gz" ? src.pipe(createGunzip()) : src;
  src.on("error", (e) => stream.destroy(e));
  try {
    return await readTar(stream as AsyncIterable<Buffer>, limits);
  } catch (e) {
    if (e instanceof RejectedSubmission) throw e;
    throw new RejectedSubmission(`unreadable ${kind} archive: ${(e as Error).message}`);
  } finally {
    stream.destroy();
    src.destroy();
  }
}
