/**
 * Leveled logging to stderr for the chat. Lines look like
 * `chat[server] 2026-11-22T15:00:00.000Z info  conn#3 logged in as alice`.
 * Callers never pass passwords or keys here. Control characters in a line
 * (a peer's text may reach it) are escaped. With a `rate`, at most `burst`
 * lines pass at once and `perMinute` sustained; lines over that are
 * counted, and the count is written once lines pass again: a flood of
 * peers cannot flood the server's log.
 */
import { escapeControls } from "./display.ts";
export const levels = ["error", "warn", "info", "debug"] as const;
export type Level = (typeof levels)[number];

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  child(prefix: string): Logger;
}

/** The server's log rate: 200 lines at once, 50 a second sustained. */
export const serverLogRate = { burst: 200, perMinute: 3000 };

export function parseLevel(s: string | undefined, fallback: Level): Level {
  return s && (levels as readonly string[]).includes(s) ? (s as Level) : fallback;
}

export function createLogger(
  name: string,
  level: Level,
  write: (line: string) => void = (l) => process.stderr.write(l),
  rate?: { burst: number; perMinute: number },
): Logger {
  const max = levels.indexOf(level);
  let tokens = rate?.burst ?? 0;
  let last = Date.now();
  let dropped = 0;
  const stamp = (lv: Level) => `chat[${name}] ${new Date().toISOString()} ${lv.padEnd(5)} `;
  const admit = (): boolean => {
    if (!rate) return true;
    const now = Date.now();
    tokens = Math.min(rate.burst, tokens + ((now - last) * rate.perMinute) / 60_000);
    last = now;
    if (tokens < 1) {
      dropped++;
      return false;
    }
    tokens--;
    if (dropped) {
      write(`${stamp("warn")}${dropped} log lines suppressed (over ${rate.perMinute} a minute)\n`);
      dropped = 0;
    }
    return true;
  };
  const make = (prefix: string): Logger => {
    const emit = (lv: Level, msg: string) => {
      if (levels.indexOf(lv) > max || !admit()) return;
      const p = prefix ? `${prefix} ` : "";
      write(`${stamp(lv)}${p}${escapeControls(msg)}\n`);
    };
    return {
      error: (m) => emit("error", m),
      warn: (m) => emit("warn", m),
      info: (m) => emit("info", m),
      debug: (m) => emit("debug", m),
      child: (p) => make(prefix ? `${prefix} ${p}` : p),
    };
  };
  return make("");
}

/** A logger that drops everything (library use, tests). */
export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  child: () => silentLogger,
};
