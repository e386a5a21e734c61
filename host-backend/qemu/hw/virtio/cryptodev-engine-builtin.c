/*
 * virtio-cryptodev: the builtin engine, on QEMU's own crypto layer
 *
 * A QCryptoCipher keeps its IV between calls and a QCryptoHmac its state,
 * so each session serialises its own requests with a mutex; requests of
 * different sessions run in parallel in the thread pool.
 *
 * Copyright (c) 2026 The virtio-cryptodev lab authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include "crypto/cipher.h"
#include "crypto/hash.h"
#include "crypto/hmac.h"
#include "cryptodev-engine.h"
#ifdef CONFIG_GCRYPT
#include <gcrypt.h>
#endif

typedef struct VcdBuiltinSession {
    QemuMutex lock;         /* the cipher's IV, the HMAC's context */
    QCryptoCipher *cipher;
    bool cipher_has_iv;
    QCryptoHmac *hmac;
    QCryptoHashAlgorithm hash;
    size_t digest_len;
} VcdBuiltinSession;

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
    qcrypto_hmac_free(s->hmac);
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
    if (cipher) {
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
        s->hash = mac->mode == VCD_MODE_SHA1 ? QCRYPTO_HASH_ALG_SHA1
                                             : QCRYPTO_HASH_ALG_SHA256;
        s->digest_len = mac->digest_len;
        if (qcrypto_hash_digest_len(s->hash) != s->digest_len) {
            goto einval;
        }
        if (mac->kind == VCD_ALG_HMAC) {
            s->hmac = qcrypto_hmac_new(s->hash, mackey, mackeylen, &err);
            if (!s->hmac) {
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

static int vcd_builtin_digest(void *opaque, void *ctx, const uint8_t *data,
                              size_t len, uint8_t *out)
{
    VcdBuiltinSession *s = ctx;
    uint8_t *result = out;
    size_t result_len = s->digest_len;
    Error *err = NULL;
    int ret;

    if (!s->digest_len) {
        return -EINVAL;
    }
    if (s->hmac) {
        qemu_mutex_lock(&s->lock);
        ret = qcrypto_hmac_bytes(s->hmac, (const char *)data, len, &result,
                                 &result_len, &err);
        qemu_mutex_unlock(&s->lock);
    } else {
        ret = qcrypto_hash_bytes(s->hash, (const char *)data, len, &result,
                                 &result_len, &err);
    }
    if (ret < 0) {
        error_free(err);
        return -EIO;
    }
    return 0;
}

static const VcdEngineOps vcd_builtin_engine_ops = {
    .driver_name = "virtio-cryptodev-builtin",
    .engine_id = VIRTIO_CRYPTODEV_ENGINE_BUILTIN,
    .session_new = vcd_builtin_session_new,
    .session_free = vcd_builtin_session_free,
    .cipher = vcd_builtin_cipher,
    .digest = vcd_builtin_digest,
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
    if (!qcrypto_hash_supports(QCRYPTO_HASH_ALG_SHA1) ||
        !qcrypto_hash_supports(QCRYPTO_HASH_ALG_SHA256) ||
        !qcrypto_hmac_supports(QCRYPTO_HASH_ALG_SHA256)) {
        return -ENOTSUP;
    }
#ifdef CONFIG_GCRYPT
    /*
     * On libgcrypt, QEMU allocates every HMAC context from the secure
     * memory pool (GCRY_MAC_FLAG_SECURE), 32 KiB unless the application
     * sized it: room for about 25 HMAC sessions in the whole process. Let
     * the pool grow in 32 KiB chunks (not locked in RAM), so the session
     * limit is the device's max-sessions, not the library's.
     */
    gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, 32 * 1024);
#endif
    engine->ops = &vcd_builtin_engine_ops;
    engine->opaque = NULL;
    return 0;
}
