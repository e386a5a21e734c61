/*
 * An in-process fake of the host's /dev/crypto: the cryptodev-linux ioctls
 * CIOCGSESSION, CIOCFSESSION and CIOCCRYPT, validated as the real driver
 * does and computed with nettle, so the host engine's translation is checked
 * against known answers without a kernel module.
 */
#include <pthread.h>
#include <sys/ioctl.h>
#include <linux/cryptodev.h>
#include <nettle/aes.h>
#include <nettle/cbc.h>
#include <nettle/ctr.h>
#include <nettle/hmac.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "fake-devcrypto.h"

#define FAKE_FD 4242
#define FAKE_MAX_SES 4096

typedef struct FakeSes {
    bool used;
    uint32_t cipher, mac;
    struct aes_ctx enc, dec;
    uint8_t mackey[CRYPTO_HMAC_MAX_KEY_LEN];
    uint32_t mackeylen;
} FakeSes;

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
        sop->cipher == CRYPTO_AES_CTR) {
        if (sop->keylen != 16 && sop->keylen != 24 && sop->keylen != 32) {
            return -EINVAL;
        }
    } else if (sop->cipher) {
        return -EINVAL;
    }
    if (sop->mac == CRYPTO_SHA1 || sop->mac == CRYPTO_SHA2_256) {
        if (sop->mackeylen) {
            return -EINVAL;
        }
    } else if (sop->mac == CRYPTO_SHA1_HMAC ||
               sop->mac == CRYPTO_SHA2_256_HMAC) {
        if (sop->mackeylen > CRYPTO_HMAC_MAX_KEY_LEN) {
            return -EINVAL;
        }
    } else if (sop->mac) {
        return -EINVAL;
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
    if (sop->mackeylen) {
        memcpy(s->mackey, sop->mackey, sop->mackeylen);
    }
    s->mackeylen = sop->mackeylen;
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
    if (!cop->mac || (cop->len && !cop->src)) {
        return -EFAULT;
    }
    switch (s->mac) {
    case CRYPTO_SHA1: {
        struct sha1_ctx c;
        sha1_init(&c);
        sha1_update(&c, cop->len, cop->src);
        sha1_digest(&c, SHA1_DIGEST_SIZE, cop->mac);
        break;
    }
    case CRYPTO_SHA2_256: {
        struct sha256_ctx c;
        sha256_init(&c);
        sha256_update(&c, cop->len, cop->src);
        sha256_digest(&c, SHA256_DIGEST_SIZE, cop->mac);
        break;
    }
    case CRYPTO_SHA1_HMAC: {
        struct hmac_sha1_ctx c;
        hmac_sha1_set_key(&c, s->mackeylen, s->mackey);
        hmac_sha1_update(&c, cop->len, cop->src);
        hmac_sha1_digest(&c, SHA1_DIGEST_SIZE, cop->mac);
        break;
    }
    case CRYPTO_SHA2_256_HMAC: {
        struct hmac_sha256_ctx c;
        hmac_sha256_set_key(&c, s->mackeylen, s->mackey);
        hmac_sha256_update(&c, cop->len, cop->src);
        hmac_sha256_digest(&c, SHA256_DIGEST_SIZE, cop->mac);
        break;
    }
    }
    return 0;
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
