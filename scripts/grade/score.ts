import type { Part, Rubric, RubricItem } from "./rubric.ts";

/**
 * From test outcomes to rubric scores (pure). A test id has one outcome per
 * submission; an item scores its points when all its tests passed, or
 * points x passed/total with partial credit. Items of parts the submission
 * does not carry are listed but not scored (they ran against the reference).
 * An item that `requires` others scores nothing unless each of them earned
 * points: "nothing crashed" is worth nothing from a driver that does nothing.
 */

export type Status = "passed" | "failed" | "skipped" | "not_run";

export interface TestOutcome {
  id: string;
  status: Status;
  /** Why, in a few lines (diagnostics, the guest's death, the build error). */
  output: string;
}

export interface ItemScore {
  item: RubricItem;
  score: number;
  max: number;
  /** False when the submission lacks the item's part. */
  graded: boolean;
  tests: TestOutcome[];
  /** Required items that earned nothing (the item scores 0 because of them). */
  blockedBy: string[];
}

export interface Scored {
  items: ItemScore[];
  score: number;
  max: number;
  byPart: Partial<Record<Part, { score: number; max: number }>>;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export function scoreRubric(
  rubric: Rubric,
  outcomes: ReadonlyMap<string, TestOutcome>,
  parts: readonly Part[],
): Scored {
  const earned = new Map<string, number>();
  const items: ItemScore[] = rubric.items.map((item) => {
    const tests = item.tests.map(
      (id): TestOutcome => outcomes.get(id) ?? { id, status: "not_run", output: "not run" },
    );
    const graded = parts.includes(item.part);
    const passed = tests.filter((t) => t.status === "passed").length;
    const blockedBy = graded ? item.requires.filter((r) => !(earned.get(r)! > 0)) : [];
    const score =
      !graded || blockedBy.length
        ? 0
        : item.partial
          ? round2((item.points * passed) / tests.length)
          : passed === tests.length
            ? item.points
            : 0;
    earned.set(item.id, score);
    return { item, score, max: graded ? item.points : 0, tests, graded, blockedBy };
  });
  const byPart: Scored["byPart"] = {};
  for (const s of items) {
    if (!s.graded) continue;
    const p = (byPart[s.item.part] ??= { score: 0, max: 0 });
    p.score = round2(p.score + s.score);
    p.max = round2(p.max + s.max);
  }
  return {
    items,
    score: round2(items.reduce((a, s) => a + s.score, 0)),
    max: round2(items.reduce((a, s) => a + s.max, 0)),
    byPart,
  };
}
