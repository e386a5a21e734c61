/** Entry point of the bundled chat (ts-app/dist/chat.mjs): `node chat.mjs server|client ...`. */
import { main } from "./cli.ts";

process.exitCode = await main(process.argv.slice(2));
