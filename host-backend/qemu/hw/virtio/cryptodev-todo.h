/*
 * virtio-cryptodev: the stubs of the student's starter kit (`lab handout`)
 *
 * Copyright (c) 2026 The virtio-cryptodev lab authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_CRYPTODEV_TODO_H
#define HW_VIRTIO_CRYPTODEV_TODO_H

/*
 * A stub says once on stderr which task is not done, and the request it
 * stands for fails with -ENOSYS (the device answers; QEMU keeps running).
 */
static inline int vcd_todo(const char *task, const char *what)
{
    static bool said;

    if (!said) {
        said = true;
        fprintf(stderr, "virtio-cryptodev: not implemented: %s %s\n",
                task, what);
    }
    return -ENOSYS;
}

#endif
