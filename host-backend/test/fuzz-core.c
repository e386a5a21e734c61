/*
 * libFuzzer harness for the virtio-cryptodev request decoder/validator and
 * the handle table behind it (clang -fsanitize=fuzzer,address,undefined).
 *
 * The input is a script of requests fed to one device core (host engine on
 * the in-process fake /dev/crypto). Each step either passes raw bytes as
 * the readable stream with an arbitrary writable size, or builds a header
 * from the input and patches in a handle/session the device handed out
 * earlier and stream sizes that match (so the fuzzer gets past the first
 * checks). CRYPT jobs may be left in flight while later requests close
 * their handle or free their session. Invariants checked (abort = finding):
 * output never exceeds the writable stream, a dropped request only when
 * the response cannot fit, every error negative, nothing left open on the
 * host after the core is freed.
 */
#include "fake-devcrypto.h"

#define MAX_PENDING 4
#define MAX_JOBS 80

/* A job on the heap: the core links queued jobs, they must not move. */
typedef struct Pending {
    VcdJob job;
    uint8_t *in;
    bool waiting;           /* VCD_WAIT: not runnable until handed back */
} Pending;

typedef struct Fuzz {
    const uint8_t *p;
    size_t left;
    uint32_t handles[8];
    uint32_t sessions[8];
    unsigned nh, ns;
} Fuzz;

static uint8_t take8(Fuzz *f)
{
    uint8_t v = 0;

    if (f->left) {
        v = *f->p++;
        f->left--;
    }
    return v;
}

static uint16_t take16(Fuzz *f)
{
    return take8(f) | (take8(f) << 8);
}

static void check_job(const VcdJob *job)
{
    if (job->writable < VCD_RESP_SIZE ||
        job->out_len > job->writable - VCD_RESP_SIZE) {
        abort();
    }
    if (job->r.status > 0 || (job->r.status < 0 && job->out_len)) {
        abort();
    }
}

static VcdJob *finish(VcdCore *core, Fuzz *f, VcdJob *job)
{
    uint8_t *w;
    VcdJob *next = vcd_core_end(core, job);

    check_job(job);
    /* write back as the device does, into a buffer of the exact size */
    w = malloc(job->writable);
    if (job->out_len) {
        memcpy(w, job->out, job->out_len);
    }
    memcpy(w + job->writable - VCD_RESP_SIZE, job->resp, VCD_RESP_SIZE);
    free(w);
    if (job->r.status == 0 && job->have_req) {
        if (job->req.op == VIRTIO_CRYPTODEV_OP_OPEN) {
            f->handles[f->nh++ % 8] = job->r.id;
        } else if (job->req.op == VIRTIO_CRYPTODEV_OP_CREATE_SESSION) {
            f->sessions[f->ns++ % 8] = job->r.id;
        }
    }
    vcd_job_release(job);
    return next;
}

/* Runs @p, then every job its session hands back, freeing each. */
static void run_chain(VcdCore *core, Fuzz *f, Pending *p)
{
    while (p) {
        VcdJob *next;

        vcd_job_work(core, &p->job);
        next = finish(core, f, &p->job);
        free(p->in);
        free(p);
        p = next ? container_of(next, Pending, job) : NULL;
        if (p && !p->waiting) {
            abort(); /* handed back a job that was not queued */
        }
        if (p) {
            p->waiting = false;
        }
    }
}

/*
 * Input sizes a header (and, for AUTHCRYPT, its struct virtio_cryptodev_aead
 * @a) implies, as the driver would build them.
 */
static void sizes_for(const VcdReq *r, const VcdAead *a, size_t *in,
                      size_t *out)
{
    bool srtp = r->flags & VIRTIO_CRYPTODEV_F_AEAD_SRTP;
    bool enc = r->cop == VIRTIO_CRYPTODEV_COP_ENCRYPT;

    *in = VCD_REQ_SIZE;
    *out = VCD_RESP_SIZE;
    switch (r->op) {
    case VIRTIO_CRYPTODEV_OP_AUTHCRYPT:
        *in += VCD_AEAD_SIZE + (size_t)r->iv_len + a->auth_len +
               (srtp ? (enc ? 0 : a->tag_len) : r->src_len);
        *out += (size_t)r->dst_len + r->iv_out_len +
                (srtp && enc ? a->tag_len : 0);
        break;
    case VIRTIO_CRYPTODEV_OP_CREATE_SESSION:
        *in += (size_t)r->keylen + r->mackeylen;
        break;
    case VIRTIO_CRYPTODEV_OP_CRYPT:
        *in += (size_t)r->iv_len + r->src_len;
        *out += (size_t)r->dst_len + r->iv_out_len + r->mac_len;
        break;
    case VIRTIO_CRYPTODEV_OP_SESSION_INFO:
        *out += VCD_INFO_SIZE;
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FakeDevCrypto fake;
    VcdHostOps ops;
    VcdEngine eng;
    VcdStats st;
    VcdLimits lim = { 8, 8, 4096 };
    VcdCore *core;
    Pending *pend[MAX_JOBS];
    unsigned npend = 0, i, steps = 0;
    Fuzz f = { .p = data, .left = size };

    memset(&fake, 0, sizeof(fake));
    memset(&st, 0, sizeof(st));
    fake.path = "/dev/crypto";
    fake_devcrypto_ops(&fake, &ops);
    if (vcd_engine_host_new(&ops, "/dev/crypto", &eng) < 0) {
        abort();
    }
    core = vcd_core_new(&lim, eng, &st);

    while (f.left && steps++ < 64) {
        uint8_t mode = take8(&f);
        size_t readable, writable, copy;
        uint8_t *in;
        Pending *p;
        VcdVerdict v;
        VcdReq r;

        if ((mode & 3) == 0) {
            /* raw streams */
            readable = take16(&f) % 8192;
            writable = take16(&f) % 8192;
            in = calloc(1, readable ? readable : 1);
            copy = readable < f.left ? readable : f.left;
            memcpy(in, f.p, copy);
            f.p += copy;
            f.left -= copy;
        } else {
            uint8_t hdr[VCD_REQ_SIZE + VCD_AEAD_SIZE] = { 0 };
            size_t payload, hlen = VCD_REQ_SIZE;
            VcdAead a;

            copy = f.left < sizeof(hdr) ? f.left : sizeof(hdr);
            memcpy(hdr, f.p, copy);
            f.p += copy;
            f.left -= copy;
            vcd_req_decode(hdr, &r);
            /* versions 1 and 2 (3 now and then: -EPROTO) */
            r.version = 1 + r.version % 3;
            r.op = 1 + r.op % 8;
            if (mode & 4) {
                r.reserved = 0;
            }
            if ((mode & 8) && f.nh) {
                r.handle = f.handles[r.handle % (f.nh < 8 ? f.nh : 8)];
            }
            if ((mode & 16) && f.ns) {
                r.session = f.sessions[r.session % (f.ns < 8 ? f.ns : 8)];
            }
            if (mode & 32) {
                /* plausible lengths */
                r.keylen %= 40;
                r.mackeylen %= 80;
                r.src_len %= 600;
                r.iv_len %= 20;
                r.dst_len = (mode & 64) ? r.src_len : r.dst_len % 600;
                r.iv_out_len %= 20;
                r.mac_len %= 40;
                r.cipher %= 60;
                r.mac %= 110;
                r.cop &= 1;
                r.flags &= 0x3f;
            }
            memset(&a, 0, sizeof(a));
            if (r.op == VIRTIO_CRYPTODEV_OP_AUTHCRYPT) {
                copy = f.left < VCD_AEAD_SIZE ? f.left : VCD_AEAD_SIZE;
                memcpy(hdr + VCD_REQ_SIZE, f.p, copy);
                f.p += copy;
                f.left -= copy;
                vcd_aead_decode(hdr + VCD_REQ_SIZE, &a);
                if (mode & 32) {
                    a.auth_len %= 100;
                    a.tag_len %= 24;
                    a.src_offset %= 40;
                    a.reserved = 0;
                }
                vcd_aead_encode(&a, hdr + VCD_REQ_SIZE);
                hlen += VCD_AEAD_SIZE;
            }
            vcd_req_encode(&r, hdr);
            sizes_for(&r, &a, &readable, &writable);
            if (readable > 16384 || writable > 16384) {
                readable = VCD_REQ_SIZE;
                writable = VCD_RESP_SIZE;
            }
            if (mode & 128) {
                /* off by a little, either way */
                int8_t d = (int8_t)take8(&f);

                if (d & 1) {
                    readable = (size_t)((ssize_t)readable + (d >> 1)) % 16384;
                } else {
                    writable = (size_t)((ssize_t)writable + (d >> 1)) % 16384;
                }
            }
            in = calloc(1, readable > hlen ? readable : hlen);
            memcpy(in, hdr, hlen);
            payload = readable > hlen ? readable - hlen : 0;
            copy = payload < f.left ? payload : f.left;
            memcpy(in + hlen, f.p, copy);
            f.p += copy;
            f.left -= copy;
        }

        copy = readable;
        if (copy > vcd_core_max_readable(core)) {
            copy = copy < VCD_REQ_SIZE ? copy : VCD_REQ_SIZE;
        }
        p = calloc(1, sizeof(*p));
        p->in = in;
        v = vcd_core_begin(core, &p->job, in, copy, readable, writable);
        if (v == VCD_DROP) {
            if (writable >= VCD_RESP_SIZE) {
                abort();
            }
            free(in);
            free(p);
            continue;
        }
        if (v == VCD_WAIT) {
            /* held by the core until the job before it ends */
            p->waiting = true;
            continue;
        }
        if (v == VCD_WORK && (mode & 2) && npend < MAX_PENDING) {
            /* leave it in flight for a while */
            pend[npend++] = p;
            continue;
        }
        if (v == VCD_WORK) {
            run_chain(core, &f, p);
        } else {
            finish(core, &f, &p->job);
            free(in);
            free(p);
        }
        if (npend && (mode & 0x40)) {
            run_chain(core, &f, pend[--npend]);
        }
    }
    for (i = 0; i < npend; i++) {
        run_chain(core, &f, pend[i]);
    }
    if (st.in_flight != 0) {
        abort();
    }
    vcd_core_free(core);
    if (st.handles_open || st.sessions_open || fake.sessions || fake.opens) {
        abort(); /* a leak */
    }
    return 0;
}
