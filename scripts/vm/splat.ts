/**
 * Kernel checker reports ("splats") in the guest's serial console (pure,
 * unit tested on recorded console text). The debug kernel's checkers —
 * lockdep, the atomic-sleep check, KASAN, KFENCE, UBSAN, the hung-task and
 * lockup detectors — print a report and let the kernel run on; the lab
 * counts each one as a failure of the test that was running.
 *
 * Which test: a guest program may mark its steps on the console with
 * `echo "<5>lab-test: NAME" > /dev/kmsg` (exact: the marker and the splat
 * pass through the same log); otherwise the caller names the command.
 */

export type SplatKind =
  | "atomic-sleep"
  | "lockdep"
  | "kasan"
  | "kfence"
  | "ubsan"
  | "hung-task"
  | "lockup"
  | "rcu-stall"
  | "warning"
  | "bug"
  | "oops"
  | "panic";

export interface Splat {
  kind: SplatKind;
  /** The report's header line (timestamp removed), e.g. "BUG: KASAN: use-after-free in f+0x1/0x2". */
  title: string;
  /** Its first lines, header included (timestamps removed). */
  lines: string[];
  /** The test that was running: the last `lab-test:` marker before it, if any. */
  test?: string;
}

/** Lines of a report kept after its header. */
const keepLines = 14;

/** The console marker of a test step. */
export const testMarkerRe = /^lab-test: (.+)$/;

const headers: [RegExp, SplatKind][] = [
  [/^BUG: sleeping function called from invalid context/, "atomic-sleep"],
  [/^BUG: scheduling while atomic/, "atomic-sleep"],
  [
    /^BUG: (Invalid wait context|MAX_LOCK|looking up invalid subclass|bad unlock balance)/,
    "lockdep",
  ],
  [/^BUG: KASAN: /, "kasan"],
  [/^BUG: KFENCE: /, "kfence"],
  [/^UBSAN: /, "ubsan"],
  [/^INFO: task \S.* blocked for more than \d+ seconds/, "hung-task"],
  [/^(\S+: )?BUG: (soft lockup|workqueue lockup)/, "lockup"],
  [/^(\S+: )?(Watchdog detected hard LOCKUP|BUG: hard lockup)/, "lockup"],
  [/^(rcu: )?INFO: rcu_\w+ (self-)?detected (expedited )?stalls?/, "rcu-stall"],
  // WARN() and friends: "WARNING: CPU: 0 PID: 1 at file:line func"
  [/^WARNING: CPU: \d+ PID: \d+ /, "warning"],
  // Every other WARNING header is lockdep's (circular/recursive locking,
  // inconsistent lock state, suspicious RCU usage, held lock freed, ...).
  [/^WARNING: \S/, "lockdep"],
  [/^kernel BUG at /, "bug"],
  [/^BUG: /, "bug"],
  [/^(Oops|general protection fault)\b/, "oops"],
  [/^Kernel panic - not syncing/, "panic"],
];

/** The console line without its printk timestamp ("[    1.234567] "). */
export function stripTimestamp(line: string): string {
  return line
    .replace(/\r/g, "")
    .replace(/^\[\s*\d+\.\d+\]\s?/, "")
    .replace(/^\[\s*[TC]\d+\]\s?/, "");
}

/** The kind of a report starting at `line` (timestamp removed), or undefined. */
export function splatKind(line: string): SplatKind | undefined {
  for (const [re, kind] of headers) if (re.test(line)) return kind;
  return undefined;
}

/** Feeds console lines, collects the reports; `test` follows the `lab-test:` markers. */
export class SplatDetector {
  readonly splats: Splat[] = [];
  test?: string;
  private open?: Splat;
  private prev = "";
  private prev2 = "";

  push(raw: string): Splat | undefined {
    const line = stripTimestamp(raw).trimEnd();
    const marker = testMarkerRe.exec(line);
    if (marker) {
      this.test = (marker[1] as string).trim();
      this.open = undefined;
      this.prev2 = this.prev;
      this.prev = line;
      return undefined;
    }
    const kind = splatKind(line);
    let started: Splat | undefined;
    if (kind) {
      const s: Splat = { kind, title: line, lines: [line] };
      // WARN(1, "message"): the message comes between "cut here" and the header.
      if (kind === "warning" && /\[ cut here \]/.test(this.prev2) && this.prev)
        s.lines.unshift(this.prev);
      if (this.test !== undefined) s.test = this.test;
      this.splats.push(s);
      this.open = s;
      started = s;
    } else if (this.open) {
      // A report ends at its closing rule or trace end; long ones are cut.
      if (/^={8,}$|^---\[ end trace/.test(line) || this.open.lines.length >= keepLines)
        this.open = undefined;
      else if (line !== "") this.open.lines.push(line);
    }
    this.prev2 = this.prev;
    this.prev = line;
    return started;
  }
}

/** Every report in a console log (its text as recorded). */
export function findSplats(text: string): Splat[] {
  const d = new SplatDetector();
  for (const l of text.split("\n")) d.push(l);
  return d.splats;
}

/** One report for humans: what, during which test, its first lines. */
export function formatSplat(s: Splat, test = s.test, maxLines = 8): string {
  const head = `kernel ${s.kind} report${test ? ` during ${test}` : ""}: ${s.title}`;
  const rest = s.lines.filter((l) => l !== s.title).slice(0, maxLines);
  return [head, ...rest.map((l) => `    ${l}`)].join("\n");
}
