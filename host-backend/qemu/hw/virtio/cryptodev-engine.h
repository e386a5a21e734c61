/*
 * virtio-cryptodev: the engines (host /dev/crypto, QEMU's crypto layer)
 *
 * Copyright (c) 2026 The virtio-cryptodev lab authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_CRYPTODEV_ENGINE_H
#define HW_VIRTIO_CRYPTODEV_ENGINE_H

#include "cryptodev-core.h"

#define VCD_HOST_DEVICE_DEFAULT "/dev/crypto"

/*
 * The seam between the host engine and the host's /dev/crypto: the device
 * uses vcd_host_os_ops (open(2)/ioctl(2)/close(2)); the unit tests pass a
 * fake that implements the cryptodev-linux ABI in process.
 */
typedef struct VcdHostOps {
    /* a file descriptor, or a negative errno */
    int (*open)(void *opaque, const char *path);
    /* 0 or a negative errno; must be callable from several threads */
    int (*ioctl)(void *opaque, int fd, unsigned long request, void *arg);
    void (*close)(void *opaque, int fd);
    void *opaque;
} VcdHostOps;

extern const VcdHostOps vcd_host_os_ops;

/*
 * The host engine on @path (VCD_HOST_DEVICE_DEFAULT) through @ops: 0, or a
 * negative errno when the device cannot be opened (or on a non-Linux host).
 */
int vcd_engine_host_new(const VcdHostOps *ops, const char *path,
                        VcdEngine *engine);

/* The builtin engine (QEMU's crypto/cipher.h, hash.h, hmac.h). */
int vcd_engine_builtin_new(VcdEngine *engine);

#endif
