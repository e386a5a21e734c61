/*
 * virtio-cryptodev: the builtin engine, on QEMU's own crypto layer
 *
 * Ciphers through QEMU's crypto/cipher.h; hashes and HMACs through
 * libgcrypt's message digests (QEMU's backend here: configure
 * --enable-gcrypt), because QEMU 7.2's crypto/hash.h and hmac.h hash one
 * buffer at a time and a session keeps a running message across requests
 * (multi-part hashing). The core runs one job of a session at a time; the
 * mutex keeps a session's cipher and digest consistent anyway.
 *
 * Copyright (c) 2026 The virtio-cryptodev lab authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include "crypto/cipher.h"
#include "cryptodev-engine.h"

#ifdef CONFIG_GCRYPT
#include <gcrypt.h>

typedef struct VcdBuiltinSession {
    QemuMutex lock;         /* the cipher's IV, the running message */
    QCryptoCipher *cipher;
    bool cipher_has_iv;
    gcry_cipher_hd_t gcm;   /* AES-GCM (QEMU 7.2's layer has no GCM) */
    gcry_md_hd_t md;        /* hash or HMAC, NULL when none */
    int md_algo;
    size_t digest_len;
} VcdBuiltinSession;

static int vcd_builtin_md_algo(const VcdAlg *a)
{
    switch (a->mode) {
    case VCD_MODE_MD5:
        return GCRY_MD_MD5;
    case VCD_MODE_SHA1:
        return GCRY_MD_SHA1;
    case VCD_MODE_SHA224:
        return GCRY_MD_SHA224;
    case VCD_MODE_SHA256:
        return GCRY_MD_SHA256;
    case VCD_MODE_SHA384:
        return GCRY_MD_SHA384;
    case VCD_MODE_SHA512:
        return GCRY_MD_SHA512;
    default:
        return 0;
    }
}

static int vcd_builtin_cipher_alg(uint32_t keylen, QCryptoCipherAlgorithm *alg)
{
    switch (keylen) {
    case 16:
        *alg = QCRYPTO_CIPHER_ALG_AES_128;
        return 0;
    case 24:
        *alg = QCRYPTO_CIPHER_ALG_AES_192;
        return 0;
    case 32:
        *alg = QCRYPTO_CIPHER_ALG_AES_256;
        return 0;
    }
    return -EINVAL;
}

static int vcd_builtin_mode(const VcdAlg *a, QCryptoCipherMode *mode)
{
    switch (a->mode) {
    case VCD_MODE_AES_ECB:
        *mode = QCRYPTO_CIPHER_MODE_ECB;
        return 0;
    case VCD_MODE_AES_CBC:
        *mode = QCRYPTO_CIPHER_MODE_CBC;
        return 0;
    case VCD_MODE_AES_CTR:
        *mode = QCRYPTO_CIPHER_MODE_CTR;
        return 0;
    default:
        return -EINVAL;
    }
}

static void vcd_builtin_session_free(void *opaque, void *ctx)
{
    VcdBuiltinSession *s = ctx;

    qcrypto_cipher_free(s->cipher);
    if (s->gcm) {
        gcry_cipher_close(s->gcm);
    }
    if (s->md) {
        gcry_md_close(s->md);
    }
    qemu_mutex_destroy(&s->lock);
    g_free(s);
}

static int vcd_builtin_session_new(void *opaque, const VcdAlg *cipher,
                                   const uint8_t *key, uint32_t keylen,
                                   const VcdAlg *mac, const uint8_t *mackey,
                                   uint32_t mackeylen, void **ctx)
{
    VcdBuiltinSession *s = g_new0(VcdBuiltinSession, 1);
    QCryptoCipherAlgorithm alg;
    QCryptoCipherMode mode;
    Error *err = NULL;

    qemu_mutex_init(&s->lock);
    if (cipher && cipher->mode == VCD_MODE_AES_GCM) {
        int algo = keylen == 16 ? GCRY_CIPHER_AES128 :
                   keylen == 24 ? GCRY_CIPHER_AES192 : GCRY_CIPHER_AES256;

        if (gcry_cipher_open(&s->gcm, algo, GCRY_CIPHER_MODE_GCM, 0)) {
            s->gcm = NULL;
            goto einval;
        }
        if (gcry_cipher_setkey(s->gcm, key, keylen)) {
            goto einval;
        }
    } else if (cipher) {
        if (vcd_builtin_cipher_alg(keylen, &alg) < 0 ||
            vcd_builtin_mode(cipher, &mode) < 0) {
            goto einval;
        }
        s->cipher = qcrypto_cipher_new(alg, mode, key, keylen, &err);
        if (!s->cipher) {
            goto einval;
        }
        s->cipher_has_iv = cipher->iv_len != 0;
    }
    if (mac) {
        s->md_algo = vcd_builtin_md_algo(mac);
        s->digest_len = mac->digest_len;
        if (!s->md_algo || gcry_md_get_algo_dlen(s->md_algo) != s->digest_len ||
            gcry_md_open(&s->md, s->md_algo,
                         mac->kind == VCD_ALG_HMAC ? GCRY_MD_FLAG_HMAC : 0)) {
            s->md = NULL;
            goto einval;
        }
        /* libgcrypt refuses an empty HMAC key; HMAC pads it with zeros */
        if (mac->kind == VCD_ALG_HMAC) {
            static const uint8_t zero;

            if (gcry_md_setkey(s->md, mackeylen ? mackey : &zero,
                               mackeylen ? mackeylen : 1)) {
                goto einval;
            }
        }
    }
    *ctx = s;
    return 0;

einval:
    error_free(err);
    vcd_builtin_session_free(opaque, s);
    return -EINVAL;
}

static int vcd_builtin_cipher(void *opaque, void *ctx, int encrypt,
                              const uint8_t *iv, const uint8_t *src,
                              uint8_t *dst, size_t len)
{
    VcdBuiltinSession *s = ctx;
    Error *err = NULL;
    int ret = 0;

    if (!s->cipher) {
        return -EINVAL;
    }
    qemu_mutex_lock(&s->lock);
    if (s->cipher_has_iv &&
        qcrypto_cipher_setiv(s->cipher, iv, VCD_AES_BLOCK, &err) < 0) {
        ret = -EINVAL;
    } else if (encrypt) {
        ret = qcrypto_cipher_encrypt(s->cipher, src, dst, len, &err);
    } else {
        ret = qcrypto_cipher_decrypt(s->cipher, src, dst, len, &err);
    }
    qemu_mutex_unlock(&s->lock);
    if (ret < 0) {
        error_free(err);
        return -EINVAL;
    }
    return 0;
}

static int vcd_builtin_hash(void *opaque, void *ctx, unsigned flags,
                            const uint8_t *data, size_t len, uint8_t *out)
{
    VcdBuiltinSession *s = ctx;
    const unsigned char *digest;
    int ret = 0;

    if (!s->md) {
        return -EINVAL;
    }
    qemu_mutex_lock(&s->lock);
    if (flags & VCD_HASH_RESET) {
        gcry_md_reset(s->md);   /* an HMAC keeps its key */
    }
    if (len) {
        gcry_md_write(s->md, data, len);
    }
    if (flags & VCD_HASH_FINAL) {
        digest = gcry_md_read(s->md, s->md_algo);
        if (digest) {
            memcpy(out, digest, s->digest_len);
        } else {
            ret = -EIO;
        }
        gcry_md_reset(s->md);
    }
    qemu_mutex_unlock(&s->lock);
    return ret;
}

static int vcd_builtin_aead(void *opaque, void *ctx, int encrypt,
                            const uint8_t *iv, const uint8_t *aad,
                            size_t aad_len, const uint8_t *src, size_t len,
                            uint8_t *dst, size_t tag_len)
{
    VcdBuiltinSession *s = ctx;
    gcry_error_t err;

    if (!s->gcm) {
        return -EINVAL;
    }
    qemu_mutex_lock(&s->lock);
    err = gcry_cipher_setiv(s->gcm, iv, VCD_GCM_IV);
    if (!err && aad_len) {
        err = gcry_cipher_authenticate(s->gcm, aad, aad_len);
    }
    if (!err && encrypt) {
        err = gcry_cipher_encrypt(s->gcm, dst, len, src, len);
        if (!err) {
            err = gcry_cipher_gettag(s->gcm, dst + len, tag_len);
        }
    } else if (!err) {
        err = gcry_cipher_decrypt(s->gcm, dst, len, src, len);
        if (!err) {
            err = gcry_cipher_checktag(s->gcm, src + len, tag_len);
            if (gcry_err_code(err) == GPG_ERR_CHECKSUM) {
                qemu_mutex_unlock(&s->lock);
                return -EBADMSG;
            }
        }
    }
    qemu_mutex_unlock(&s->lock);
    return err ? -EIO : 0;
}

static const VcdEngineOps vcd_builtin_engine_ops = {
    .driver_name = "virtio-cryptodev-builtin",
    .engine_id = VIRTIO_CRYPTODEV_ENGINE_BUILTIN,
    .session_new = vcd_builtin_session_new,
    .session_free = vcd_builtin_session_free,
    .cipher = vcd_builtin_cipher,
    .hash = vcd_builtin_hash,
    .aead = vcd_builtin_aead,
};

int vcd_engine_builtin_new(VcdEngine *engine)
{
    static const QCryptoCipherMode modes[] = {
        QCRYPTO_CIPHER_MODE_ECB, QCRYPTO_CIPHER_MODE_CBC,
        QCRYPTO_CIPHER_MODE_CTR,
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(modes); i++) {
        if (!qcrypto_cipher_supports(QCRYPTO_CIPHER_ALG_AES_128, modes[i])) {
            return -ENOTSUP;
        }
    }
    /*
     * On libgcrypt, QEMU allocates every HMAC context from the secure
     * memory pool (GCRY_MAC_FLAG_SECURE), 32 KiB unless the application
     * sized it: room for about 25 HMAC sessions in the whole process. Let
     * the pool grow in 32 KiB chunks (not locked in RAM), so the session
     * limit is the device's max-sessions, not the library's.
     */
    gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, 32 * 1024);
    engine->ops = &vcd_builtin_engine_ops;
    engine->opaque = NULL;
    return 0;
}

#else /* !CONFIG_GCRYPT */

int vcd_engine_builtin_new(VcdEngine *engine)
{
    /* the lab configures QEMU with --enable-gcrypt (host-backend/README.md) */
    return -ENOTSUP;
}

#endif
