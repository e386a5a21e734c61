/**
 * Solution markers: how the reference marks what a student writes.
 *
 * A marked region is a run of whole lines between two comment lines. Both
 * lines are comments in C and in TypeScript, so the reference builds exactly
 * as if they were not there, and the stub (the text that replaces the region
 * in the starter kit) is written in the END line's comment:
 *
 *     <ind>/* BEGIN SOLUTION Z3: what the student writes *\/
 *     ... the reference's lines ...
 *     <ind>/* END SOLUTION Z3: return -ENOSYS; *\/          one-line stub
 *
 *     <ind>/* END SOLUTION Z3                                 several lines
 *     <ind> * pr_warn_once("...");
 *     <ind> * return -ENOSYS;
 *     <ind> *\/
 *
 *     <ind>// BEGIN SOLUTION Z1: what          (TypeScript line comments)
 *     <ind>// END SOLUTION Z1: throw notImplemented("Z1", "what");
 *
 * `/* END SOLUTION Zn *\/` alone is an empty stub (the region just goes).
 * A description starting with "(kit)" marks plumbing the stubs need (an
 * import that only a stub uses): the kit gets the stub alone, no TODO line.
 * The kit gets, in place of the region,
 *
 *     <ind>/* STUDENT TODO Z3: what the student writes *\/    (or // ...)
 *     <ind><stub lines>
 *
 * Rules (checked by `parseMarkers`, each failure a MarkerError naming the
 * file and line): every BEGIN has an END of the same task, regions do not
 * nest, the task is one of the lab's, BEGIN has a description, and no marker
 * word appears on a line that is not a well-formed marker.
 */

/** Thrown for a malformed marker; `line` is 1-based. */
export class MarkerError extends Error {
  override readonly name = "MarkerError";
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

export type CommentStyle = "block" | "line";

export interface SolutionBlock {
  /** Upper case task id: "Z1". */
  task: string;
  /** What the student writes (the BEGIN line's text). */
  what: string;
  style: CommentStyle;
  /** Leading whitespace of the BEGIN line; the TODO and stub lines get it too. */
  indent: string;
  /** 0-based index of the BEGIN line. */
  begin: number;
  /** 0-based index of the last line of the END marker (its closing line when multi-line). */
  end: number;
  /** The reference's lines between the markers. */
  solution: string[];
  /** The stub's lines, without the indent. */
  stub: string[];
}

export interface MarkedFile {
  /** Lines of the file (split on "\n"; a final newline gives a last empty string). */
  lines: string[];
  blocks: SolutionBlock[];
}

export const todoWord = "STUDENT TODO";
const markerWord = /\b(BEGIN|END) SOLUTION\b/;
const beginRe = /^(\s*)(\/\*|\/\/)\s*BEGIN SOLUTION\s+(\S+?)(?::\s*(.*?))?\s*(\*\/)?\s*$/;
const endRe = /^(\s*)(\/\*|\/\/)\s*END SOLUTION\s+(\S+?)(?::\s*(.*?))?\s*(\*\/)?\s*$/;
const taskRe = /^Z[1-9][0-9]*$/;

/**
 * Parses the markers of one file. `knownTasks` (upper case) are the task ids
 * allowed; `file` only names the file in errors.
 */
export function parseMarkers(
  text: string,
  file: string,
  knownTasks: readonly string[],
): MarkedFile {
  const lines = text.split("\n");
  const blocks: SolutionBlock[] = [];
  let open:
    { task: string; what: string; style: CommentStyle; indent: string; begin: number } | undefined;
  const fail = (i: number, reason: string): never => {
    throw new MarkerError(file, i + 1, reason);
  };
  const checkTask = (i: number, raw: string): string => {
    const task = raw.toUpperCase();
    if (!taskRe.test(task)) fail(i, `'${raw}' is not a task id (Z1, Z2, ...)`);
    if (!knownTasks.includes(task))
      fail(i, `unknown task ${task} (the lab's tasks: ${knownTasks.join(", ")})`);
    return task;
  };
  const checkClose = (i: number, style: string, close: string | undefined) => {
    if (style === "/*" && !close) fail(i, "a /* marker must close with */ on the same line");
    if (style === "//" && close) fail(i, "a // marker has no */");
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!markerWord.test(line)) continue;
    const b = beginRe.exec(line);
    if (b) {
      const [, indent, style, rawTask, what, close] = b as unknown as [
        string,
        string,
        string,
        string,
        string | undefined,
        string | undefined,
      ];
      if (open)
        fail(
          i,
          `BEGIN SOLUTION inside the region opened on line ${open.begin + 1} (regions do not nest)`,
        );
      checkClose(i, style, close);
      const task = checkTask(i, rawTask);
      if (!what?.trim())
        fail(i, "BEGIN SOLUTION needs a description: `BEGIN SOLUTION Zn: what to write`");
      open = {
        task,
        what: what!.trim(),
        style: style === "//" ? "line" : "block",
        indent,
        begin: i,
      };
      continue;
    }
    const e = endRe.exec(line);
    if (!e) fail(i, "a line that mentions BEGIN/END SOLUTION must be exactly a marker comment");
    const [, , style, rawTask, stubText, close] = e as unknown as [
      string,
      string,
      string,
      string,
      string | undefined,
      string | undefined,
    ];
    if (!open) fail(i, "END SOLUTION without a BEGIN SOLUTION before it");
    const task = checkTask(i, rawTask);
    if (task !== open!.task)
      fail(i, `END SOLUTION ${task} closes the ${open!.task} region of line ${open!.begin + 1}`);
    let stub: string[];
    let end = i;
    if (style === "/*" && !close) {
      // Multi-line stub: " * text" lines up to " */".
      if (stubText) fail(i, "a multi-line END SOLUTION has its stub on the following ' * ' lines");
      stub = [];
      for (end = i + 1; ; end++) {
        if (end >= lines.length) fail(i, "END SOLUTION comment is never closed with */");
        const l = lines[end]!;
        if (markerWord.test(l)) fail(end, "a marker inside an END SOLUTION stub");
        const m = /^(\s*)\*(?: (.*)|)$/.exec(l);
        if (/^\s*\*\/\s*$/.test(l)) break;
        if (!m) fail(end, "stub lines of END SOLUTION start with ' * ' (or close with ' */')");
        if (m![2]?.includes("*/")) fail(end, "a stub line cannot contain */");
        stub.push(m![2] ?? "");
      }
    } else {
      checkClose(i, style, close);
      stub = stubText ? [stubText] : [];
    }
    blocks.push({
      task,
      what: open!.what,
      style: open!.style,
      indent: open!.indent,
      begin: open!.begin,
      end,
      solution: lines.slice(open!.begin + 1, i),
      stub,
    });
    open = undefined;
    i = end;
  }
  if (open)
    throw new MarkerError(file, open.begin + 1, `BEGIN SOLUTION ${open.task} is never closed`);
  return { lines, blocks };
}

/** The TODO line that replaces a BEGIN marker in the kit. */
export function todoLine(b: Pick<SolutionBlock, "task" | "what" | "style" | "indent">): string {
  return b.style === "line"
    ? `${b.indent}// ${todoWord} ${b.task}: ${b.what}`
    : `${b.indent}/* ${todoWord} ${b.task}: ${b.what} */`;
}

function stubLines(b: SolutionBlock): string[] {
  return b.stub.map((s) => (s ? b.indent + s : ""));
}

/** A "(kit)" region: plumbing for the stubs, not a place the student writes. */
export const isKitOnly = (b: Pick<SolutionBlock, "what">): boolean => b.what.startsWith("(kit)");

/** What the kit has in place of a handed-out region. */
function kitLines(b: SolutionBlock): string[] {
  return isKitOnly(b) ? stubLines(b) : [todoLine(b), ...stubLines(b)];
}

/**
 * The kit's form of a file: regions of the selected tasks become their TODO
 * line and stub; regions of the other tasks keep the solution (their markers
 * dropped), so a kit for Z3 alone hands out a working chat.
 */
export function stubOut(m: MarkedFile, tasks: readonly string[]): string {
  const out: string[] = [];
  let at = 0;
  for (const b of m.blocks) {
    out.push(...m.lines.slice(at, b.begin));
    if (tasks.includes(b.task)) out.push(...kitLines(b));
    else out.push(...b.solution);
    at = b.end + 1;
  }
  out.push(...m.lines.slice(at));
  return out.join("\n");
}

/**
 * The inverse of `stubOut` for one file: finds, in order, each selected
 * region's TODO line and stub in the kit's text and puts the reference's
 * solution back with its markers, so a kit whose stubs were never touched
 * gives back the reference byte for byte. Throws MarkerError where the kit
 * no longer has the stub the reference expects.
 */
export function restore(
  kitText: string,
  ref: MarkedFile,
  tasks: readonly string[],
  file: string,
): string {
  const kit = kitText.split("\n");
  const out: string[] = [];
  let k = 0; // position in the kit
  let at = 0; // position in the reference
  for (const b of ref.blocks) {
    const before = ref.lines.slice(at, b.begin);
    for (const [j, l] of before.entries())
      if (kit[k + j] !== l)
        throw new MarkerError(
          file,
          k + j + 1,
          "the kit differs from the reference outside the stubs",
        );
    out.push(...before);
    k += before.length;
    if (tasks.includes(b.task)) {
      const expect = kitLines(b);
      for (const [j, l] of expect.entries())
        if (kit[k + j] !== l)
          throw new MarkerError(file, k + j + 1, `the ${b.task} stub (${b.what}) is not there`);
      k += expect.length;
    } else {
      k += b.solution.length;
    }
    out.push(...ref.lines.slice(b.begin, b.end + 1));
    at = b.end + 1;
  }
  const rest = ref.lines.slice(at);
  out.push(...rest);
  if (kit.length - k !== rest.length)
    throw new MarkerError(file, k + 1, "the kit's file has a different length after the last stub");
  return out.join("\n");
}

/** Lines of solution per task in one file (non-blank lines). */
export function solutionLines(m: MarkedFile): Map<string, number> {
  const n = new Map<string, number>();
  for (const b of m.blocks)
    n.set(b.task, (n.get(b.task) ?? 0) + b.solution.filter((l) => l.trim()).length);
  return n;
}
