/**
 * Text from the network made safe for a terminal. Another member's message,
 * a user or channel name, an error from the server: none may move the
 * cursor, retitle the window, clear the screen, write the clipboard
 * (OSC 52), reorder what is shown (bidi overrides) or start a line that
 * looks like the client's own. Every C0 control, DEL, C1 control, bidi
 * control and lone surrogate is shown as a visible escape (\x1b, \u202e);
 * a newline in a message continues on an indented, marked line.
 */

/** What escapeControls() escapes: C0, DEL, C1, bidi controls, line/paragraph separators, lone surrogates. */
const unsafe =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;

function visible(c: string): string {
  const n = c.codePointAt(0)!;
  return n <= 0xff
    ? `\\x${n.toString(16).padStart(2, "0")}`
    : `\\u${n.toString(16).padStart(4, "0")}`;
}

/** Every unsafe character as a visible escape (newlines too). */
export function escapeControls(s: string): string {
  return s.replace(unsafe, visible);
}

/** A message's text for one terminal line per line: newlines continue on "  | " lines. */
export function displayText(s: string): string {
  return s
    .split("\n")
    .map((line) => escapeControls(line))
    .join("\n  | ");
}

/**
 * JSON for machine output, with the characters a terminal would act on
 * (DEL, C1, bidi controls, separators) written as \u escapes, which
 * JSON.stringify leaves raw; the value parsed back is the same.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
