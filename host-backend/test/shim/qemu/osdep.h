/*
 * Stand-in for QEMU's qemu/osdep.h so the device's pure parts build
 * without a QEMU tree (host unit tests, fuzz harness). Only what those
 * files use.
 */
#ifndef VCD_SHIM_OSDEP_H
#define VCD_SHIM_OSDEP_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#define qemu_open_old(path, flags) open((path), (flags))

/* as QEMU's qemu/compiler.h */
#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

/* QEMU's config-host.h says so on Linux hosts */
#ifdef __linux__
#define CONFIG_LINUX 1
#endif

#endif
