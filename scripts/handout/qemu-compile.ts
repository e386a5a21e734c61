/**
 * Compiles one device file of another tree (a starter kit) with exactly the
 * flags the cached QEMU build uses for it (its compile_commands.json), as a
 * syntax-and-warnings check (`-fsyntax-only -Werror`): the kit's device
 * builds in stub form without relinking the shared QEMU binary.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { cachePath } from "../lib/paths.ts";

export interface CompileCommand {
  directory: string;
  command: string;
  file: string;
}

/** The cached build's compile commands, or undefined before `lab build qemu`. */
export function qemuCompileCommands(): CompileCommand[] | undefined {
  const f = cachePath("qemu", "build", "compile_commands.json");
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, "utf8")) as CompileCommand[];
}

/** `rel`: a file under host-backend/qemu/ of the tree at `root`. */
export async function compileDeviceFile(
  cmds: CompileCommand[],
  root: string,
  rel: string,
): Promise<{ exitCode: number; output: string }> {
  const tree = rel.replace(/^host-backend\/qemu\//, "");
  const entry = cmds.find((c) => c.file.endsWith(`/${tree}`) || c.file === tree);
  if (!entry) return { exitCode: 1, output: `${tree} is not in QEMU's compile_commands.json` };
  const words = entry.command.match(/'[^']*'|"[^"]*"|\S+/g) ?? [];
  const args: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === "-MQ" || w === "-MF" || w === "-o") {
      i++;
      continue;
    }
    if (w === "-MD" || w === "-c" || w === entry.file) continue;
    args.push(w.replace(/^'(.*)'$/, "$1"));
  }
  const r = await execa(
    words[0]!,
    [
      "-iquote",
      join(root, "host-backend", "qemu", "include"),
      ...args,
      "-fsyntax-only",
      "-Werror",
      join(root, rel),
    ],
    { cwd: entry.directory, reject: false, all: true },
  );
  return { exitCode: r.exitCode ?? 1, output: r.all ?? "" };
}
