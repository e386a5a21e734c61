import { spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../scripts/lib/paths.ts";

export interface LabResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

/** Runs `node bin/lab.mjs ARGS` (CI=true: plain progress lines), collecting its output. */
export function lab(args: string[], input?: string | Buffer): Promise<LabResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, "bin", "lab.mjs"), ...args], {
      cwd: repoRoot,
      env: { ...process.env, CI: "true" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code, stdout: Buffer.concat(out), stderr: err, ms: performance.now() - t0 }),
    );
    child.stdin.end(input ?? "");
  });
}

/** The guest's own stderr: lab's progress/notice lines ("lab: ...") removed. */
export function guestStderr(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => !l.startsWith("lab: "))
    .join("\n");
}
