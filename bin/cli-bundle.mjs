// The lab CLI's TypeScript, compiled once into ES modules (esbuild, code
// split per verb) and reused while no source changed: starting through
// tsx's loader hooks costs ~0.3 s per `lab` process (its hooks run on a
// worker thread, every import a round trip), a cost every `lab run` paid.
// A student's edit to scripts/ still needs no build step: the next `lab`
// sees a changed mtime and recompiles (~0.5 s). Any trouble here (esbuild
// missing, a compile error) returns null and bin/lab.mjs uses tsx instead;
// LAB_TSX=1 forces tsx.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cacheDir = join(root, "node_modules", ".cache", "lab-cli");
const manifestPath = join(cacheDir, "manifest.json");

/** The manifest of the last build: its folder and every input's mtime. */
function readManifest() {
  try {
    return JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch {
    return null;
  }
}

function fresh(m) {
  if (!m || m.node !== process.version || !existsSync(join(cacheDir, m.dir, "cli.js")))
    return false;
  for (const [file, mtime] of Object.entries(m.inputs)) {
    try {
      if (statSync(join(root, file)).mtimeMs !== mtime) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * `import.meta.url` (and `.dirname`) keep meaning the source file's own
 * place, as under tsx: paths are computed from them (the repository root,
 * the native binding).
 */
const keepMetaUrl = {
  name: "keep-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const src = readFileSync(args.path, "utf8");
      if (!src.includes("import.meta.")) return undefined;
      return {
        loader: "ts",
        contents: src
          .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll("import.meta.dirname", JSON.stringify(dirname(args.path))),
      };
    });
  },
};

async function build() {
  const esbuild = await import("esbuild");
  const dir = `b-${Date.now()}-${process.pid}`;
  const out = join(cacheDir, dir);
  const r = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [join(root, "scripts", "cli.ts")],
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    keepNames: true,
    outdir: out,
    metafile: true,
    sourcemap: "inline",
    logLevel: "silent",
    plugins: [keepMetaUrl],
  });
  const inputs = {};
  for (const file of Object.keys(r.metafile.inputs)) {
    const abs = join(root, file);
    inputs[relative(root, abs)] = statSync(abs).mtimeMs;
  }
  // Published by an atomic rename: concurrent `lab` processes see the old
  // build or the new one, never half of one.
  const tmp = `${manifestPath}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ node: process.version, dir, inputs }));
  renameSync(tmp, manifestPath);
  // Older builds: removed once an hour old (a process may still be loading one).
  for (const d of readdirSync(cacheDir))
    if (d.startsWith("b-") && d !== dir) {
      const age = Date.now() - Number(d.split("-")[1]);
      if (age > 3600_000) rmSync(join(cacheDir, d), { recursive: true, force: true });
    }
  return dir;
}

/** The compiled CLI's `main`, or null when it cannot be had (then: tsx). */
export async function loadCompiledCli() {
  if (process.env.LAB_TSX === "1") return null;
  try {
    let m = readManifest();
    let dir = fresh(m) ? m.dir : null;
    if (!dir) {
      mkdirSync(cacheDir, { recursive: true });
      dir = await build();
    }
    return (await import(pathToFileURL(join(cacheDir, dir, "cli.js")).href)).main;
  } catch (e) {
    if (process.env.LAB_VERBOSE === "1")
      console.error(`lab: compiled CLI unavailable (${e.message}); using tsx`);
    return null;
  }
}
