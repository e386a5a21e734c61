/**
 * The durable store: SQLite through better-sqlite3, in WAL mode. A commit
 * appends to the -wal file with write(2) before COMMIT returns; what the
 * server promises when it acknowledges a SEND (only after the commit holding
 * it returned; the SENDs that arrive together share one transaction: group
 * commit) is the durability level:
 *   - "process" (synchronous=NORMAL, the default): the WAL frames are in
 *     the kernel's page cache when the ack leaves, so an acknowledged
 *     message survives the server process dying in any way (SIGKILL, a
 *     crash, OOM kill), not a power cut or a kernel crash;
 *   - "power" (synchronous=FULL): SQLite fsyncs the WAL before COMMIT
 *     returns, so it survives a power cut too; each group commit then waits
 *     for the disk (about 5x fewer messages a second for one client here).
 *
 * The file holds password hashes and the server's host key: it is created
 * 0600 in a directory created 0700, and a symlink, another user's file or
 * a directory others may write to is refused (private-file.ts). A database
 * belongs to one wire mode, recorded on first use: classic mode (no
 * integrity, passwords in every packet) never opens secure mode's accounts.
 */
import Database from "better-sqlite3";
import { UnsafePathError } from "../errors.ts";
import { preparePrivateFile } from "../private-file.ts";
import type { ChatStore, Invitation, NewMessage, StoreMode } from "./store.ts";

const schema = `
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  pwhash TEXT NOT NULL,
  created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS channels (
  name TEXT PRIMARY KEY,
  creator TEXT NOT NULL REFERENCES users(name),
  created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
  channel TEXT NOT NULL REFERENCES channels(name),
  user TEXT NOT NULL REFERENCES users(name),
  PRIMARY KEY (channel, user)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_user ON members(user);
CREATE TABLE IF NOT EXISTS invitations (
  channel TEXT NOT NULL REFERENCES channels(name),
  user TEXT NOT NULL REFERENCES users(name),
  inviter TEXT NOT NULL REFERENCES users(name),
  ts INTEGER NOT NULL,
  PRIMARY KEY (user, channel)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS invitations_by_inviter ON invitations(inviter);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
  channel TEXT NOT NULL REFERENCES channels(name),
  id INTEGER NOT NULL,
  user TEXT NOT NULL,
  text TEXT NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY (channel, id)
) WITHOUT ROWID;
`;

interface MessageRow {
  id: number;
  user: string;
  text: string;
  ts: number;
}

/** What an acknowledged write survives (see the top of this file). */
export type Durability = "process" | "power";

export interface OpenOptions {
  /** Default "process" (synchronous=NORMAL); "power" fsyncs every commit. */
  durability?: Durability;
  /** The wire mode; a database recorded for the other mode is refused. */
  mode?: StoreMode;
  /** Told when an existing file's permissions were tightened to 0600. */
  onNotice?: (message: string) => void;
}

/** Remembered memberships at most (then the cache starts over). */
const memberCacheMax = 100_000;

export function openSqliteStore(path: string, opts: OpenOptions = {}): ChatStore {
  if (path !== ":memory:") {
    const f = preparePrivateFile(path, ["-wal", "-shm", "-journal"]);
    if (f.tightened) opts.onNotice?.(`${path} was readable by other users: now 0600`);
  }
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${opts.durability === "power" ? "FULL" : "NORMAL"}`);
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  db.exec(schema);

  const q = {
    pw: db.prepare<[string], { pwhash: string }>("SELECT pwhash FROM users WHERE name = ?"),
    addUser: db.prepare("INSERT OR IGNORE INTO users(name, pwhash, created) VALUES (?, ?, ?)"),
    addChan: db.prepare("INSERT OR IGNORE INTO channels(name, creator, created) VALUES (?, ?, ?)"),
    member: db.prepare<[string, string], { one: number }>(
      "SELECT 1 AS one FROM members WHERE channel = ? AND user = ?",
    ),
    addMember: db.prepare("INSERT OR IGNORE INTO members(channel, user) VALUES (?, ?)"),
    last: db.prepare<[string], { last: number }>(
      "SELECT COALESCE(MAX(id), -1) AS last FROM messages WHERE channel = ?",
    ),
    addMsg: db.prepare("INSERT INTO messages(channel, id, user, text, ts) VALUES (?, ?, ?, ?, ?)"),
    msg: db.prepare<[string, number], MessageRow>(
      "SELECT id, user, text, ts FROM messages WHERE channel = ? AND id = ?",
    ),
    hist: db.prepare<[string, number, number], MessageRow>(
      "SELECT id, user, text, ts FROM messages WHERE channel = ? AND id < ? ORDER BY id DESC LIMIT ?",
    ),
    chans: db.prepare<[string], { channel: string }>(
      "SELECT channel FROM members WHERE user = ? ORDER BY channel",
    ),
    nChans: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM members WHERE user = ?"),
    invite: db.prepare(
      "INSERT OR IGNORE INTO invitations(channel, user, inviter, ts) VALUES (?, ?, ?, ?)",
    ),
    invitesTo: db.prepare<[string], Invitation>(
      'SELECT channel, inviter AS "from", ts FROM invitations WHERE user = ? ORDER BY ts, channel',
    ),
    nInvitesTo: db.prepare<[string], { n: number }>(
      "SELECT COUNT(*) AS n FROM invitations WHERE user = ?",
    ),
    nInvitesFrom: db.prepare<[string], { n: number }>(
      "SELECT COUNT(*) AS n FROM invitations WHERE inviter = ?",
    ),
    uninvite: db.prepare("DELETE FROM invitations WHERE channel = ? AND user = ?"),
    getMeta: db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?"),
    setMeta: db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)"),
  };

  if (opts.mode) {
    const recorded = q.getMeta.get("mode")?.value;
    if (recorded === undefined) q.setMeta.run("mode", opts.mode);
    else if (recorded !== opts.mode) {
      db.close();
      throw new UnsafePathError(
        path,
        `this database belongs to ${recorded} mode; ${opts.mode} mode never shares its accounts (give it its own --db)`,
      );
    }
  }

  /** Memberships seen, "channel\0user" (a cache of positive answers only). */
  const members = new Set<string>();

  const accept = db.transaction((channel: string, user: string): boolean => {
    if (q.uninvite.run(channel, user).changes === 0) return false;
    q.addMember.run(channel, user);
    return true;
  });

  const createChannel = db.transaction((channel: string, creator: string): boolean => {
    if (q.addChan.run(channel, creator, Date.now()).changes === 0) return false;
    q.addMember.run(channel, creator);
    return true;
  });

  const append = db.transaction((batch: NewMessage[]): number[] => {
    const next = new Map<string, number>();
    return batch.map((m) => {
      const id = next.get(m.channel) ?? q.last.get(m.channel)!.last + 1;
      next.set(m.channel, id + 1);
      q.addMsg.run(m.channel, id, m.user, m.text, m.ts);
      return id;
    });
  });

  return {
    getPasswordHash: (user) => q.pw.get(user)?.pwhash,
    createUser: (user, hash) => q.addUser.run(user, hash, Date.now()).changes === 1,
    createChannel: (channel, creator) => createChannel(channel, creator),
    isMember: (channel, user) => {
      // Every SEND checks membership: a positive answer is remembered
      // (membership is never taken back, so it cannot go stale).
      const k = `${channel}\0${user}`;
      if (members.has(k)) return true;
      if (q.member.get(channel, user) === undefined) return false;
      if (members.size >= memberCacheMax) members.clear();
      members.add(k);
      return true;
    },
    addMember: (channel, user) => q.addMember.run(channel, user).changes === 1,
    appendMessages: (batch) => (batch.length ? append(batch) : []),
    getMessage: (channel, id) => q.msg.get(channel, id),
    lastMessageId: (channel) => q.last.get(channel)!.last,
    history: (channel, before, limit) => q.hist.all(channel, before, limit).reverse(),
    channelsOf: (user) => q.chans.all(user).map((r) => r.channel),
    countChannelsOf: (user) => q.nChans.get(user)!.n,
    addInvitation: (channel, user, from, ts) => q.invite.run(channel, user, from, ts).changes === 1,
    invitationsOf: (user) => q.invitesTo.all(user),
    countInvitationsTo: (user) => q.nInvitesTo.get(user)!.n,
    countInvitationsFrom: (user) => q.nInvitesFrom.get(user)!.n,
    removeInvitation: (channel, user) => q.uninvite.run(channel, user).changes === 1,
    acceptInvitation: (channel, user) => accept(channel, user),
    getMeta: (key) => q.getMeta.get(key)?.value,
    setMeta: (key, value) => void q.setMeta.run(key, value),
    syncLevel: () =>
      ["OFF", "NORMAL", "FULL", "EXTRA"][db.pragma("synchronous", { simple: true }) as number] ??
      "unknown",
    close: () => {
      if (db.open) db.close();
    },
  };
}
