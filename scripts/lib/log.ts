/**
 * Output for humans: steps with progress on a TTY, plain lines when CI=true or
 * when stderr is not a terminal. Everything goes to stderr so stdout stays
 * free for what a command produces (lab run streams the guest's stdout).
 *
 * Several steps may run at once (`lab build` builds independent targets
 * concurrently): on a TTY they share a status block at the bottom, one line
 * each, and every other message is printed above it.
 */
const ci = !!process.env.CI && process.env.CI !== "false";
const fancy = process.stderr.isTTY && !ci;
let verbose = !!process.env.LAB_VERBOSE;

export function setVerbose(on: boolean): void {
  verbose = on;
}
export function isVerbose(): boolean {
  return verbose;
}
export function isCI(): boolean {
  return ci;
}

interface Active {
  title: string;
  detail: string;
  t0: number;
}

const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const active = new Set<Active>();
let drawn = 0;
let tick = 0;
let timer: NodeJS.Timeout | undefined;

const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

/** Erases the status block (the cursor ends where it began). */
function clearBlock(): void {
  if (drawn === 0) return;
  process.stderr.write(`\x1b[${drawn}A\r\x1b[J`);
  drawn = 0;
}

function drawBlock(): void {
  const width = process.stderr.columns || 80;
  const f = frames[tick++ % frames.length];
  const lines = [...active].map((a) => {
    const d = a.detail ? ` (${a.detail})` : "";
    return `${f} ${a.title}${d} ${secs(a.t0)}s`.slice(0, width - 1);
  });
  if (lines.length) process.stderr.write(lines.join("\n") + "\n");
  drawn = lines.length;
}

/** Writes whole lines to stderr, above the status block when one is shown. */
function emit(text: string): void {
  if (!timer) {
    process.stderr.write(text);
    return;
  }
  clearBlock();
  process.stderr.write(text);
  drawBlock();
}

export function info(msg: string): void {
  emit(`lab: ${msg}\n`);
}
export function warn(msg: string): void {
  emit(`lab: warning: ${msg}\n`);
}
export function error(msg: string): void {
  emit(`lab: error: ${msg}\n`);
}
/** Shown with --verbose only (commands run, cache keys...). */
export function debug(msg: string): void {
  if (verbose) emit(`lab: ${msg}\n`);
}

function startBlock(a: Active): void {
  active.add(a);
  if (!timer) {
    timer = setInterval(() => {
      clearBlock();
      drawBlock();
    }, 100);
    timer.unref();
  }
}

function endBlock(a: Active, line: string): void {
  active.delete(a);
  clearBlock();
  process.stderr.write(line);
  if (active.size === 0) {
    if (timer) clearInterval(timer);
    timer = undefined;
  } else drawBlock();
}

/**
 * Runs one long step. On a TTY a spinner line with the elapsed time is shown
 * and replaced by the outcome; otherwise one line at the start and one at the
 * end. `progress(text)` updates the detail shown beside the title.
 */
export async function step<T>(
  title: string,
  fn: (progress: (detail: string) => void) => Promise<T>,
): Promise<T> {
  const a: Active = { title, detail: "", t0: performance.now() };
  const live = fancy && !verbose;
  if (live) startBlock(a);
  else info(`${title}...`);
  const progress = (d: string) => {
    a.detail = d;
    if (!live) debug(`${title}: ${d}`);
  };
  try {
    const r = await fn(progress);
    if (live) endBlock(a, `✔ ${title} ${secs(a.t0)}s\n`);
    else info(`${title}: done in ${secs(a.t0)}s`);
    return r;
  } catch (e) {
    if (live) endBlock(a, `✘ ${title} ${secs(a.t0)}s\n`);
    else info(`${title}: failed after ${secs(a.t0)}s`);
    throw e;
  }
}
