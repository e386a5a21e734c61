import { join } from "node:path";
import { guestPathOf, repoRoot } from "../lib/paths.ts";

/** The chat as the demo, the end-to-end tests and the benchmark run it. */

/** The bundles `lab build app` writes (ts-app/dist). */
export const chatBundle = join(repoRoot, "ts-app", "dist", "chat.mjs");
export const scenarioBundle = join(repoRoot, "ts-app", "dist", "chat-scenario.mjs");
export const selftestBundle = join(repoRoot, "ts-app", "dist", "cryptodev-selftest.mjs");

/** The guest's view of a repository path (the repo is shared at /lab). */
export const inGuest = guestPathOf;

/** Fixed demo secrets (classic mode's shared key): the demo and the tests need no user input. */
export const demoKey = "000102030405060708090a0b0c0d0e0f";
export const demoIv = "f0e1d2c3b4a5968778695a4b3c2d1e0f";

/** The port the chat listens on inside the guest. */
export const guestPort = 7777;
/** The guest port on which the host says "hana is done" (see ts-app/e2e/guest-main.ts). */
export const guestDonePort = 7778;
