/*
 * An in-process fake of the host's /dev/crypto: the cryptodev-linux ioctls
 * CIOCGSESSION, CIOCFSESSION and CIOCCRYPT, validated as the real driver
 * does and computed with nettle, so the host engine's translation is checked
 * against known answers without a kernel module. Hash sessions keep a
 * running message as cryptodev-linux does: reset when the flags are 0 or
 * COP_FLAG_RESET, digest on COP_FLAG_FINAL, without COP_FLAG_UPDATE or on
 * no data, and no new message started after a digest by itself.
 */
#include <pthread.h>
#include <sys/ioctl.h>
#include <linux/cryptodev.h>
#include <nettle/aes.h>
#include <nettle/cbc.h>
#include <nettle/ctr.h>
#include <nettle/gcm.h>
#include <nettle/hmac.h>
#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "fake-devcrypto.h"

#define FAKE_FD 4242
#define FAKE_MAX_SES 4096

typedef struct FakeSes {
    bool used;
    uint32_t cipher, mac;
    struct aes_ctx enc, dec;
    const struct nettle_hash *hash;
    bool hmac;
    /* nettle's generic HMAC: outer and inner keyed states, the message */
    uint8_t outer[512], inner[512], state[512];
} FakeSes;

static const struct nettle_hash *fake_hash(uint32_t mac, bool *hmac)
{
    *hmac = true;
    switch (mac) {
    case CRYPTO_MD5:
        *hmac = false;
        /* fall through */
    case CRYPTO_MD5_HMAC:
        return &nettle_md5;
    case CRYPTO_SHA1:
        *hmac = false;
        /* fall through */
    case CRYPTO_SHA1_HMAC:
        return &nettle_sha1;
    case CRYPTO_SHA2_224:
        *hmac = false;
        /* fall through */
    case CRYPTO_SHA2_224_HMAC:
        return &nettle_sha224;
    case CRYPTO_SHA2_256:
        *hmac = false;
        /* fall through */
    case CRYPTO_SHA2_256_HMAC:
        return &nettle_sha256;
    case CRYPTO_SHA2_384:
        *hmac = false;
        /* fall through */
    case CRYPTO_SHA2_384_HMAC:
        return &nettle_sha384;
    case CRYPTO_SHA2_512:
        *hmac = false;
        /* fall through */
    case CRYPTO_SHA2_512_HMAC:
        return &nettle_sha512;
    }
    return NULL;
}

static void fake_hash_reset(FakeSes *s)
{
    if (s->hmac) {
        memcpy(s->state, s->inner, s->hash->context_size);
    } else {
        s->hash->init(s->state);
    }
}

static FakeSes fake_ses[FAKE_MAX_SES];
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;

static int fake_open(void *opaque, const char *path)
{
    FakeDevCrypto *f = opaque;

    if (!f->path || strcmp(path, f->path) != 0) {
        return -ENOENT;
    }
    f->opens++;
    return FAKE_FD;
}

static void fake_close(void *opaque, int fd)
{
    FakeDevCrypto *f = opaque;

    if (fd == FAKE_FD) {
        f->opens--;
    }
}

static int fake_gsession(FakeDevCrypto *f, struct session_op *sop)
{
    FakeSes *s;
    uint32_t i;

    if (f->fail_session) {
        return f->fail_session;
    }
    if ((sop->cipher == 0) == (sop->mac == 0)) {
        return -EINVAL; /* the engine asks for one algorithm at a time */
    }
    if (sop->cipher == CRYPTO_AES_CBC || sop->cipher == CRYPTO_AES_ECB ||
        sop->cipher == CRYPTO_AES_CTR || sop->cipher == CRYPTO_AES_GCM) {
        if (sop->keylen != 16 && sop->keylen != 24 && sop->keylen != 32) {
            return -EINVAL;
        }
    } else if (sop->cipher) {
        return -EINVAL;
    }
    if (sop->mac) {
        bool hmac;

        if (!fake_hash(sop->mac, &hmac)) {
            return -EINVAL;
        }
        if (hmac ? sop->mackeylen > CRYPTO_HMAC_MAX_KEY_LEN
                 : sop->mackeylen != 0) {
            return -EINVAL;
        }
    }
    pthread_mutex_lock(&fake_lock);
    for (i = 0; i < FAKE_MAX_SES && fake_ses[i].used; i++) {
    }
    if (i == FAKE_MAX_SES) {
        pthread_mutex_unlock(&fake_lock);
        return -ENOMEM;
    }
    s = &fake_ses[i];
    memset(s, 0, sizeof(*s));
    s->used = true;
    s->cipher = sop->cipher;
    s->mac = sop->mac;
    if (sop->cipher) {
        aes_set_encrypt_key(&s->enc, sop->keylen, sop->key);
        aes_set_decrypt_key(&s->dec, sop->keylen, sop->key);
    }
    if (sop->mac) {
        s->hash = fake_hash(sop->mac, &s->hmac);
        if (s->hmac) {
            hmac_set_key(s->outer, s->inner, s->state, s->hash,
                         sop->mackeylen, sop->mackey);
        }
        fake_hash_reset(s);
    }
    f->sessions++;
    pthread_mutex_unlock(&fake_lock);
    sop->ses = 0x5000 + i; /* host ids: must never reach the guest */
    return 0;
}

static FakeSes *fake_find(uint32_t ses)
{
    if (ses < 0x5000 || ses >= 0x5000 + FAKE_MAX_SES ||
        !fake_ses[ses - 0x5000].used) {
        return NULL;
    }
    return &fake_ses[ses - 0x5000];
}

static int fake_crypt(FakeDevCrypto *f, struct crypt_op *cop)
{
    FakeSes *s;
    uint8_t iv[16];

    pthread_mutex_lock(&fake_lock);
    s = fake_find(cop->ses);
    f->last_op = cop->op;
    f->last_len = cop->len;
    f->last_had_iv = cop->iv != NULL;
    pthread_mutex_unlock(&fake_lock);
    if (!s) {
        return -EINVAL;
    }
    if (f->fail_crypt) {
        return f->fail_crypt;
    }
    if (cop->op != COP_ENCRYPT && cop->op != COP_DECRYPT) {
        return -EINVAL;
    }
    if (s->cipher) {
        if (cop->len % 16 && s->cipher != CRYPTO_AES_CTR) {
            return -EINVAL;
        }
        if (!cop->src || !cop->dst) {
            return -EFAULT;
        }
        if (s->cipher != CRYPTO_AES_ECB) {
            if (!cop->iv) {
                return -EINVAL;
            }
            memcpy(iv, cop->iv, 16);
        }
        switch (s->cipher) {
        case CRYPTO_AES_ECB:
            if (cop->op == COP_ENCRYPT) {
                aes_encrypt(&s->enc, cop->len, cop->dst, cop->src);
            } else {
                aes_decrypt(&s->dec, cop->len, cop->dst, cop->src);
            }
            break;
        case CRYPTO_AES_CBC:
            if (cop->op == COP_ENCRYPT) {
                cbc_encrypt(&s->enc, (nettle_cipher_func *)aes_encrypt, 16,
                            iv, cop->len, cop->dst, cop->src);
            } else {
                cbc_decrypt(&s->dec, (nettle_cipher_func *)aes_decrypt, 16,
                            iv, cop->len, cop->dst, cop->src);
            }
            break;
        case CRYPTO_AES_CTR:
            ctr_crypt(&s->enc, (nettle_cipher_func *)aes_encrypt, 16, iv,
                      cop->len, cop->dst, cop->src);
            break;
        }
        return 0;
    }
    if (cop->len && !cop->src) {
        return -EFAULT;
    }
    if (cop->flags == 0 || (cop->flags & COP_FLAG_RESET)) {
        fake_hash_reset(s);
    }
    if (cop->len) {
        s->hash->update(s->state, cop->len, cop->src);
    }
    if ((cop->flags & COP_FLAG_FINAL) || !(cop->flags & COP_FLAG_UPDATE) ||
        cop->len == 0) {
        if (!cop->mac) {
            return -EFAULT;
        }
        if (s->hmac) {
            hmac_digest(s->outer, s->inner, s->state, s->hash,
                        s->hash->digest_size, cop->mac);
        } else {
            s->hash->digest(s->state, s->hash->digest_size, cop->mac);
        }
        f->finals++;
    }
    return 0;
}

/* CIOCAUTHCRYPT of an AES-GCM session (the only kind the engine sends) */
static int fake_authcrypt(FakeDevCrypto *f, struct crypt_auth_op *caop)
{
    struct gcm_key key;
    struct gcm_ctx gc;
    uint8_t tag[16];
    uint32_t len;
    FakeSes *s;

    pthread_mutex_lock(&fake_lock);
    s = fake_find(caop->ses);
    f->last_op = caop->op;
    f->last_len = caop->len;
    f->last_had_iv = caop->iv != NULL;
    pthread_mutex_unlock(&fake_lock);
    if (!s || s->cipher != CRYPTO_AES_GCM || !caop->iv ||
        caop->tag_len > 16 || (caop->op == COP_DECRYPT &&
                               caop->len < caop->tag_len)) {
        return -EINVAL;
    }
    if (f->fail_crypt) {
        return f->fail_crypt;
    }
    len = caop->op == COP_ENCRYPT ? caop->len : caop->len - caop->tag_len;
    gcm_set_key(&key, &s->enc, (nettle_cipher_func *)aes_encrypt);
    gcm_set_iv(&gc, &key, 12, caop->iv);
    if (caop->auth_len) {
        gcm_update(&gc, &key, caop->auth_len, caop->auth_src);
    }
    if (caop->op == COP_ENCRYPT) {
        gcm_encrypt(&gc, &key, &s->enc, (nettle_cipher_func *)aes_encrypt,
                    len, caop->dst, caop->src);
        gcm_digest(&gc, &key, &s->enc, (nettle_cipher_func *)aes_encrypt,
                   caop->tag_len, caop->dst + len);
        return 0;
    }
    gcm_decrypt(&gc, &key, &s->enc, (nettle_cipher_func *)aes_encrypt, len,
                caop->dst, caop->src);
    gcm_digest(&gc, &key, &s->enc, (nettle_cipher_func *)aes_encrypt,
               caop->tag_len, tag);
    return memcmp(tag, caop->src + len, caop->tag_len) ? -EBADMSG : 0;
}

static int fake_ioctl(void *opaque, int fd, unsigned long request, void *arg)
{
    FakeDevCrypto *f = opaque;
    FakeSes *s;
    int ret = 0;

    __atomic_add_fetch(&f->ioctls, 1, __ATOMIC_RELAXED);
    if (fd != FAKE_FD) {
        return -EBADF;
    }
    switch (request) {
    case CIOCGSESSION:
        return fake_gsession(f, arg);
    case CIOCFSESSION:
        pthread_mutex_lock(&fake_lock);
        s = fake_find(*(uint32_t *)arg);
        if (s) {
            s->used = false;
            f->sessions--;
        } else {
            ret = -EINVAL;
        }
        pthread_mutex_unlock(&fake_lock);
        return ret;
    case CIOCCRYPT:
        return fake_crypt(f, arg);
    case CIOCAUTHCRYPT:
        return fake_authcrypt(f, arg);
    default:
        return -ENOTTY;
    }
}

void fake_devcrypto_ops(FakeDevCrypto *fake, VcdHostOps *ops)
{
    ops->open = fake_open;
    ops->ioctl = fake_ioctl;
    ops->close = fake_close;
    ops->opaque = fake;
}
