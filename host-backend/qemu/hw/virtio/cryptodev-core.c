/*
 * virtio-cryptodev: handle table, request validation and execution
 *
 * Copyright (c) 2026 The virtio-cryptodev lab authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/thread.h"
#include "cryptodev-core.h"
/* BEGIN SOLUTION Z3: (kit) the stubs' helper */
/* END SOLUTION Z3: #include "cryptodev-todo.h" */

struct VcdSession {
    uint32_t id;
    unsigned refs;          /* the handle's + one per job; main thread */
    const VcdAlg *cipher;
    const VcdAlg *mac;
    void *ctx;              /* the engine's */
    QemuMutex lock;         /* guards iv */
    uint8_t iv[VIRTIO_CRYPTODEV_MAX_IV_LEN]; /* running IV for iv_len 0 */
    bool busy;              /* a job of the session runs; main thread */
    VcdJob *wait_head;      /* queued jobs, in submission order */
    VcdJob **wait_tail;
    VcdSession *next;
};

typedef struct VcdHandle {
    uint32_t id;
    uint32_t nsessions;
    uint32_t next_session;
    VcdSession *sessions;
} VcdHandle;

struct VcdCore {
    VcdLimits limits;
    VcdEngine engine;
    VcdStats *stats;
    VcdHandle **slots;      /* limits.max_handles entries */
    uint16_t *gen;          /* per slot: a closed handle's id is not reused */
    uint32_t nhandles;
    uint32_t hint;
};

VcdCore *vcd_core_new(const VcdLimits *limits, VcdEngine engine,
                      VcdStats *stats)
{
    VcdCore *c = g_new0(VcdCore, 1);

    c->limits = *limits;
    if (c->limits.max_handles == 0) {
        c->limits.max_handles = 1;
    }
    if (c->limits.max_handles > VCD_MAX_HANDLES_LIMIT) {
        c->limits.max_handles = VCD_MAX_HANDLES_LIMIT;
    }
    if (c->limits.max_data_len > VCD_MAX_DATA_LEN_LIMIT) {
        c->limits.max_data_len = VCD_MAX_DATA_LEN_LIMIT;
    }
    if (c->limits.max_wire_version < VIRTIO_CRYPTODEV_WIRE_VERSION ||
        c->limits.max_wire_version > VIRTIO_CRYPTODEV_WIRE_VERSION_MAX) {
        c->limits.max_wire_version = VIRTIO_CRYPTODEV_WIRE_VERSION_MAX;
    }
    c->engine = engine;
    c->stats = stats;
    c->slots = g_new0(VcdHandle *, c->limits.max_handles);
    c->gen = g_new0(uint16_t, c->limits.max_handles);
    return c;
}

size_t vcd_core_max_readable(const VcdCore *c)
{
    size_t session = VIRTIO_CRYPTODEV_MAX_KEY_LEN +
                     VIRTIO_CRYPTODEV_MAX_MACKEY_LEN;
    /* AUTHCRYPT's is the largest: aead, iv, auth and data */
    size_t crypt = VCD_AEAD_SIZE + VIRTIO_CRYPTODEV_MAX_IV_LEN +
                   VIRTIO_CRYPTODEV_MAX_AUTH_LEN +
                   (size_t)c->limits.max_data_len;

    return VCD_REQ_SIZE + (session > crypt ? session : crypt);
}

static void vcd_session_unref(VcdCore *c, VcdSession *s)
{
    if (--s->refs > 0) {
        return;
    }
    if (s->ctx) {
        c->engine.ops->session_free(c->engine.opaque, s->ctx);
    }
    qemu_mutex_destroy(&s->lock);
    g_free(s);
    c->stats->sessions_open--;
}

/* BEGIN SOLUTION Z3: the handle table: find a handle or session, open a handle */
static VcdHandle *vcd_handle_find(VcdCore *c, uint32_t id)
{
    uint32_t slot = (id & 0xffff) - 1;
    VcdHandle *h;

    if ((id & 0xffff) == 0 || slot >= c->limits.max_handles) {
        return NULL;
    }
    h = c->slots[slot];
    return h && h->id == id ? h : NULL;
}

static VcdSession *vcd_session_find(VcdHandle *h, uint32_t id)
{
    VcdSession *s;

    for (s = h->sessions; s; s = s->next) {
        if (s->id == id) {
            return s;
        }
    }
    return NULL;
}

static int vcd_handle_open(VcdCore *c, uint32_t *id)
{
    uint32_t i, slot;
    VcdHandle *h;

    if (c->nhandles >= c->limits.max_handles) {
        return -EMFILE;
    }
    for (i = 0; i < c->limits.max_handles; i++) {
        slot = (c->hint + i) % c->limits.max_handles;
        if (!c->slots[slot]) {
            break;
        }
    }
    if (i == c->limits.max_handles) {
        return -EMFILE;
    }
    if (++c->gen[slot] == 0) {
        c->gen[slot] = 1;
    }
    h = g_new0(VcdHandle, 1);
    h->id = ((uint32_t)c->gen[slot] << 16) | (slot + 1);
    h->next_session = 1;
    c->slots[slot] = h;
    c->hint = slot + 1;
    c->nhandles++;
    c->stats->handles_open++;
    *id = h->id;
    return 0;
}
/* END SOLUTION Z3 */

static void vcd_handle_close(VcdCore *c, VcdHandle *h)
{
    VcdSession *s, *next;

    for (s = h->sessions; s; s = next) {
        next = s->next;
        vcd_session_unref(c, s);
    }
    c->slots[(h->id & 0xffff) - 1] = NULL;
    c->nhandles--;
    c->stats->handles_open--;
    g_free(h);
}

void vcd_core_reset(VcdCore *c)
{
    uint32_t i;

    for (i = 0; i < c->limits.max_handles; i++) {
        if (c->slots[i]) {
            vcd_handle_close(c, c->slots[i]);
        }
    }
}

void vcd_core_free(VcdCore *c)
{
    if (!c) {
        return;
    }
    vcd_core_reset(c);
    if (c->engine.ops && c->engine.ops->destroy) {
        c->engine.ops->destroy(c->engine.opaque);
    }
    g_free(c->slots);
    g_free(c->gen);
    g_free(c);
}

/* BEGIN SOLUTION Z3: sessions and size checks: vcd_begin_op's helpers (yours to shape) */
static int vcd_create_session(VcdCore *c, VcdHandle *h, const VcdReq *r,
                              const uint8_t *key, const uint8_t *mackey,
                              VcdResp *resp)
{
    const VcdAlg *cipher = NULL, *mac = NULL;
    VcdSession *s;
    void *ctx = NULL;
    int ret;

    if (r->cipher == 0 && r->mac == 0) {
        return -EINVAL;
    }
    if (r->cipher) {
        cipher = vcd_alg_find(r->cipher, VCD_FIND_CIPHER);
        if (!cipher || vcd_alg_check_key(cipher, r->keylen) < 0) {
            return -EINVAL;
        }
    } else if (r->keylen) {
        return -EINVAL;
    }
    if (r->mac && cipher && cipher->mode == VCD_MODE_AES_GCM) {
        return -EINVAL; /* an AEAD cipher authenticates by itself */
    }
    if (r->mac) {
        mac = vcd_alg_find(r->mac, VCD_FIND_MAC);
        if (!mac || vcd_alg_check_key(mac, r->mackeylen) < 0) {
            return -EINVAL;
        }
    } else if (r->mackeylen) {
        return -EINVAL;
    }
    if (h->nsessions >= c->limits.max_sessions) {
        return -ENOSPC;
    }
    if (mac || cipher->mode != VCD_MODE_NULL) {
        const VcdAlg *ec = cipher && cipher->mode != VCD_MODE_NULL ? cipher
                                                                  : NULL;

        ret = c->engine.ops->session_new(c->engine.opaque, ec,
                                         ec ? key : NULL, ec ? r->keylen : 0,
                                         mac, mackey, r->mackeylen, &ctx);
        if (ret < 0) {
            return ret;
        }
    }
    s = g_new0(VcdSession, 1);
    s->refs = 1;
    s->cipher = cipher;
    s->mac = mac;
    s->ctx = ctx;
    s->wait_tail = &s->wait_head;
    qemu_mutex_init(&s->lock);
    do {
        s->id = h->next_session++;
    } while (s->id == 0 || vcd_session_find(h, s->id));
    s->next = h->sessions;
    h->sessions = s;
    h->nsessions++;
    c->stats->sessions_open++;

    resp->id = s->id;
    resp->block_size = cipher ? cipher->block_size : 1;
    resp->iv_len = cipher ? cipher->iv_len : 0;
    resp->digest_len = mac ? mac->digest_len : 0;
    return 0;
}

static void vcd_free_session(VcdCore *c, VcdHandle *h, VcdSession *s)
{
    VcdSession **pp;

    for (pp = &h->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    h->nsessions--;
    vcd_session_unref(c, s);
}

static void vcd_session_info(VcdCore *c, VcdSession *s, uint8_t *out)
{
    struct virtio_cryptodev_session_info info;
    const char *drv = c->engine.ops->driver_name;

    memset(&info, 0, sizeof(info));
    if (s->cipher) {
        vcd_strpad(info.cipher.name, sizeof(info.cipher.name),
                   s->cipher->name);
        vcd_strpad(info.cipher.driver, sizeof(info.cipher.driver),
                   s->cipher->mode == VCD_MODE_NULL ? "virtio-cryptodev-null"
                                                    : drv);
    }
    if (s->mac) {
        vcd_strpad(info.hash.name, sizeof(info.hash.name), s->mac->name);
        vcd_strpad(info.hash.driver, sizeof(info.hash.driver), drv);
    }
    stl_le_p(&info.alignmask, 0);
    /* SIOP_FLAG_KERNEL_DRIVER_ONLY: a device does the work */
    stl_le_p(&info.flags, 1);
    memcpy(out, &info, sizeof(info));
}

/* Sizes of the two streams a request must have; 0 or -EINVAL. */
static int vcd_check_sizes(size_t readable, size_t writable, uint64_t in,
                           uint64_t out)
{
    return readable == in && writable == out + VCD_RESP_SIZE ? 0 : -EINVAL;
}

static int vcd_check_crypt(const VcdCore *c, const VcdSession *s,
                           const VcdReq *r)
{
    uint32_t ivsize = s->cipher ? s->cipher->iv_len : 0;

    if (r->src_len > c->limits.max_data_len) {
        return -E2BIG;
    }
    if (s->cipher && s->cipher->mode == VCD_MODE_AES_GCM) {
        return -EINVAL; /* an AEAD cipher: AUTHCRYPT only */
    }
    if (s->cipher && r->src_len % s->cipher->block_size) {
        return -EINVAL;
    }
    if (r->iv_len != 0 && r->iv_len != ivsize) {
        return -EINVAL;
    }
    if (r->dst_len != (s->cipher ? r->src_len : 0)) {
        return -EINVAL;
    }
    if (r->iv_out_len !=
        ((r->flags & VIRTIO_CRYPTODEV_F_WRITE_IV) ? ivsize : 0)) {
        return -EINVAL;
    }
    if (!s->mac && (r->flags & ~VIRTIO_CRYPTODEV_F_WRITE_IV)) {
        return -EINVAL; /* hash flags on a session without a hash */
    }
    if (r->mac_len != (s->mac && (vcd_req_hash_flags(r) & VCD_HASH_FINAL)
                       ? s->mac->digest_len : 0)) {
        return -EINVAL;
    }
    return 0;
}
/* END SOLUTION Z3 */

/*
 * An AUTHCRYPT against its session (the kinds in the header): 0 with the
 * sizes both streams must have, or a negative errno.
 */
static int vcd_check_authcrypt(const VcdCore *c, const VcdSession *s,
                               const VcdReq *r, const VcdAead *a,
                               uint64_t *need_in, uint64_t *need_out)
{
    const VcdAlg *ci = s->cipher;
    bool enc = r->cop == VIRTIO_CRYPTODEV_COP_ENCRYPT;
    uint32_t ivsize = ci ? ci->iv_len : 0;
    uint64_t dst;

    if (r->src_len > c->limits.max_data_len) {
        return -E2BIG;
    }
    if (a->reserved || !ci || (r->iv_len && r->iv_len != ivsize) ||
        r->iv_out_len != ((r->flags & VIRTIO_CRYPTODEV_F_WRITE_IV) ? ivsize
                                                                  : 0)) {
        return -EINVAL;
    }
    *need_in = VCD_REQ_SIZE + VCD_AEAD_SIZE + (uint64_t)r->iv_len +
               a->auth_len;
    if (r->flags & VIRTIO_CRYPTODEV_F_AEAD_SRTP) {
        /* a stream cipher and an HMAC; the data inside auth */
        if ((ci->mode != VCD_MODE_AES_CTR && ci->mode != VCD_MODE_NULL) ||
            !s->mac || s->mac->kind != VCD_ALG_HMAC || !a->tag_len ||
            a->tag_len > s->mac->digest_len ||
            a->auth_len > c->limits.max_data_len ||
            (uint64_t)a->src_offset + r->src_len > a->auth_len ||
            r->dst_len != r->src_len) {
            return -EINVAL;
        }
        *need_in += enc ? 0 : a->tag_len;
        *need_out = (uint64_t)r->dst_len + (enc ? a->tag_len : 0) +
                    r->iv_out_len;
        return 0;
    }
    if (a->src_offset || a->auth_len > VIRTIO_CRYPTODEV_MAX_AUTH_LEN) {
        return -EINVAL;
    }
    *need_in += r->src_len;
    if (r->flags & VIRTIO_CRYPTODEV_F_AEAD_TLS) {
        /* a CBC cipher and an HMAC: MAC, pad, encrypt */
        uint32_t bs = ci->block_size;

        if (ci->mode != VCD_MODE_AES_CBC || !s->mac ||
            s->mac->kind != VCD_ALG_HMAC || !a->tag_len ||
            a->tag_len > s->mac->digest_len) {
            return -EINVAL;
        }
        if (enc) {
            dst = (uint64_t)r->src_len + a->tag_len;
            dst += bs - dst % bs;
        } else {
            if (r->src_len == 0 || r->src_len % bs) {
                return -EINVAL;
            }
            dst = r->src_len;
        }
    } else {
        /* an AEAD cipher */
        if (ci->mode != VCD_MODE_AES_GCM || s->mac ||
            r->iv_len != VCD_GCM_IV || r->iv_out_len ||
            !vcd_gcm_tag_len_ok(a->tag_len) ||
            (!enc && r->src_len < a->tag_len)) {
            return -EINVAL;
        }
        dst = enc ? (uint64_t)r->src_len + a->tag_len
                  : r->src_len - a->tag_len;
    }
    if (r->dst_len != dst) {
        return -EINVAL;
    }
    *need_out = dst + r->iv_out_len;
    return 0;
}

/* The job takes a reference on its session and runs now or waits: 1 or 2. */
static int vcd_job_hold(VcdCore *c, VcdJob *job, VcdSession *s)
{
    job->ses = s;
    s->refs++;
    c->stats->in_flight++;
    if (s->busy) {
        /* one job of a session at a time, in submission order */
        job->wait_next = NULL;
        *s->wait_tail = job;
        s->wait_tail = &job->wait_next;
        return 2;
    }
    s->busy = true;
    return 1;
}

static int vcd_begin_op(VcdCore *c, VcdJob *job, const uint8_t *in,
                        size_t in_len, size_t readable, size_t writable)
{
    /* BEGIN SOLUTION Z3: vcd_begin_op: validate a request and run or queue it */
    const VcdReq *r = &job->req;
    VcdHandle *h = NULL;
    VcdSession *s = NULL;
    uint64_t need_in = VCD_REQ_SIZE, need_out = 0;
    int ret;

    ret = vcd_req_check_header(r, c->limits.max_wire_version);
    if (ret < 0) {
        return ret;
    }
    if (r->op != VIRTIO_CRYPTODEV_OP_OPEN) {
        h = vcd_handle_find(c, r->handle);
        if (!h) {
            return -EBADF;
        }
    }
    switch (r->op) {
    case VIRTIO_CRYPTODEV_OP_FREE_SESSION:
    case VIRTIO_CRYPTODEV_OP_CRYPT:
    case VIRTIO_CRYPTODEV_OP_AUTHCRYPT:
    case VIRTIO_CRYPTODEV_OP_SESSION_INFO:
        s = vcd_session_find(h, r->session);
        if (!s) {
            return -EINVAL;
        }
        break;
    }

    switch (r->op) {
    case VIRTIO_CRYPTODEV_OP_OPEN:
        ret = vcd_check_sizes(readable, writable, need_in, need_out);
        return ret < 0 ? ret : vcd_handle_open(c, &job->r.id);

    case VIRTIO_CRYPTODEV_OP_CLOSE:
        ret = vcd_check_sizes(readable, writable, need_in, need_out);
        if (ret == 0) {
            vcd_handle_close(c, h);
        }
        return ret;

    case VIRTIO_CRYPTODEV_OP_CREATE_SESSION:
        need_in += (uint64_t)r->keylen + r->mackeylen;
        ret = vcd_check_sizes(readable, writable, need_in, need_out);
        if (ret < 0 || in_len < need_in) {
            return -EINVAL;
        }
        return vcd_create_session(c, h, r, in + VCD_REQ_SIZE,
                                  in + VCD_REQ_SIZE + r->keylen, &job->r);

    case VIRTIO_CRYPTODEV_OP_FREE_SESSION:
        ret = vcd_check_sizes(readable, writable, need_in, need_out);
        if (ret == 0) {
            vcd_free_session(c, h, s);
        }
        return ret;

    case VIRTIO_CRYPTODEV_OP_SESSION_INFO:
        need_out = VCD_INFO_SIZE;
        ret = vcd_check_sizes(readable, writable, need_in, need_out);
        if (ret < 0) {
            return ret;
        }
        job->out = g_malloc0(VCD_INFO_SIZE);
        job->out_len = VCD_INFO_SIZE;
        vcd_session_info(c, s, job->out);
        return 0;

    case VIRTIO_CRYPTODEV_OP_CRYPT:
        ret = vcd_check_crypt(c, s, r);
        if (ret < 0) {
            return ret;
        }
        need_in += (uint64_t)r->iv_len + r->src_len;
        need_out = (uint64_t)r->dst_len + r->iv_out_len + r->mac_len;
        ret = vcd_check_sizes(readable, writable, need_in, need_out);
        if (ret < 0 || in_len < need_in) {
            return -EINVAL;
        }
        if (need_out) {
            job->out = g_try_malloc(need_out);
            if (!job->out) {
                return -ENOMEM;
            }
        }
        job->out_len = need_out;
        job->iv = r->iv_len ? in + VCD_REQ_SIZE : NULL;
        job->src = in + VCD_REQ_SIZE + r->iv_len;
        return vcd_job_hold(c, job, s);

    case VIRTIO_CRYPTODEV_OP_AUTHCRYPT:
        if (in_len < VCD_REQ_SIZE + VCD_AEAD_SIZE) {
            return -EINVAL;
        }
        vcd_aead_decode(in + VCD_REQ_SIZE, &job->aead);
        ret = vcd_check_authcrypt(c, s, r, &job->aead, &need_in, &need_out);
        if (ret < 0) {
            return ret;
        }
        ret = vcd_check_sizes(readable, writable, need_in, need_out);
        if (ret < 0 || in_len < need_in) {
            return -EINVAL;
        }
        /* a GCM decrypt of a tag alone writes nothing: still a buffer */
        job->out = g_try_malloc(need_out ? need_out : 1);
        if (!job->out) {
            return -ENOMEM;
        }
        job->out_len = need_out;
        in += VCD_REQ_SIZE + VCD_AEAD_SIZE;
        job->iv = r->iv_len ? in : NULL;
        job->auth = in + r->iv_len;
        job->src = job->auth + job->aead.auth_len;
        if (r->flags & VIRTIO_CRYPTODEV_F_AEAD_SRTP) {
            job->src = job->auth + job->aead.src_offset;
            job->tag_in = job->auth + job->aead.auth_len;
        }
        return vcd_job_hold(c, job, s);
    }
    return -EOPNOTSUPP;
    /* END SOLUTION Z3: return vcd_todo("Z3", "vcd_begin_op"); */
}

VcdVerdict vcd_core_begin(VcdCore *c, VcdJob *job, const uint8_t *in,
                          size_t in_len, size_t readable, size_t writable)
{
    int ret;

    memset(job, 0, sizeof(*job));
    job->writable = writable;
    c->stats->requests++;
    if (writable < VCD_RESP_SIZE) {
        c->stats->errors++;
        return VCD_DROP;
    }
    if (readable < VCD_REQ_SIZE || in_len < VCD_REQ_SIZE) {
        job->r.status = -EINVAL;
        return VCD_DONE;
    }
    vcd_req_decode(in, &job->req);
    job->have_req = true;
    job->r.tag = job->req.tag;
    if (in_len > readable) {
        in_len = readable;
    }
    ret = vcd_begin_op(c, job, in, in_len, readable, writable);
    if (ret == 1) {
        return VCD_WORK;
    }
    if (ret == 2) {
        return VCD_WAIT;
    }
    job->r.status = ret;
    return VCD_DONE;
}

/* The cipher part of a CRYPT; @iv is the IV to use (session's size). */
static int vcd_cipher(VcdCore *c, VcdSession *s, int enc, const uint8_t *iv,
                      const uint8_t *src, uint8_t *dst, size_t len)
{
    /* BEGIN SOLUTION Z3: vcd_cipher: the cipher on the engine (CTR's partial block too) */
    const VcdEngineOps *ops = c->engine.ops;
    size_t full;
    uint8_t ctr[VCD_AES_BLOCK], pad[VCD_AES_BLOCK], tail[VCD_AES_BLOCK];
    int ret;

    if (s->cipher->mode == VCD_MODE_NULL) {
        if (len) {
            memmove(dst, src, len);
        }
        return 0;
    }
    full = len - len % VCD_AES_BLOCK;
    if (full) {
        ret = ops->cipher(c->engine.opaque, s->ctx, enc, iv, src, dst, full);
        if (ret < 0) {
            return ret;
        }
    }
    if (full == len) {
        return 0;
    }
    /* CTR with a partial last block: run the counter over a padded copy */
    memcpy(ctr, iv, VCD_AES_BLOCK);
    vcd_ctr_add(ctr, full / VCD_AES_BLOCK);
    memset(pad, 0, sizeof(pad));
    memcpy(pad, src + full, len - full);
    ret = ops->cipher(c->engine.opaque, s->ctx, enc, ctr, pad, tail,
                      VCD_AES_BLOCK);
    if (ret < 0) {
        return ret;
    }
    memcpy(dst + full, tail, len - full);
    return 0;
    /* END SOLUTION Z3: return vcd_todo("Z3", "vcd_cipher"); */
}

/* The IV a job starts from: the request's, or the session's running one. */
static void vcd_job_iv(VcdSession *s, const VcdJob *job, uint8_t *iv)
{
    uint32_t ivsize = s->cipher ? s->cipher->iv_len : 0;

    if (!ivsize) {
        return;
    }
    if (job->iv) {
        memcpy(iv, job->iv, ivsize);
    } else {
        qemu_mutex_lock(&s->lock);
        memcpy(iv, s->iv, ivsize);
        qemu_mutex_unlock(&s->lock);
    }
}

/* Stores the IV that chains to the next job, and writes it out if asked. */
static void vcd_job_next_iv(VcdSession *s, const VcdJob *job, int enc,
                            const uint8_t *iv, const uint8_t *src,
                            const uint8_t *dst, size_t len, uint8_t *iv_out)
{
    uint8_t next[VIRTIO_CRYPTODEV_MAX_IV_LEN];
    uint32_t ivsize = s->cipher->iv_len;

    vcd_next_iv(s->cipher, enc, iv, src, dst, len, next);
    qemu_mutex_lock(&s->lock);
    memcpy(s->iv, next, ivsize);
    qemu_mutex_unlock(&s->lock);
    if (job->req.iv_out_len) {
        memcpy(iv_out, next, ivsize);
    }
}

/* Compares @n bytes in a time that does not depend on where they differ. */
static bool vcd_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        d |= a[i] ^ b[i];
    }
    return d == 0;
}

/* HMAC of @a then @b into @out (the digest size) with the session's key. */
static int vcd_hmac2(VcdCore *c, VcdSession *s, const uint8_t *a,
                     size_t alen, const uint8_t *b, size_t blen, uint8_t *out)
{
    const VcdEngineOps *ops = c->engine.ops;
    int ret;

    if (blen == 0) {
        return ops->hash(c->engine.opaque, s->ctx,
                         VCD_HASH_RESET | VCD_HASH_FINAL, a, alen, out);
    }
    ret = ops->hash(c->engine.opaque, s->ctx, VCD_HASH_RESET, a, alen, NULL);
    if (ret == 0) {
        ret = ops->hash(c->engine.opaque, s->ctx, VCD_HASH_FINAL, b, blen,
                        out);
    }
    return ret;
}

/* TLS-type AUTHCRYPT: MAC, pad, then CBC; or CBC, check pad, check MAC. */
static int vcd_work_tls(VcdCore *c, VcdSession *s, VcdJob *job, int enc,
                        const uint8_t *iv, uint8_t *dst)
{
    const VcdReq *r = &job->req;
    uint32_t tag_len = job->aead.tag_len;
    uint8_t mac[VIRTIO_CRYPTODEV_MAX_DIGEST_LEN];
    uint32_t len = r->src_len, pad, i;
    uint8_t *buf;
    int ret;

    if (enc) {
        /* dst: data, tag, padding; then encrypted in place */
        ret = vcd_hmac2(c, s, job->auth, job->aead.auth_len, job->src, len,
                        mac);
        if (ret < 0) {
            return ret;
        }
        memcpy(dst, job->src, len);
        memcpy(dst + len, mac, tag_len);
        pad = r->dst_len - len - tag_len;
        memset(dst + len + tag_len, pad - 1, pad);
        return vcd_cipher(c, s, 1, iv, dst, dst, r->dst_len);
    }
    buf = g_try_malloc(len);
    if (!buf) {
        return -ENOMEM;
    }
    ret = vcd_cipher(c, s, 0, iv, job->src, buf, len);
    if (ret < 0) {
        goto out;
    }
    /* a bad pad or a bad tag give the same answer */
    pad = buf[len - 1] + 1u;
    ret = pad + tag_len > len ? -EBADMSG : 0;
    for (i = 0; ret == 0 && i < pad; i++) {
        if (buf[len - 1 - i] != pad - 1) {
            ret = -EBADMSG;
        }
    }
    if (ret == 0) {
        uint32_t plain = len - pad - tag_len;

        ret = vcd_hmac2(c, s, job->auth, job->aead.auth_len, buf, plain,
                        mac);
        if (ret == 0 && !vcd_equal(mac, buf + plain, tag_len)) {
            ret = -EBADMSG;
        }
        job->r.result_len = plain;
    }
    if (ret == 0) {
        memcpy(dst, buf, len);
    }
out:
    g_free(buf);
    return ret;
}

/* SRTP-type AUTHCRYPT: encrypt then MAC; or check the MAC, then decrypt. */
static int vcd_work_srtp(VcdCore *c, VcdSession *s, VcdJob *job, int enc,
                         const uint8_t *iv, uint8_t *dst)
{
    const VcdReq *r = &job->req;
    uint32_t tag_len = job->aead.tag_len, off = job->aead.src_offset;
    uint32_t alen = job->aead.auth_len, len = r->src_len;
    uint8_t mac[VIRTIO_CRYPTODEV_MAX_DIGEST_LEN];
    uint8_t *pkt;
    int ret;

    if (!enc) {
        ret = vcd_hmac2(c, s, job->auth, alen, NULL, 0, mac);
        if (ret == 0 && !vcd_equal(mac, job->tag_in, tag_len)) {
            ret = -EBADMSG;
        }
        return ret < 0 ? ret : vcd_cipher(c, s, 0, iv, job->src, dst, len);
    }
    /* the packet with its data encrypted in place is what is MACed */
    pkt = g_try_malloc(alen ? alen : 1);
    if (!pkt) {
        return -ENOMEM;
    }
    memcpy(pkt, job->auth, alen);
    ret = vcd_cipher(c, s, 1, iv, job->src, pkt + off, len);
    if (ret == 0) {
        ret = vcd_hmac2(c, s, pkt, alen, NULL, 0, mac);
    }
    if (ret == 0) {
        memcpy(dst, pkt + off, len);
        memcpy(dst + len, mac, tag_len);
    }
    g_free(pkt);
    return ret;
}

static void vcd_work_authcrypt(VcdCore *c, VcdJob *job)
{
    const VcdReq *r = &job->req;
    VcdSession *s = job->ses;
    int enc = r->cop == VIRTIO_CRYPTODEV_COP_ENCRYPT;
    uint8_t iv[VIRTIO_CRYPTODEV_MAX_IV_LEN] = { 0 };
    uint8_t *dst = job->out;
    int ret;

    vcd_job_iv(s, job, iv);
    if (r->flags & VIRTIO_CRYPTODEV_F_AEAD_TLS) {
        ret = vcd_work_tls(c, s, job, enc, iv, dst);
        if (enc) {
            job->r.result_len = r->dst_len;
        }
        if (ret == 0) {
            /* CBC chains on the last ciphertext block */
            vcd_job_next_iv(s, job, enc, iv, enc ? dst : job->src,
                            enc ? dst : job->src, r->dst_len,
                            dst + r->dst_len);
        }
    } else if (r->flags & VIRTIO_CRYPTODEV_F_AEAD_SRTP) {
        ret = vcd_work_srtp(c, s, job, enc, iv, dst);
        if (ret == 0 && s->cipher->iv_len) {
            vcd_job_next_iv(s, job, enc, iv, job->src, dst, r->src_len,
                            dst + r->dst_len + (enc ? job->aead.tag_len : 0));
        }
        job->r.result_len = r->dst_len;
    } else {
        ret = c->engine.ops->aead(c->engine.opaque, s->ctx, enc, iv,
                                  job->auth, job->aead.auth_len, job->src,
                                  enc ? r->src_len
                                      : r->src_len - job->aead.tag_len,
                                  dst, job->aead.tag_len);
        job->r.result_len = r->dst_len;
    }
    job->r.status = ret;
}

void vcd_job_work(VcdCore *c, VcdJob *job)
{
    /* BEGIN SOLUTION Z3: vcd_job_work: run a CRYPT on the engine: MAC, cipher, next IV */
    const VcdReq *r = &job->req;
    VcdSession *s = job->ses;
    const VcdEngineOps *ops = c->engine.ops;
    int enc = r->cop == VIRTIO_CRYPTODEV_COP_ENCRYPT;
    size_t len = r->src_len;
    uint8_t *dst = job->out;
    /* job->out is NULL when nothing is to be written back */
    uint8_t *iv_out = dst ? dst + r->dst_len : NULL;
    uint8_t *mac_out = dst ? iv_out + r->iv_out_len : NULL;
    uint8_t iv[VIRTIO_CRYPTODEV_MAX_IV_LEN] = { 0 };
    uint32_t ivsize = s->cipher ? s->cipher->iv_len : 0;
    unsigned hflags = vcd_req_hash_flags(r);
    int ret = 0;

    if (r->op == VIRTIO_CRYPTODEV_OP_AUTHCRYPT) {
        vcd_work_authcrypt(c, job);
        return;
    }
    vcd_job_iv(s, job, iv);
    /* as cryptodev-linux: hash the plaintext (before encrypt, after decrypt) */
    if (s->mac && (enc || !s->cipher)) {
        ret = ops->hash(c->engine.opaque, s->ctx, hflags, job->src, len,
                        mac_out);
    }
    if (ret == 0 && s->cipher) {
        ret = vcd_cipher(c, s, enc, ivsize ? iv : NULL, job->src, dst, len);
    }
    if (ret == 0 && s->mac && !enc && s->cipher) {
        ret = ops->hash(c->engine.opaque, s->ctx, hflags, dst, len, mac_out);
    }
    if (ret == 0 && ivsize) {
        vcd_job_next_iv(s, job, enc, iv, job->src, dst, len, iv_out);
    }
    job->r.status = ret;
    /* END SOLUTION Z3: job->r.status = vcd_todo("Z3", "vcd_job_work"); */
}

VcdJob *vcd_core_end(VcdCore *c, VcdJob *job)
{
    VcdSession *s = job->ses;
    VcdJob *next = NULL;

    if (s) {
        /* the session passes to its next job (which holds a reference) */
        next = s->wait_head;
        if (next) {
            s->wait_head = next->wait_next;
            if (!s->wait_head) {
                s->wait_tail = &s->wait_head;
            }
            next->wait_next = NULL;
        } else {
            s->busy = false;
        }
        vcd_session_unref(c, s);
        job->ses = NULL;
        c->stats->in_flight--;
    }
    if (job->r.status < 0) {
        c->stats->errors++;
        job->r.result_len = 0;
        g_free(job->out);
        job->out = NULL;
        job->out_len = 0;
    } else if (job->req.op == VIRTIO_CRYPTODEV_OP_CRYPT ||
               job->req.op == VIRTIO_CRYPTODEV_OP_AUTHCRYPT) {
        c->stats->bytes += job->req.src_len;
    }
    job->r.written = job->out_len;
    vcd_resp_encode(&job->r, job->resp);
    return next;
}

void vcd_job_release(VcdJob *job)
{
    g_free(job->out);
    job->out = NULL;
    job->out_len = 0;
}
