/**
 * Debian version strings (`[epoch:]upstream[-revision]`) and their order, as
 * Debian Policy §5.6.12 defines it and `dpkg --compare-versions` applies it.
 * Pure, so the kernel resolver can sort what apt serves without a process
 * per comparison.
 */

export interface DebVersion {
  epoch: number;
  upstream: string;
  /** "" when the version has no Debian revision (a native package). */
  revision: string;
}

export function parseDebVersion(v: string): DebVersion {
  const colon = v.indexOf(":");
  const epoch = colon > 0 ? Number(v.slice(0, colon)) : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf("-");
  return dash > 0
    ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) }
    : { epoch, upstream: rest, revision: "" };
}

/** `[epoch:]upstream` without the Debian revision: the same source release. */
export function upstreamOf(v: string): string {
  const p = parseDebVersion(v);
  return p.epoch ? `${p.epoch}:${p.upstream}` : p.upstream;
}

/** The weight of one character in the non-digit parts: ~ sorts first, letters before others. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === "~") return -1;
  if (/[0-9]/.test(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: alternating non-digit and digit runs. */
function comparepart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while (
      (i < a.length && !/[0-9]/.test(a[i] as string)) ||
      (j < b.length && !/[0-9]/.test(b[j] as string))
    ) {
      const ac = i < a.length && !/[0-9]/.test(a[i] as string) ? order(a[i]) : 0;
      const bc = j < b.length && !/[0-9]/.test(b[j] as string) ? order(b[j]) : 0;
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === "0") i++;
    while (b[j] === "0") j++;
    while (
      i < a.length &&
      /[0-9]/.test(a[i] as string) &&
      j < b.length &&
      /[0-9]/.test(b[j] as string)
    ) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a[i] as string)) return 1;
    if (j < b.length && /[0-9]/.test(b[j] as string)) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** Negative, zero or positive as `a` is older than, equal to or newer than `b`. */
export function compareDebVersions(a: string, b: string): number {
  const x = parseDebVersion(a);
  const y = parseDebVersion(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return comparepart(x.upstream, y.upstream) || comparepart(x.revision, y.revision);
}

/** A copy of `versions`, newest first. */
export function newestFirst(versions: readonly string[]): string[] {
  return [...versions].sort((a, b) => compareDebVersions(b, a));
}
