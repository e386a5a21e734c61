/*
 * Stand-in for QEMU's qemu/bswap.h: the unaligned little-endian loads and
 * stores the device's pure parts use, with QEMU's names and return types.
 */
#ifndef VCD_SHIM_BSWAP_H
#define VCD_SHIM_BSWAP_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

static inline int lduw_le_p(const void *ptr)
{
    uint16_t v;

    memcpy(&v, ptr, sizeof(v));
    return le16toh(v);
}

static inline int ldl_le_p(const void *ptr)
{
    uint32_t v;

    memcpy(&v, ptr, sizeof(v));
    return (int)le32toh(v);
}

static inline uint64_t ldq_le_p(const void *ptr)
{
    uint64_t v;

    memcpy(&v, ptr, sizeof(v));
    return le64toh(v);
}

static inline void stw_le_p(void *ptr, uint16_t v)
{
    v = htole16(v);
    memcpy(ptr, &v, sizeof(v));
}

static inline void stl_le_p(void *ptr, uint32_t v)
{
    v = htole32(v);
    memcpy(ptr, &v, sizeof(v));
}

static inline void stq_le_p(void *ptr, uint64_t v)
{
    v = htole64(v);
    memcpy(ptr, &v, sizeof(v));
}

#endif
