// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * Imports run one way:
 *   ts-app (the chat)  <-  scripts (the lab CLI)  <-  tests of every component
 * ts-app builds and tests alone; no shipped code imports a test folder; inside
 * scripts/, lib/ is the bottom layer and only cli.ts loads commands/.
 * (ESLint replaces a rule's options per matching config object, so each
 * group of files below gets every restriction that applies to it.)
 */
const rule = {
  appAlone: {
    regex: "^(\\.\\./)+(scripts|vm|guest-driver|host-backend)/",
    message: "ts-app is the chat alone: it must build and test without the lab's scripts/.",
  },
  noTests: {
    regex: "(^|/)tests?/|\\.test\\.ts$",
    message: "shipped code must not import from test folders: move shared code out of them.",
  },
  libBottom: {
    regex: "^\\.\\./(build|vm|debian|guest|bench|demo|commands|ctest)/",
    message: "scripts/lib is the bottom layer: generic helpers only.",
  },
  noCommands: {
    regex: "(^|/)commands/",
    message: "only scripts/cli.ts loads the verbs; put shared code in a library folder.",
  },
};
const tests = ["**/*.test.ts", "**/test/**", "**/tests/**"];
const boundaries = [
  { files: ["ts-app/**/*.ts"], ignores: tests, patterns: [rule.appAlone, rule.noTests] },
  { files: tests.map((t) => `ts-app/${t}`), patterns: [rule.appAlone] },
  {
    files: ["scripts/lib/**/*.ts"],
    ignores: tests,
    patterns: [rule.noTests, rule.libBottom, rule.noCommands],
  },
  { files: ["scripts/commands/**/*.ts", "scripts/cli.ts"], patterns: [rule.noTests] },
  {
    files: ["scripts/**/*.ts"],
    ignores: [...tests, "scripts/lib/**", "scripts/commands/**", "scripts/cli.ts"],
    patterns: [rule.noTests, rule.noCommands],
  },
];

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "**/dist/",
      "guest-driver/tests/build/",
      "host-backend/test/build/",
      "ts-app/native/build/",
      "host-backend/patches/",
      ".cache/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: "readonly", console: "readonly", Buffer: "readonly", URL: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  ...boundaries.map(({ files, ignores, patterns }) => ({
    files,
    ...(ignores ? { ignores } : {}),
    rules: { "no-restricted-imports": ["error", { patterns }] },
  })),
);
