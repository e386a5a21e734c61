/*
 * virtio-cryptodev: the host engine, on the host's /dev/crypto
 *
 * Every session of the guest becomes one session (two for cipher + MAC) on
 * one file descriptor of the host's cryptodev-linux device. Only numbers the
 * device chose cross to the guest; the host fd and session ids stay here.
 *
 * Copyright (c) 2026 The virtio-cryptodev lab authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "cryptodev-engine.h"

#ifdef CONFIG_LINUX
#include <sys/ioctl.h>
#include <linux/cryptodev.h>

typedef struct VcdHostEngine {
    VcdHostOps ops;
    int fd;
} VcdHostEngine;

typedef struct VcdHostSession {
    bool has_cipher;
    bool has_mac;
    bool mid_message;   /* the host's hash holds data of an open message */
    uint32_t cipher_ses;
    uint32_t mac_ses;
} VcdHostSession;

static int vcd_os_open(void *opaque, const char *path)
{
    int fd = qemu_open_old(path, O_RDWR | O_CLOEXEC);

    return fd < 0 ? -errno : fd;
}

static int vcd_os_ioctl(void *opaque, int fd, unsigned long request,
                        void *arg)
{
    return ioctl(fd, request, arg) < 0 ? -errno : 0;
}

static void vcd_os_close(void *opaque, int fd)
{
    close(fd);
}

const VcdHostOps vcd_host_os_ops = {
    .open = vcd_os_open,
    .ioctl = vcd_os_ioctl,
    .close = vcd_os_close,
};

static int vcd_host_ioctl(VcdHostEngine *e, unsigned long request, void *arg)
{
    int ret = e->ops.ioctl(e->ops.opaque, e->fd, request, arg);

    /* never hand a bare -1 (or a positive value) to the guest */
    return ret < 0 && ret >= -4095 ? ret : (ret ? -EIO : 0);
}

static int vcd_host_new_ses(VcdHostEngine *e, uint32_t cipher,
                            const uint8_t *key, uint32_t keylen,
                            uint32_t mac, const uint8_t *mackey,
                            uint32_t mackeylen, uint32_t *ses)
{
    struct session_op sop;
    int ret;

    memset(&sop, 0, sizeof(sop));
    sop.cipher = cipher;
    sop.keylen = keylen;
    sop.key = (__u8 *)key;
    sop.mac = mac;
    sop.mackeylen = mackeylen;
    sop.mackey = (__u8 *)mackey;
    ret = vcd_host_ioctl(e, CIOCGSESSION, &sop);
    if (ret == 0) {
        *ses = sop.ses;
    }
    return ret;
}

static void vcd_host_free_ses(VcdHostEngine *e, uint32_t ses)
{
    __u32 id = ses;

    vcd_host_ioctl(e, CIOCFSESSION, &id);
}

static int vcd_host_session_new(void *opaque, const VcdAlg *cipher,
                                const uint8_t *key, uint32_t keylen,
                                const VcdAlg *mac, const uint8_t *mackey,
                                uint32_t mackeylen, void **ctx)
{
    VcdHostEngine *e = opaque;
    VcdHostSession *s = g_new0(VcdHostSession, 1);
    int ret;

    if (cipher) {
        ret = vcd_host_new_ses(e, cipher->id, key, keylen, 0, NULL, 0,
                               &s->cipher_ses);
        if (ret < 0) {
            goto fail;
        }
        s->has_cipher = true;
    }
    if (mac) {
        ret = vcd_host_new_ses(e, 0, NULL, 0, mac->id, mackey, mackeylen,
                               &s->mac_ses);
        if (ret < 0) {
            goto fail;
        }
        s->has_mac = true;
    }
    *ctx = s;
    return 0;

fail:
    if (s->has_cipher) {
        vcd_host_free_ses(e, s->cipher_ses);
    }
    g_free(s);
    return ret;
}

static void vcd_host_session_free(void *opaque, void *ctx)
{
    VcdHostEngine *e = opaque;
    VcdHostSession *s = ctx;

    if (s->has_cipher) {
        vcd_host_free_ses(e, s->cipher_ses);
    }
    if (s->has_mac) {
        vcd_host_free_ses(e, s->mac_ses);
    }
    g_free(s);
}

static int vcd_host_cipher(void *opaque, void *ctx, int encrypt,
                           const uint8_t *iv, const uint8_t *src,
                           uint8_t *dst, size_t len)
{
    VcdHostEngine *e = opaque;
    VcdHostSession *s = ctx;
    struct crypt_op cop;

    if (!s->has_cipher || len > UINT32_MAX) {
        return -EINVAL;
    }
    memset(&cop, 0, sizeof(cop));
    cop.ses = s->cipher_ses;
    cop.op = encrypt ? COP_ENCRYPT : COP_DECRYPT;
    cop.len = len;
    cop.src = (__u8 *)src;
    cop.dst = dst;
    cop.iv = (__u8 *)iv;
    return vcd_host_ioctl(e, CIOCCRYPT, &cop);
}

/*
 * cryptodev-linux resets the hash when the flags are 0 or COP_FLAG_RESET,
 * finishes it on COP_FLAG_FINAL or without COP_FLAG_UPDATE, and does not
 * start a new message by itself after a final: the engine asks for a reset
 * whenever a message begins.
 */
static int vcd_host_hash(void *opaque, void *ctx, unsigned flags,
                         const uint8_t *data, size_t len, uint8_t *out)
{
    VcdHostEngine *e = opaque;
    VcdHostSession *s = ctx;
    bool reset = (flags & VCD_HASH_RESET) || !s->mid_message;
    struct crypt_op cop;
    int ret;

    if (!s->has_mac || len > UINT32_MAX) {
        return -EINVAL;
    }
    memset(&cop, 0, sizeof(cop));
    cop.ses = s->mac_ses;
    cop.op = COP_ENCRYPT;
    cop.len = len;
    cop.src = (__u8 *)data;
    if (flags & VCD_HASH_FINAL) {
        cop.flags = reset ? 0 : COP_FLAG_FINAL;
        cop.mac = out;
    } else {
        cop.flags = COP_FLAG_UPDATE | (reset ? COP_FLAG_RESET : 0);
    }
    ret = vcd_host_ioctl(e, CIOCCRYPT, &cop);
    /* a failed request leaves the message in an unknown state: restart */
    s->mid_message = ret == 0 && !(flags & VCD_HASH_FINAL);
    return ret;
}

/* AES-GCM through the host's CIOCAUTHCRYPT (same layout as ours) */
static int vcd_host_aead(void *opaque, void *ctx, int encrypt,
                         const uint8_t *iv, const uint8_t *aad, size_t aad_len,
                         const uint8_t *src, size_t len, uint8_t *dst,
                         size_t tag_len)
{
    VcdHostEngine *e = opaque;
    VcdHostSession *s = ctx;
    struct crypt_auth_op caop;

    if (!s->has_cipher || len > UINT32_MAX - tag_len || aad_len > UINT32_MAX) {
        return -EINVAL;
    }
    memset(&caop, 0, sizeof(caop));
    caop.ses = s->cipher_ses;
    caop.op = encrypt ? COP_ENCRYPT : COP_DECRYPT;
    caop.len = encrypt ? len : len + tag_len;
    caop.auth_len = aad_len;
    caop.auth_src = (__u8 *)aad;
    caop.src = (__u8 *)src;
    caop.dst = dst;
    caop.tag_len = tag_len;
    caop.iv = (__u8 *)iv;
    caop.iv_len = VCD_GCM_IV;
    return vcd_host_ioctl(e, CIOCAUTHCRYPT, &caop);
}

static void vcd_host_destroy(void *opaque)
{
    VcdHostEngine *e = opaque;

    e->ops.close(e->ops.opaque, e->fd);
    g_free(e);
}

static const VcdEngineOps vcd_host_engine_ops = {
    .driver_name = "virtio-cryptodev-host",
    .engine_id = VIRTIO_CRYPTODEV_ENGINE_HOST,
    .session_new = vcd_host_session_new,
    .session_free = vcd_host_session_free,
    .cipher = vcd_host_cipher,
    .hash = vcd_host_hash,
    .aead = vcd_host_aead,
    .destroy = vcd_host_destroy,
};

int vcd_engine_host_new(const VcdHostOps *ops, const char *path,
                        VcdEngine *engine)
{
    VcdHostEngine *e;
    int fd = ops->open(ops->opaque, path);

    if (fd < 0) {
        return fd;
    }
    e = g_new0(VcdHostEngine, 1);
    e->ops = *ops;
    e->fd = fd;
    engine->ops = &vcd_host_engine_ops;
    engine->opaque = e;
    return 0;
}

#else /* !CONFIG_LINUX */

const VcdHostOps vcd_host_os_ops;

int vcd_engine_host_new(const VcdHostOps *ops, const char *path,
                        VcdEngine *engine)
{
    return -ENODEV;
}

#endif
