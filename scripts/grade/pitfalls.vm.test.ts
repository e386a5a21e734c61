import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { vmUnavailable } from "../vm/index.ts";
import { gradeBatch } from "./batch.ts";
import { loadPitfalls, pitfallSubmission } from "./pitfalls.ts";
import type { GradeResult } from "./report.ts";
import { sandboxUnavailable } from "./sandbox.ts";
import { referenceChat, referenceDevice, referenceDriver, stubbedChat } from "./test/fixtures.ts";

/**
 * The rubric discriminates: the reference (driver, device and chat, all
 * scored) gets full marks and each deliberately broken variant
 * (grading/pitfalls/, one pitfall each, a patch applied to a copy of its
 * part at test time) loses exactly the items listed for it and keeps every
 * other one (driver.chat and device.chat included: the reference chat
 * through each variant). A chat alone with the kit's Z2 stub (the
 * cryptodev provider cut out) loses exactly chat.device. All in one
 * `lab grade -j auto` batch.
 */

const pitfalls = await loadPitfalls();
const unavailable = vmUnavailable() ?? sandboxUnavailable();

describe.skipIf(unavailable !== undefined)(
  `pitfall variants${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let tmp: string;
    const byName = new Map<string, GradeResult>();

    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), "grade-pitfalls-"));
      const subs = join(tmp, "subs");
      // the reference device is unchanged: the reference QEMU runs it, no build
      await referenceChat(await referenceDevice(await referenceDriver(join(subs, "reference"))));
      for (const p of pitfalls) await pitfallSubmission(p, join(subs, p.name));
      await stubbedChat(join(subs, "chat-z2-stub"), ["Z2"]);
      const results = await gradeBatch([subs], {
        outDir: join(tmp, "out"),
        jobs: "auto",
        resume: false,
      });
      for (const r of results) byName.set(r.name, r);
      // where the time went (the figures belong to `lab bench grade`)
      for (const r of results)
        console.log(
          `${r.name}: ${r.seconds.toFixed(0)} s (${r.phases.map((p) => `${p.name} ${p.seconds.toFixed(0)}`).join(", ")})`,
        );
    }, 3_600_000);

    afterAll(async () => {
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    const lost = (r: GradeResult) =>
      r.scored.items.filter((s) => s.graded && s.score < s.max).map((s) => s.item.id);
    const detail = (r: GradeResult) =>
      r.scored.items
        .filter((s) => s.graded && s.score < s.max)
        .map(
          (s) =>
            `${s.item.id}: ${s.tests.map((t) => `${t.id} ${t.status} ${t.output}`).join("; ")}`,
        )
        .join("\n");

    it("the reference driver, device and chat get full marks", () => {
      const r = byName.get("reference") as GradeResult;
      expect(r.status).toBe("graded");
      expect(lost(r), detail(r)).toEqual([]);
      expect(r.parts.sort()).toEqual(["chat", "device", "driver"]);
      for (const id of ["chat.classic", "chat.device", "driver.chat", "device.chat"])
        expect(r.scored.items.find((s) => s.item.id === id)?.score, id).toBeGreaterThan(0);
      expect(r.scored.score).toBe(r.scored.max);
    });

    it.each(pitfalls)("$name ($what) loses exactly $loses", (p) => {
      const r = byName.get(p.name) as GradeResult;
      expect(r.status).toBe("graded");
      expect(r.parts).toEqual([p.part]);
      expect(lost(r).sort(), detail(r)).toEqual([...p.loses].sort());
    });

    it("a chat with the kit's Z2 stub loses exactly chat.device, in one boot", () => {
      const r = byName.get("chat-z2-stub") as GradeResult;
      expect(r.status).toBe("graded");
      expect(r.parts).toEqual(["chat"]);
      expect(lost(r), detail(r)).toEqual(["chat.device"]);
      expect(r.scored.byPart.chat?.score).toBeGreaterThan(0);
      const s = r.scored.items.find((i) => i.item.id === "chat.device");
      expect(s?.score).toBe(0);
      expect(s?.tests.map((t) => t.output).join("\n")).toMatch(/not implemented: Z2/);
      expect(r.phases.filter((p) => p.name.startsWith("boot ")).map((p) => p.name)).toEqual([
        "boot lifetime",
      ]);
    });
  },
);
