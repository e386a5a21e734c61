/**
 * The durable store: SQLite through better-sqlite3, in WAL mode with
 * synchronous=FULL. In WAL mode a commit appends to the -wal file; FULL
 * makes SQLite fsync that file before COMMIT returns, so a transaction that
 * returned survives SIGKILL and power loss alike. (NORMAL would survive
 * SIGKILL, as the WAL is in the page cache, but not a power cut.) The
 * server acknowledges a SEND only after the commit holding it returned, and
 * batches the SENDs that arrive together into one transaction (group
 * commit), so the fsync cost is shared.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ChatStore, NewMessage } from "./store.ts";

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

export function openSqliteStore(path: string): ChatStore {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  db.exec(schema);

  const q = {
    pw: db.prepare<[string], { pwhash: string }>("SELECT pwhash FROM users WHERE name = ?"),
    addUser: db.prepare("INSERT OR IGNORE INTO users(name, pwhash, created) VALUES (?, ?, ?)"),
    chan: db.prepare<[string], { one: number }>("SELECT 1 AS one FROM channels WHERE name = ?"),
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
  };

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
    channelExists: (channel) => q.chan.get(channel) !== undefined,
    createChannel: (channel, creator) => createChannel(channel, creator),
    isMember: (channel, user) => q.member.get(channel, user) !== undefined,
    addMember: (channel, user) => q.addMember.run(channel, user).changes === 1,
    appendMessages: (batch) => (batch.length ? append(batch) : []),
    getMessage: (channel, id) => q.msg.get(channel, id),
    lastMessageId: (channel) => q.last.get(channel)!.last,
    history: (channel, before, limit) => q.hist.all(channel, before, limit).reverse(),
    channelsOf: (user) => q.chans.all(user).map((r) => r.channel),
    close: () => {
      if (db.open) db.close();
    },
  };
}
