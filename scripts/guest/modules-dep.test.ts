import { describe, expect, it } from "vitest";
import { loadLevels, moduleName, parseModulesDep, resolveModules } from "./modules-dep.ts";

const sample = `kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/net/9p/9pnet.ko:
kernel/fs/netfs/netfs.ko.xz:
kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko.xz
kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/net-failover.ko:
`;

describe("modules.dep", () => {
  const dep = parseModulesDep(sample);

  it("parses each module with its dependencies", () => {
    expect(dep.size).toBe(9);
    expect(dep.get("kernel/fs/9p/9p.ko")).toEqual([
      "kernel/net/9p/9pnet.ko",
      "kernel/fs/netfs/netfs.ko.xz",
    ]);
    expect(dep.get("kernel/drivers/virtio/virtio.ko")).toEqual([]);
  });

  it("names modules the way modprobe does", () => {
    expect(moduleName("kernel/fs/netfs/netfs.ko.xz")).toBe("netfs");
    expect(moduleName("kernel/drivers/net/net-failover.ko")).toBe("net_failover");
  });

  it("orders every dependency before its user, each once", () => {
    const order = resolveModules(dep, ["9p", "virtio_pci", "9pnet_virtio"]);
    expect(new Set(order).size).toBe(order.length);
    for (const [i, m] of order.entries())
      for (const d of dep.get(m) ?? []) expect(order.indexOf(d)).toBeLessThan(i);
    expect(order).toContain("kernel/fs/netfs/netfs.ko.xz");
    expect(order.at(-1)).toBe("kernel/net/9p/9pnet_virtio.ko");
  });

  it("accepts dashes for underscores", () => {
    expect(resolveModules(dep, ["net-failover"])).toEqual(["kernel/drivers/net/net-failover.ko"]);
  });

  it("rejects unknown modules and cycles", () => {
    expect(() => resolveModules(dep, ["nope"])).toThrow(/not in modules.dep/);
    const cyc = parseModulesDep("a.ko: b.ko\nb.ko: a.ko\n");
    expect(() => resolveModules(cyc, ["a"])).toThrow(/cycle/);
    expect(() => parseModulesDep("garbage line\n")).toThrow(/line 1/);
  });

  it("groups a load order into parallel levels", () => {
    const order = resolveModules(dep, ["virtio_pci", "9p"]);
    const levels = loadLevels(dep, order);
    expect(levels[0]).toEqual(
      expect.arrayContaining(["kernel/drivers/virtio/virtio.ko", "kernel/net/9p/9pnet.ko"]),
    );
    expect(levels[1]).toEqual(["kernel/drivers/virtio/virtio_pci.ko", "kernel/fs/9p/9p.ko"]);
    expect(levels.flat().sort()).toEqual([...order].sort());
  });
});
