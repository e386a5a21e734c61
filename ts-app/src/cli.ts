/**
 * The chat's command line: `chat server ...` and `chat client ...`. Reached
 * as `npx lab chat ...` on the host (scripts/commands/chat.ts calls main())
 * and as `node ts-app/dist/chat.mjs ...` (the esbuild bundle of main.ts) in
 * the guest. Keeps to ts-app: no imports from scripts/. The options live in
 * cli/options.ts, each role in cli/<role>.ts.
 */
import { parseArgs } from "node:util";
import { escapeControls } from "./display.ts";
import { ChatError, ChatUsageError, CryptoProviderError, UnsafePathError } from "./errors.ts";
import { client } from "./cli/client.ts";
import { options, usage } from "./cli/options.ts";
import { server } from "./cli/server.ts";

export { defaultDbPath, defaultKnownHostsPath, defaultPort, usage } from "./cli/options.ts";

/** Runs `server ...` or `client ...`; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const err = (s: string) => process.stderr.write(`chat: error: ${s}\n`);
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options,
      allowPositionals: true,
      strict: true,
    });
    const [role, ...extra] = positionals;
    if (values.help || !role) {
      process.stdout.write(usage + "\n");
      return values.help ? 0 : 2;
    }
    if (extra.length) throw new ChatUsageError(`unexpected argument '${extra[0]}'`);
    if (role === "server") return await server(values);
    if (role === "client") return await client(values);
    throw new ChatUsageError(`unknown role '${role}': server or client`);
  } catch (e) {
    if (
      e instanceof ChatUsageError ||
      e instanceof UnsafePathError ||
      (e as NodeJS.ErrnoException).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
    ) {
      err((e as Error).message);
      return 2;
    }
    if (e instanceof CryptoProviderError) {
      err(`crypto provider: ${e.message}`);
      return 4;
    }
    if (e instanceof ChatError) {
      err(`${e.code}: ${escapeControls(e.message)}`);
      return 3;
    }
    const ne = e as NodeJS.ErrnoException;
    if (ne.code && ne.syscall) {
      err(`${ne.syscall}: ${ne.message}`);
      return 3;
    }
    throw e;
  }
}
