import { existsSync } from "node:fs";
import { ChatUsageError, CryptoProviderError } from "../errors.ts";
import { createNodeProvider } from "./node.ts";
import type { CryptoProvider, ProviderName } from "./provider.ts";

/** Device paths tried, in order, when none is given. */
export const defaultDevicePaths = ["/dev/cryptodev0", "/dev/crypto"];

export function parseProviderName(s: string | undefined): ProviderName {
  const v = s ?? "auto";
  if (v === "node" || v === "cryptodev" || v === "auto") return v;
  throw new ChatUsageError(`--crypto must be cryptodev, node or auto (got '${v}')`);
}

/** The device a `cryptodev` provider would open: the given one, else the first that exists. */
export function resolveDevicePath(device: string | undefined): string | undefined {
  if (device) return device;
  return defaultDevicePaths.find((p) => existsSync(p));
}

/**
 * Opens the provider asked for. `auto` means cryptodev when a device exists
 * (the given --device, else /dev/cryptodev0 or /dev/crypto), node otherwise.
 * The cryptodev module (native binding) is imported only when needed, so the
 * node provider works where the binding is not built.
 */
export async function selectProvider(
  name: ProviderName,
  device?: string,
): Promise<{ provider: CryptoProvider; device?: string }> {
  if (name === "node") return { provider: createNodeProvider() };
  const path = resolveDevicePath(device);
  if (name === "auto" && (!path || !existsSync(path))) return { provider: createNodeProvider() };
  if (!path)
    throw new CryptoProviderError("--crypto cryptodev: no /dev/cryptodev0 or /dev/crypto here");
  const { openCryptodevProvider } = await import("./cryptodev.ts");
  return { provider: await openCryptodevProvider(path), device: path };
}
