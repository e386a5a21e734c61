import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { defaultDevicePaths, parseProviderName, selectProvider } from "../src/crypto/select.ts";
import { ChatUsageError, CryptoProviderError } from "../src/errors.ts";

const hostHasDevice = defaultDevicePaths.some((p) => existsSync(p));

describe("provider selection", () => {
  it("parses --crypto, defaulting to auto", () => {
    expect(parseProviderName(undefined)).toBe("auto");
    expect(parseProviderName("node")).toBe("node");
    expect(parseProviderName("cryptodev")).toBe("cryptodev");
    expect(() => parseProviderName("openssl")).toThrow(ChatUsageError);
  });

  it("node is node; auto falls back to node when the device given does not exist", async () => {
    const a = await selectProvider("node");
    expect(a.provider.name).toBe("node");
    const b = await selectProvider("auto", "/nonexistent/cryptodev9");
    expect(b.provider.name).toBe("node");
    expect(b.device).toBeUndefined();
  });

  it.skipIf(hostHasDevice)(
    "cryptodev without any device is a provider error (skipped: this host has a device)",
    async () => {
      await expect(selectProvider("cryptodev")).rejects.toBeInstanceOf(CryptoProviderError);
    },
  );
});
