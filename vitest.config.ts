import { defineConfig } from "vitest/config";

/**
 * Two projects: `unit` (pure logic and host-side tests, parallel) and `vm`
 * (end to end through the real guest: one file at a time, since each boots
 * QEMU and the machines have two cores).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["{bin,scripts,ts-app,vm,host-backend,guest-driver}/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/*.vm.test.ts"],
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: "vm",
          include: ["{bin,scripts,ts-app,vm,host-backend,guest-driver}/**/*.vm.test.ts"],
          exclude: ["**/node_modules/**"],
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
