/**
 * Parses `ldd` output into the absolute paths of the shared objects a
 * binary loads (the vdso, which has no file, is left out). Pure.
 */
export function parseLdd(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const arrow = /^\S+ => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    const direct = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    const path = arrow?.[1] ?? direct?.[1];
    if (path && !out.includes(path)) out.push(path);
  }
  return out;
}
