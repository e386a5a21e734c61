/**
 * A deterministic cpio "newc" archive writer (the initramfs format): entries
 * sorted by path, owner root, mtime 0, inode numbers by position. Pure: the
 * same entries always give the same bytes.
 */
export type CpioEntry =
  | { path: string; type: "dir"; mode?: number }
  | { path: string; type: "file"; mode?: number; data: Buffer }
  | { path: string; type: "symlink"; target: string }
  | { path: string; type: "char"; mode?: number; major: number; minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const hex8 = (n: number) => n.toString(16).padStart(8, "0");
const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);

function header(
  ino: number,
  mode: number,
  nlink: number,
  size: number,
  name: string,
  rdev: [number, number] = [0, 0],
): Buffer {
  const nameBuf = Buffer.from(name + "\0", "utf8");
  const fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], nameBuf.length, 0];
  const head = Buffer.from("070701" + fields.map(hex8).join(""), "ascii");
  return Buffer.concat([head, nameBuf, pad4(head.length + nameBuf.length)]);
}

/** Normalizes "/a/b/" to "a/b"; rejects empty, "." and ".." components. */
export function cpioPath(p: string): string {
  const parts = p.split("/").filter((s) => s !== "");
  if (parts.length === 0 || parts.some((s) => s === "." || s === ".."))
    throw new Error(`bad archive path '${p}'`);
  return parts.join("/");
}

export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const byPath = new Map<string, CpioEntry>();
  for (const e of entries) {
    const path = cpioPath(e.path);
    if (byPath.has(path)) throw new Error(`duplicate archive path '${path}'`);
    byPath.set(path, e);
  }
  const paths = [...byPath.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: Buffer[] = [];
  let ino = 1;
  for (const path of paths) {
    const e = byPath.get(path) as CpioEntry;
    switch (e.type) {
      case "dir":
        out.push(header(ino++, S_IFDIR | (e.mode ?? 0o755), 2, 0, path));
        break;
      case "file":
        out.push(header(ino++, S_IFREG | (e.mode ?? 0o644), 1, e.data.length, path));
        out.push(e.data, pad4(e.data.length));
        break;
      case "symlink": {
        const t = Buffer.from(e.target, "utf8");
        out.push(header(ino++, S_IFLNK | 0o777, 1, t.length, path), t, pad4(t.length));
        break;
      }
      case "char":
        out.push(header(ino++, S_IFCHR | (e.mode ?? 0o600), 1, 0, path, [e.major, e.minor]));
        break;
    }
  }
  out.push(header(0, 0, 1, 0, "TRAILER!!!"));
  return Buffer.concat(out);
}

/** Adds the parent folders every entry needs (as 0755 dirs) unless listed. */
export function withParents(entries: readonly CpioEntry[]): CpioEntry[] {
  const have = new Set(entries.map((e) => cpioPath(e.path)));
  const extra: CpioEntry[] = [];
  for (const e of entries) {
    const parts = cpioPath(e.path).split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (!have.has(dir)) {
        have.add(dir);
        extra.push({ path: dir, type: "dir" });
      }
    }
  }
  return [...entries, ...extra];
}
