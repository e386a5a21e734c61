/*
 * An in-process fake of the host's /dev/crypto (cryptodev-linux ABI),
 * computing with nettle, behind the host engine's VcdHostOps seam.
 */
#ifndef FAKE_DEVCRYPTO_H
#define FAKE_DEVCRYPTO_H

#include "qemu/osdep.h"
#include "cryptodev-engine.h"

typedef struct FakeDevCrypto {
    const char *path;       /* the only path open() accepts */
    int opens;              /* open fds */
    int sessions;           /* live host sessions */
    unsigned long ioctls;   /* ioctl calls */
    unsigned long finals;   /* digests written */
    int fail_crypt;         /* != 0: CIOCCRYPT returns this */
    int fail_session;       /* != 0: CIOCGSESSION returns this */
    /* the last CIOCCRYPT as received */
    uint16_t last_op;
    uint32_t last_len;
    bool last_had_iv;
} FakeDevCrypto;

/* ops->opaque = fake */
void fake_devcrypto_ops(FakeDevCrypto *fake, VcdHostOps *ops);

#endif
