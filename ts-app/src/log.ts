/**
 * Leveled logging to stderr for the chat. Lines look like
 * `chat[server] 2026-11-22T15:00:00.000Z info  conn#3 logged in as alice`.
 * Callers never pass passwords, passphrases or keys here.
 */
export const levels = ["error", "warn", "info", "debug"] as const;
export type Level = (typeof levels)[number];

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  child(prefix: string): Logger;
}

export function parseLevel(s: string | undefined, fallback: Level): Level {
  return s && (levels as readonly string[]).includes(s) ? (s as Level) : fallback;
}

export function createLogger(
  name: string,
  level: Level,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const max = levels.indexOf(level);
  const make = (prefix: string): Logger => {
    const emit = (lv: Level, msg: string) => {
      if (levels.indexOf(lv) > max) return;
      const p = prefix ? `${prefix} ` : "";
      write(`chat[${name}] ${new Date().toISOString()} ${lv.padEnd(5)} ${p}${msg}\n`);
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
