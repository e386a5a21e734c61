/*
 * virtio-cryptodev-pci: the PCI transport of virtio-cryptodev
 *
 * Modern (virtio 1.x) only: vendor 0x1af4, device 0x1040 + 63 = 0x107f.
 *
 * Copyright (c) 2026 The virtio-cryptodev lab authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/qdev-properties.h"
#include "hw/virtio/virtio.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtio-cryptodev.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "qom/object.h"

typedef struct VirtIOCryptodevPCI VirtIOCryptodevPCI;

#define TYPE_VIRTIO_CRYPTODEV_PCI "virtio-cryptodev-pci"
DECLARE_INSTANCE_CHECKER(VirtIOCryptodevPCI, VIRTIO_CRYPTODEV_PCI,
                         TYPE_VIRTIO_CRYPTODEV_PCI)

struct VirtIOCryptodevPCI {
    VirtIOPCIProxy parent_obj;
    VirtIOCryptodev vdev;
};

/* the device's counters, readable on the proxy (the -device id) too */
static const char *const virtio_cryptodev_pci_stats[] = {
    "requests", "errors", "bytes", "handles-open", "sessions-open",
    "in-flight", "engine-active",
};

/*
 * ioeventfd is on by default, as for every virtio PCI device. With
 * ioeventfd=off the guest's kick runs the queue right in the vCPU thread
 * (under the BQL, as the main loop would), so a request up to inline-max
 * completes without two thread hops (vCPU -> main loop on the eventfd, main
 * loop -> vCPU on the interrupt). Under TCG that doubles AES-128-CBC at
 * 64 KiB, one request at a time (~330 -> ~640 MiB/s), so the lab passes
 * ioeventfd=off when it runs under TCG. Requests above inline-max always go
 * to the thread pool.
 */
static Property virtio_cryptodev_pci_properties[] = {
    DEFINE_PROP_BIT("ioeventfd", VirtIOPCIProxy, flags,
                    VIRTIO_PCI_FLAG_USE_IOEVENTFD_BIT, true),
    DEFINE_PROP_UINT32("vectors", VirtIOPCIProxy, nvectors, 2),
    DEFINE_PROP_END_OF_LIST(),
};

static void virtio_cryptodev_pci_realize(VirtIOPCIProxy *vpci_dev,
                                         Error **errp)
{
    VirtIOCryptodevPCI *dev = VIRTIO_CRYPTODEV_PCI(vpci_dev);
    DeviceState *vdev = DEVICE(&dev->vdev);

    virtio_pci_force_virtio_1(vpci_dev);
    qdev_realize(vdev, BUS(&vpci_dev->bus), errp);
}

static void virtio_cryptodev_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    PCIDeviceClass *pcidev_k = PCI_DEVICE_CLASS(klass);

    k->realize = virtio_cryptodev_pci_realize;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    device_class_set_props(dc, virtio_cryptodev_pci_properties);
    pcidev_k->class_id = PCI_CLASS_OTHERS;
}

static void virtio_cryptodev_pci_instance_init(Object *obj)
{
    VirtIOCryptodevPCI *dev = VIRTIO_CRYPTODEV_PCI(obj);
    size_t i;

    virtio_instance_init_common(obj, &dev->vdev, sizeof(dev->vdev),
                                TYPE_VIRTIO_CRYPTODEV);
    for (i = 0; i < ARRAY_SIZE(virtio_cryptodev_pci_stats); i++) {
        object_property_add_alias(obj, virtio_cryptodev_pci_stats[i],
                                  OBJECT(&dev->vdev),
                                  virtio_cryptodev_pci_stats[i]);
    }
}

static const VirtioPCIDeviceTypeInfo virtio_cryptodev_pci_info = {
    .generic_name  = TYPE_VIRTIO_CRYPTODEV_PCI,
    .instance_size = sizeof(VirtIOCryptodevPCI),
    .instance_init = virtio_cryptodev_pci_instance_init,
    .class_init    = virtio_cryptodev_pci_class_init,
};

static void virtio_cryptodev_pci_register_types(void)
{
    virtio_pci_types_register(&virtio_cryptodev_pci_info);
}

type_init(virtio_cryptodev_pci_register_types)
