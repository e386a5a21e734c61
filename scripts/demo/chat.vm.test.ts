import { beforeAll, describe, expect, it } from "vitest";
import { lines } from "../../ts-app/e2e/scenario.ts";
import { ensureBuilt, vmUnavailable } from "../vm/index.ts";
import { type ScenarioResult, runChatScenario, scenarioProblems } from "./scenario-run.ts";

/**
 * The chat end to end, in both wire modes: a guest with two devices runs the
 * server on /dev/cryptodev0 and two clients, alice on /dev/cryptodev0 and
 * bob on /dev/cryptodev1; hana connects from the host (node provider)
 * through a 127.0.0.1 forward. Every client must read back the same
 * conversation, secure mode must push live messages, and the guest's
 * device counters must show the device did the work on both devices.
 */

const why = vmUnavailable();

const requests = (c: Record<string, Record<string, string>>, dev: string) =>
  Number(c[dev]?.requests ?? NaN);
const errors = (c: Record<string, Record<string, string>>, dev: string) =>
  Number(c[dev]?.errors ?? NaN);

describe.skipIf(why !== undefined)(
  `chat end to end through the device${why ? ` (skipped: ${why})` : ""}`,
  () => {
    beforeAll(() => ensureBuilt("driver", "app"));

    for (const mode of ["secure", "classic"] as const) {
      describe(`${mode} mode`, () => {
        let r: ScenarioResult;
        const detail = () =>
          `${JSON.stringify({ ...r, guestStderr: undefined }, null, 1)}\n${r.guestStderr}`;

        beforeAll(async () => {
          r = await runChatScenario({ mode, devices: 2, timeoutS: 540 });
        });

        it("completes: both halves done, the guest's server closed cleanly on SIGTERM", () => {
          expect(scenarioProblems(r), detail()).toEqual([]);
          expect(r.guest?.serverExit).toBe(0);
        });

        it("every client reads back the same conversation, in order", () => {
          const views = [...(r.guest?.views ?? []), ...(r.host ? [r.host] : [])];
          expect(
            views.map((v) => v.user),
            detail(),
          ).toEqual(["alice", "bob", "hana"]);
          const want = lines.map((l, id) => ({ id, user: l.user, text: l.text }));
          for (const v of views) expect(v.messages, v.user).toEqual(want);
          expect(views.map((v) => v.crypto)).toEqual([
            "cryptodev /dev/cryptodev0",
            "cryptodev /dev/cryptodev1",
            "node:crypto (host)",
          ]);
        });

        it(
          mode === "secure"
            ? "pushes messages live to subscribers"
            : "has no live pushes (classic)",
          () => {
            const pushed = Object.fromEntries(
              [...(r.guest?.views ?? []), ...(r.host ? [r.host] : [])].map((v) => [
                v.user,
                v.pushed,
              ]),
            );
            if (mode === "secure") {
              // Who was subscribed when each message was sent (scenario.ts).
              expect(pushed.alice, detail()).toEqual(expect.arrayContaining([1, 2]));
              expect(pushed.bob).toEqual(expect.arrayContaining([0, 2, 3]));
              expect(pushed.hana).toEqual(expect.arrayContaining([3]));
            } else {
              expect(pushed).toEqual({ alice: [], bob: [], hana: [] });
            }
          },
        );

        it("the guest's device counters moved on both devices, with no errors", () => {
          const c = r.guest?.counters;
          expect(c, detail()).toBeDefined();
          if (!c) return;
          for (const dev of ["cryptodev0", "cryptodev1"]) {
            expect(
              requests(c.after, dev) - requests(c.before, dev),
              `${dev}\n${detail()}`,
            ).toBeGreaterThan(0);
            expect(errors(c.after, dev) - errors(c.before, dev), dev).toBe(0);
          }
        });
      });
    }
  },
);
