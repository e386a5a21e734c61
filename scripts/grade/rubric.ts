import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { LabError } from "../lib/errors.ts";
import { repoRoot } from "../lib/paths.ts";
import { knownTestIds } from "./checks.ts";

/**
 * The rubric (grading/rubric.yaml): items that map test ids to points,
 * grouped into parts, with visibility, partial credit, tags and a hint.
 * `loadRubric` reads and validates it; every problem is reported with the
 * item's path and the file's line, all at once.
 */

export const parts = ["driver", "device", "chat"] as const;
export type Part = (typeof parts)[number];
export const visibilities = ["visible", "hidden", "after_due_date"] as const;
export type Visibility = (typeof visibilities)[number];

export interface RubricItem {
  id: string;
  part: Part;
  title: string;
  points: number;
  tests: string[];
  partial: boolean;
  visibility: Visibility;
  tags: string[];
  hint?: string;
  /** Items that must earn points for this one to count (e.g. "no crash" needs a working driver). */
  requires: string[];
}

export interface Rubric {
  version: 1;
  parts: Partial<Record<Part, string>>;
  items: RubricItem[];
}

export const defaultRubricPath = join(repoRoot, "grading", "rubric.yaml");

export class RubricError extends LabError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      `${file}: ${problems.length} problem(s) in the rubric:\n${problems.map((p) => `  ${p}`).join("\n")}`,
      2,
      "see the comment at the top of grading/rubric.yaml for the format",
    );
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Validates a parsed rubric (pure). `where(path)` names the source line of a
 * path; `known` the test ids that exist.
 */
export function validateRubric(
  data: unknown,
  known: ReadonlyMap<string, string> | ReadonlySet<string>,
  where: (path: (string | number)[]) => string = () => "",
): { rubric?: Rubric; problems: string[] } {
  const problems: string[] = [];
  const bad = (path: (string | number)[], msg: string) => {
    const p = path.reduce<string>(
      (s, k) => (typeof k === "number" ? `${s}[${k}]` : s ? `${s}.${k}` : k),
      "",
    );
    problems.push(`${where(path)}${p || "(top)"}: ${msg}`);
  };
  if (!isObj(data)) {
    bad([], "the file must be a mapping with version, parts and items");
    return { problems };
  }
  for (const k of Object.keys(data))
    if (!["version", "parts", "items"].includes(k)) bad([k], "unknown key");
  if (data.version !== 1) bad(["version"], `must be 1, got ${JSON.stringify(data.version)}`);
  const partsOut: Partial<Record<Part, string>> = {};
  if (!isObj(data.parts)) bad(["parts"], "must map part names to a description");
  else
    for (const [k, v] of Object.entries(data.parts)) {
      if (!(parts as readonly string[]).includes(k))
        bad(["parts", k], `unknown part (one of ${parts.join(", ")})`);
      else if (typeof v !== "string") bad(["parts", k], "must be a description (text)");
      else partsOut[k as Part] = v;
    }
  const items: RubricItem[] = [];
  if (!Array.isArray(data.items) || data.items.length === 0) {
    bad(["items"], "must be a non-empty list of items");
    return { problems };
  }
  const ids = new Set<string>();
  const allowed = [
    "id",
    "part",
    "title",
    "points",
    "tests",
    "partial",
    "visibility",
    "tags",
    "hint",
    "requires",
  ];
  data.items.forEach((raw: unknown, i: number) => {
    const at = (k?: string) => (k ? ["items", i, k] : ["items", i]);
    if (!isObj(raw)) return bad(at(), "must be a mapping");
    for (const k of Object.keys(raw)) if (!allowed.includes(k)) bad(at(k), "unknown key");
    const n = problems.length;
    const id = raw.id;
    if (typeof id !== "string" || !/^[a-z0-9_]+\.[a-z0-9_.]+$/.test(id))
      bad(at("id"), "must be part.name (lower case, digits, _ and .)");
    else if (ids.has(id)) bad(at("id"), `duplicate item id '${id}'`);
    else ids.add(id);
    if (!(parts as readonly unknown[]).includes(raw.part))
      bad(at("part"), `must be one of ${parts.join(", ")}`);
    else if (typeof id === "string" && !id.startsWith(`${raw.part as string}.`))
      bad(at("id"), `must start with its part ('${raw.part as string}.')`);
    if (typeof raw.title !== "string" || !raw.title.trim())
      bad(at("title"), "must be a line of text");
    if (typeof raw.points !== "number" || !(raw.points > 0) || !Number.isFinite(raw.points))
      bad(at("points"), `must be a positive number, got ${JSON.stringify(raw.points)}`);
    if (!Array.isArray(raw.tests) || raw.tests.length === 0)
      bad(at("tests"), "must be a non-empty list of test ids");
    else
      raw.tests.forEach((t: unknown, j: number) => {
        if (typeof t !== "string") bad(["items", i, "tests", j], "must be a test id");
        else if (!known.has(t))
          bad(
            ["items", i, "tests", j],
            `no test has the id '${t}' (see \`conformance --list\` and scripts/grade/checks.ts)`,
          );
      });
    if (raw.partial !== undefined && typeof raw.partial !== "boolean")
      bad(at("partial"), "must be true or false");
    if (
      raw.visibility !== undefined &&
      !(visibilities as readonly unknown[]).includes(raw.visibility)
    )
      bad(at("visibility"), `must be one of ${visibilities.join(", ")}`);
    if (
      raw.tags !== undefined &&
      (!Array.isArray(raw.tags) || raw.tags.some((t) => typeof t !== "string"))
    )
      bad(at("tags"), "must be a list of words");
    if (raw.hint !== undefined && typeof raw.hint !== "string") bad(at("hint"), "must be text");
    if (
      raw.requires !== undefined &&
      (!Array.isArray(raw.requires) || raw.requires.some((t) => typeof t !== "string"))
    )
      bad(at("requires"), "must be a list of item ids");
    if (problems.length !== n) return;
    items.push({
      id: id as string,
      part: raw.part as Part,
      title: (raw.title as string).trim(),
      points: raw.points as number,
      tests: raw.tests as string[],
      partial: (raw.partial as boolean | undefined) ?? false,
      visibility: (raw.visibility as Visibility | undefined) ?? "visible",
      tags: (raw.tags as string[] | undefined) ?? [],
      ...(raw.hint !== undefined ? { hint: (raw.hint as string).trim() } : {}),
      requires: (raw.requires as string[] | undefined) ?? [],
    });
  });
  // `requires` names earlier items of the same part (scored first: no cycles)
  const seen = new Map<string, Part>();
  items.forEach((it, i) => {
    it.requires.forEach((r, j) => {
      const part = seen.get(r);
      if (part === undefined)
        bad(
          ["items", i, "requires", j],
          ids.has(r) ? `'${r}' must come before '${it.id}'` : `no item has the id '${r}'`,
        );
      else if (part !== it.part) bad(["items", i, "requires", j], `'${r}' is of another part`);
    });
    seen.set(it.id, it.part);
  });
  if (problems.length) return { problems };
  return { rubric: { version: 1, parts: partsOut, items }, problems };
}

/** Parses and validates rubric text; throws RubricError listing every problem. */
export function parseRubric(
  text: string,
  file: string,
  known: ReadonlyMap<string, string> | ReadonlySet<string> = knownTestIds(),
): Rubric {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  if (doc.errors.length)
    throw new RubricError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `${pos ? `line ${pos.line}: ` : ""}${e.message.split("\n")[0]}`;
      }),
    );
  const where = (path: (string | number)[]) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number] } | undefined;
      if (node?.range) return `line ${lc.linePos(node.range[0]).line}: `;
    }
    return "";
  };
  const { rubric, problems } = validateRubric(doc.toJS(), known, where);
  if (!rubric) throw new RubricError(file, problems);
  return rubric;
}

export async function loadRubric(
  path = defaultRubricPath,
): Promise<{ rubric: Rubric; text: string }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new LabError(`cannot read the rubric ${path}: ${(e as Error).message}`, 2);
  }
  const shown = relative(process.cwd(), path) || path;
  return { rubric: parseRubric(text, shown), text };
}

/** Every test id the rubric names (each once, in order). */
export function rubricTests(r: Rubric, only?: ReadonlySet<Part>): string[] {
  const out = new Set<string>();
  for (const it of r.items) if (!only || only.has(it.part)) for (const t of it.tests) out.add(t);
  return [...out];
}
