import { readFile, readdir } from "node:fs/promises";
import { basename, join } from "node:path";

/**
 * Where a node process spent its time, from the `.cpuprofile` that
 * `node --cpu-prof` writes (V8's sampling profiler: a call tree, the node
 * hit by each sample and the time before it). `lab bench chat --cpu-prof`
 * prints this for each chat server it measured.
 */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** What a frame's own time is counted as. */
export type Category =
  | "idle"
  | "garbage collection"
  | "crypto: node:crypto"
  | "crypto: cryptodev binding"
  | "SQLite (better-sqlite3)"
  | "node internals (net, streams, timers)"
  | "chat (JS)"
  | "native, called from JS (JSON, Buffer, ...)"
  | "V8 and native (program)"
  | "other";

export interface ProfileSummary {
  /** Sampled time in ms, idle excluded. */
  busyMs: number;
  idleMs: number;
  byCategory: { category: Category; ms: number; share: number }[];
  /** Frames with the most self time (idle excluded). */
  top: { frame: string; category: Category; ms: number; share: number }[];
}

/** The binding's methods as V8 names them (ts-app/native/src/device.cc). */
const bindingMethods = new Set(["crypt", "authCrypt", "createSession", "freeSession"]);
/** better-sqlite3's native methods (Database and Statement). */
const sqliteMethods = new Set(["run", "get", "all", "iterate", "prepare", "exec", "pragma"]);

export function categorize(f: CpuProfileNode["callFrame"]): Category {
  const { functionName: fn, url } = f;
  if (fn === "(idle)") return "idle";
  if (fn === "(garbage collector)") return "garbage collection";
  if (fn === "(program)" || fn === "(root)") return "V8 and native (program)";
  if (url.startsWith("node:internal/crypto") || url === "node:crypto") return "crypto: node:crypto";
  if (url.includes("better-sqlite3")) return "SQLite (better-sqlite3)";
  if (url === "" && bindingMethods.has(fn)) return "crypto: cryptodev binding";
  if (url === "" && sqliteMethods.has(fn)) return "SQLite (better-sqlite3)";
  if (url === "") return "native, called from JS (JSON, Buffer, ...)";
  if (url.startsWith("node:")) return "node internals (net, streams, timers)";
  if (url.endsWith(".mjs") || url.endsWith(".ts") || url.endsWith(".js")) return "chat (JS)";
  return "other";
}

/**
 * A native function (no url) called from node:crypto's JS is node:crypto's
 * work (its cipher's `update`, `final`); others keep their own category.
 */
function effectiveCategory(node: CpuProfileNode, parent: Map<number, CpuProfileNode>): Category {
  const c = categorize(node.callFrame);
  if (node.callFrame.url !== "" || c !== "native, called from JS (JSON, Buffer, ...)") return c;
  const p = parent.get(node.id);
  return p && categorize(p.callFrame) === "crypto: node:crypto" ? "crypto: node:crypto" : c;
}

function frameName(f: CpuProfileNode["callFrame"]): string {
  const fn = f.functionName || "(anonymous)";
  if (!f.url) return fn;
  return `${fn} ${basename(f.url)}:${f.lineNumber + 1}`;
}

/** Pure: self time per frame and per category. */
export function summarizeProfile(p: CpuProfile, topN = 12): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, CpuProfileNode>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const selfUs = new Map<number, number>();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));

  const cats = new Map<Category, number>();
  const frames = new Map<string, { category: Category; us: number }>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || us <= 0) continue;
    const category = effectiveCategory(node, parent);
    if (category === "idle") {
      idleUs += us;
      continue;
    }
    cats.set(category, (cats.get(category) ?? 0) + us);
    const name = frameName(node.callFrame);
    const f = frames.get(name) ?? { category, us: 0 };
    f.us += us;
    frames.set(name, f);
  }
  const busyUs = [...cats.values()].reduce((a, b) => a + b, 0);
  const share = (us: number) => (busyUs ? us / busyUs : 0);
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    byCategory: [...cats]
      .map(([category, us]) => ({ category, ms: us / 1000, share: share(us) }))
      .sort((a, b) => b.ms - a.ms),
    top: [...frames]
      .map(([frame, f]) => ({ frame, category: f.category, ms: f.us / 1000, share: share(f.us) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, topN),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function formatProfileSummary(label: string, s: ProfileSummary): string {
  const lines = [
    `${label}: ${s.busyMs.toFixed(0)} ms busy, ${s.idleMs.toFixed(0)} ms idle (sampled)`,
    "  by category (self time):",
    ...s.byCategory.map(
      (c) => `    ${pct(c.share).padStart(6)}  ${c.ms.toFixed(0).padStart(7)} ms  ${c.category}`,
    ),
    "  top frames (self time):",
    ...s.top.map(
      (f) => `    ${pct(f.share).padStart(6)}  ${f.ms.toFixed(0).padStart(7)} ms  ${f.frame}`,
    ),
  ];
  return lines.join("\n");
}

/** Every .cpuprofile in dir, summarized and formatted. */
export async function summarizeProfileDir(dir: string, label: string): Promise<string[]> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) =>
    f.endsWith(".cpuprofile"),
  );
  const out: string[] = [];
  for (const f of files.sort()) {
    const p = JSON.parse(await readFile(join(dir, f), "utf8")) as CpuProfile;
    out.push(formatProfileSummary(`${label} (${join(dir, f)})`, summarizeProfile(p)));
  }
  return out;
}
