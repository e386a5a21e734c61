/**
 * Files holding secrets: the server's database (password hashes, host key)
 * and the client's known_hosts. Created 0600 in a 0700 directory; a
 * symlink, another user's file, or a directory others may write to is
 * refused; an existing file of ours readable by others is tightened. A
 * database belongs to one wire mode (issue 18, findings 7 and 8).
 */
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultDbPath } from "../src/cli.ts";
import { KnownHostsFile, hostId, pinnedHostKey } from "../src/client/host-keys.ts";
import { UnsafePathError } from "../src/errors.ts";
import { HostKey } from "../src/protocol/keys.ts";
import { openSqliteStore } from "../src/store/sqlite.ts";

const dir = mkdtempSync(join(tmpdir(), "chat-private-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const mode = (p: string) => statSync(p).mode & 0o7777;
const isRoot = process.getuid?.() === 0;

describe("the database file", () => {
  it("is created 0600 in a directory created 0700, WAL files alike", () => {
    const db = join(dir, "new", "deeper", "chat.db");
    const store = openSqliteStore(db, { mode: "secure" });
    store.createUser("alice", "h");
    expect(mode(join(dir, "new"))).toBe(0o700);
    expect(mode(join(dir, "new", "deeper"))).toBe(0o700);
    expect(mode(db)).toBe(0o600);
    expect(mode(`${db}-wal`)).toBe(0o600);
    store.close();
  });

  it("refuses a symlink, and a directory others may write to", () => {
    const target = join(dir, "target.db");
    writeFileSync(target, "");
    const link = join(dir, "link.db");
    symlinkSync(target, link);
    expect(() => openSqliteStore(link)).toThrow(UnsafePathError);
    expect(() => openSqliteStore(link)).toThrow(/symbolic link/);
    const wal = join(dir, "walLink.db");
    symlinkSync(target, `${wal}-wal`);
    expect(() => openSqliteStore(wal)).toThrow(/walLink\.db-wal: is a symbolic link/);
    const open = join(dir, "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(() => openSqliteStore(join(open, "chat.db"))).toThrow(/writable by other users/);
    chmodSync(open, 0o1777); // sticky, like /tmp: others cannot replace our file
    openSqliteStore(join(open, "chat.db")).close();
  });

  it.skipIf(!isRoot)(
    "refuses a file another user placed there (needs root to chown; skipped otherwise)",
    () => {
      const theirs = join(dir, "theirs.db");
      writeFileSync(theirs, "");
      chownSync(theirs, 65534, 65534);
      expect(() => openSqliteStore(theirs)).toThrow(/owned by uid 65534/);
    },
  );

  it("tightens an existing database that others could read", () => {
    const db = join(dir, "old.db");
    openSqliteStore(db).close();
    chmodSync(db, 0o644);
    const notices: string[] = [];
    openSqliteStore(db, { onNotice: (m) => notices.push(m) }).close();
    expect(mode(db)).toBe(0o600);
    expect(notices[0]).toMatch(/readable by other users: now 0600/);
  });

  it("belongs to one wire mode: classic never opens secure accounts, nor the reverse", () => {
    const db = join(dir, "secure.db");
    const s = openSqliteStore(db, { mode: "secure" });
    s.createUser("alice", "h");
    s.close();
    expect(() => openSqliteStore(db, { mode: "classic" })).toThrow(
      /belongs to secure mode; classic mode never shares its accounts/,
    );
    openSqliteStore(db, { mode: "secure" }).close();
    const classic = join(dir, "classic.db");
    openSqliteStore(classic, { mode: "classic" }).close();
    expect(() => openSqliteStore(classic, { mode: "secure" })).toThrow(/belongs to classic mode/);
    expect(defaultDbPath("secure")).not.toBe(defaultDbPath("classic"));
  });
});

describe("known_hosts", () => {
  const key = HostKey.generate().publicKey;
  const other = HostKey.generate().publicKey;

  it("records a new server on first use, privately, then holds it to that key", async () => {
    const path = join(dir, "kh", "known_hosts");
    const seen: string[] = [];
    const kh = new KnownHostsFile(path, { acceptNew: true, onNew: (id) => seen.push(id) });
    await kh.check("127.0.0.1", 7777, key);
    await kh.check("127.0.0.1", 7777, key);
    expect(seen).toEqual(["127.0.0.1:7777"]);
    expect(mode(path)).toBe(0o600);
    expect(mode(join(dir, "kh"))).toBe(0o700);
    expect(readFileSync(path, "utf8")).toBe(`127.0.0.1:7777 ed25519 ${key.toString("base64")}\n`);
    await expect(kh.check("127.0.0.1", 7777, other)).rejects.toMatchObject({
      code: "host_key_mismatch",
      message: expect.stringMatching(/not the one recorded in .*known_hosts line 1/),
    });
    await kh.check("127.0.0.1", 7778, other); // another port, another server
    const strict = new KnownHostsFile(path, { acceptNew: false });
    await expect(strict.check("::1", 7777, key)).rejects.toMatchObject({
      code: "unknown_host_key",
    });
    expect(hostId("::1", 7777)).toBe("[::1]:7777");
  });

  it("refuses a known_hosts that is a symlink", async () => {
    const real = join(dir, "kh-real");
    writeFileSync(real, "");
    const link = join(dir, "kh-link");
    symlinkSync(real, link);
    await expect(new KnownHostsFile(link, { acceptNew: true }).check("h", 1, key)).rejects.toThrow(
      /symbolic link/,
    );
  });

  it("a pinned fingerprint accepts that key only", async () => {
    const { fingerprint } = await import("../src/protocol/keys.ts");
    const pin = pinnedHostKey(fingerprint(key));
    await pin.check("h", 1, key);
    await expect(pin.check("h", 1, other)).rejects.toMatchObject({ code: "host_key_mismatch" });
    expect(() => pinnedHostKey("MD5:00")).toThrow(/not SHA256/);
  });
});
