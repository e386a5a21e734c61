/**
 * Output for humans: steps with progress on a TTY, plain lines when CI=true or
 * when stderr is not a terminal. Everything goes to stderr so stdout stays
 * free for what a command produces (lab run streams the guest's stdout).
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

export function info(msg: string): void {
  process.stderr.write(`lab: ${msg}\n`);
}
export function warn(msg: string): void {
  process.stderr.write(`lab: warning: ${msg}\n`);
}
export function error(msg: string): void {
  process.stderr.write(`lab: error: ${msg}\n`);
}
/** Shown with --verbose only (commands run, cache keys...). */
export function debug(msg: string): void {
  if (verbose) process.stderr.write(`lab: ${msg}\n`);
}

const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Runs one long step. On a TTY a spinner with the elapsed time is shown and
 * replaced by the outcome; otherwise one line at the start and one at the end.
 * `progress(text)` updates the detail shown beside the title.
 */
export async function step<T>(
  title: string,
  fn: (progress: (detail: string) => void) => Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  const secs = () => ((performance.now() - t0) / 1000).toFixed(1);
  let detail = "";
  let timer: NodeJS.Timeout | undefined;
  if (fancy && !verbose) {
    let i = 0;
    timer = setInterval(() => {
      const d = detail ? ` (${detail})` : "";
      process.stderr.write(`\r\x1b[K${frames[i++ % frames.length]} ${title}${d} ${secs()}s`);
    }, 100);
  } else {
    info(`${title}...`);
  }
  const progress = (d: string) => {
    detail = d;
    if (!fancy || verbose) debug(`${title}: ${d}`);
  };
  try {
    const r = await fn(progress);
    if (timer) clearInterval(timer);
    if (fancy && !verbose) process.stderr.write(`\r\x1b[K✔ ${title} ${secs()}s\n`);
    else info(`${title}: done in ${secs()}s`);
    return r;
  } catch (e) {
    if (timer) clearInterval(timer);
    if (fancy && !verbose) process.stderr.write(`\r\x1b[K✘ ${title} ${secs()}s\n`);
    else info(`${title}: failed after ${secs()}s`);
    throw e;
  }
}
