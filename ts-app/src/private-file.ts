/**
 * Files that hold secrets (the server's database, with its host key and
 * password hashes; the client's known-hosts file) are created 0600 in a
 * directory created 0700, and refused when another user could have placed
 * or could change them: a symlink, a file owned by someone else, or a
 * directory others may write to without the sticky bit. An existing file
 * of ours that others can read is tightened to 0600.
 */
import {
  chmodSync,
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  statSync,
  type Stats,
} from "node:fs";
import { dirname } from "node:path";
import { UnsafePathError } from "./errors.ts";

const myUid = () => process.getuid?.() ?? -1;

/** Owned by this process's user, or by root (a system directory such as /tmp). */
function trustedOwner(st: Stats): boolean {
  return st.uid === myUid() || st.uid === 0;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** Creates `dir` (and its parents) 0700 when missing; refuses one others may write to. */
export function preparePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new UnsafePathError(dir, "not a directory");
  if (!trustedOwner(st))
    throw new UnsafePathError(dir, `directory owned by uid ${st.uid}, not by this user or root`);
  if (st.mode & 0o022 && !(st.mode & 0o1000))
    throw new UnsafePathError(dir, "directory writable by other users (and not sticky)");
}

/** Checks an existing file of ours; undefined when it does not exist. */
function checkExisting(path: string): Stats | undefined {
  const st = lstatOrUndefined(path);
  if (!st) return undefined;
  if (st.isSymbolicLink()) throw new UnsafePathError(path, "is a symbolic link: refused");
  if (!st.isFile()) throw new UnsafePathError(path, "not a regular file");
  if (st.uid !== myUid())
    throw new UnsafePathError(path, `owned by uid ${st.uid}, not by this user (uid ${myUid()})`);
  return st;
}

export interface PrivateFile {
  created: boolean;
  /** The file existed with group or other permissions, now removed. */
  tightened: boolean;
}

/**
 * Makes `path` a private file: its directory prepared, the file created
 * 0600 (O_EXCL|O_NOFOLLOW) or an existing one checked. `siblings` are
 * suffixes of companion files (SQLite's -wal, -shm) that must not exist
 * as someone else's either.
 */
export function preparePrivateFile(path: string, siblings: string[] = []): PrivateFile {
  preparePrivateDir(dirname(path));
  for (const s of siblings) checkExisting(path + s);
  const st = checkExisting(path);
  if (!st) {
    const fd = openSync(
      path,
      constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
      0o600,
    );
    closeSync(fd);
    return { created: true, tightened: false };
  }
  const tightened = (st.mode & 0o077) !== 0;
  if (tightened) {
    chmodSync(path, 0o600);
    for (const s of siblings) if (lstatOrUndefined(path + s)) chmodSync(path + s, 0o600);
  }
  return { created: false, tightened };
}
