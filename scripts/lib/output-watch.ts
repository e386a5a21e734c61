import { Writable } from "node:stream";

/** Text that grows; `waitFor` resolves when it first matches. */
export class OutputWatch extends Writable {
  text = "";
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.text += c.toString();
    this.waiters = this.waiters.filter((w) => {
      const m = this.text.match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
    cb();
  }

  match(re: RegExp): Promise<RegExpMatchArray> {
    const m = this.text.match(re);
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.waiters.push({ re, resolve }));
  }

  tail(n = 30): string {
    return this.text.trimEnd().split("\n").slice(-n).join("\n");
  }
}
