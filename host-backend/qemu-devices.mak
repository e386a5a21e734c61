# The devices the lab's QEMU is built with (configure --without-default-devices
# --with-devices-x86_64=lab): the machines and the devices the guest's command
# line uses (scripts/lib/qemu.ts), nothing else. Each board pulls in what it
# selects itself (chipset, ACPI, ISA serial, PCIe root ports...).
# `lab build qemu` copies this file to configs/devices/x86_64-softmmu/lab.mak
# in the work tree; a change reconfigures QEMU.

# Boards: q35 (the default), pc (--machine pc), microvm
CONFIG_Q35=y
CONFIG_I440FX=y
CONFIG_MICROVM=y

# virtio transports and the guest's devices: the serial ports of `lab run`,
# the node image (virtio-blk), the 9p shares, user networking, hot-pluggable
# PCIe root ports, and the lab's own device
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_MMIO=y
CONFIG_VIRTIO_SERIAL=y
CONFIG_VIRTIO_BLK=y
CONFIG_VIRTIO_NET=y
CONFIG_VIRTIO_9P=y
CONFIG_PCIE_PORT=y
CONFIG_VIRTIO_CRYPTODEV=y
