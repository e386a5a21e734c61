/**
 * The one way to run the lab guest from code. `lab run`, `lab boot`, the
 * benchmarks, the chat demo and every `*.vm.test.ts` use these.
 */
export { bootGuest } from "./boot.ts";
export { labProcess, guestStderr, type LabProcessResult } from "./cli-process.ts";
export { ensureGuestBuilt, defaultDevices } from "./launch.ts";
export { guestArgs, parseVmArgs, type Rootfs, type VmArgs } from "./options.ts";
export { runGuest, type GuestIo, type RunResult } from "./run.ts";
export { startGuest, type GuestSession } from "./session.ts";
export { ensureBuilt, vmUnavailable } from "./prereqs.ts";
export {
  type Splat,
  type SplatKind,
  SplatDetector,
  findSplats,
  formatSplat,
  splatKind,
} from "./splat.ts";
export type { SplatReport } from "./run.ts";
