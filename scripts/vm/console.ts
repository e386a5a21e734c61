import type { Writable } from "node:stream";
import { type Splat, SplatDetector } from "./splat.ts";

const consoleKeep = 400;
const explainMax = 60;

/**
 * Keeps the last lines of the serial console (and optionally the whole log
 * in a file), and every kernel checker report seen in it (scripts/vm/splat.ts).
 */
export class ConsoleTail {
  lines: string[] = [];
  private partial = "";
  panicLine?: string;
  private readonly detector = new SplatDetector();
  /** Called when a report starts (its first line seen). */
  onSplat?: (s: Splat) => void;
  /** Kernel checker reports (lockdep, KASAN, atomic sleep...), in console order. */
  get splats(): readonly Splat[] {
    return this.detector.splats;
  }
  constructor(readonly file?: Writable) {}
  push(d: Buffer): void {
    this.file?.write(d);
    const text = this.partial + d.toString("utf8");
    const parts = text.split(/\r?\n/);
    this.partial = parts.pop() ?? "";
    for (const l of parts) this.add(l);
  }
  private add(l: string): void {
    const line = l.replace(/\r/g, "");
    if (!this.panicLine && /Kernel panic - not syncing/.test(line)) this.panicLine = line.trim();
    const s = this.detector.push(line);
    if (s) this.onSplat?.(s);
    this.lines.push(line);
    if (this.lines.length > consoleKeep) this.lines.shift();
  }
  finish(): void {
    if (this.partial) this.add(this.partial);
    this.partial = "";
  }
  /** The lines that explain a crash: from the first oops/panic marker kept, else the last 25. */
  explain(): string[] {
    const i = this.lines.findIndex((l) =>
      /(BUG:|Oops|Kernel panic|general protection fault|RIP:|Call Trace)/.test(l),
    );
    const from = i >= 0 ? Math.max(0, i - 2) : Math.max(0, this.lines.length - 25);
    const lines = this.lines.slice(from).filter((l) => l.trim() !== "");
    // A long trace: its start (what happened) and its end (the panic line).
    if (lines.length <= explainMax) return lines;
    const skipped = lines.length - explainMax;
    return [
      ...lines.slice(0, explainMax - 20),
      `  ... (${skipped} lines; --console FILE keeps them all)`,
      ...lines.slice(-20),
    ];
  }
}
