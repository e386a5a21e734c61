/*
 * virtio-cryptodev: handle table, request validation and execution
 *
 * Pure code (plain C and pthreads, no QEMU state): the QEMU device feeds it
 * the two byte streams of a descriptor chain and writes back what it
 * produces; the host unit tests and the fuzz harness drive it directly.
 *
 * Threading: vcd_core_begin(), vcd_core_end() and everything touching the
 * handle table run in one thread (QEMU's main loop). vcd_job_work() may run
 * on any thread, concurrently with other jobs and with the main thread; it
 * only touches its job and the session the job holds a reference on.
 *
 * Ordering: the jobs of one session run one at a time, in the order
 * vcd_core_begin() saw them (the avail-ring order, which is the order the
 * driver submitted them). A CRYPT whose session already has a job running
 * is VCD_WAIT: the core queues it on the session and hands it back from
 * vcd_core_end() of the job before it. Jobs of different sessions run in
 * parallel. Why here and not in the driver: the state that must not be
 * shared by two jobs at once (the running IV, later the running hash) lives
 * in the device, so every driver, the hostile test driver included, gets
 * cryptodev-linux's "the session is held for the whole operation" without
 * holding a lock across a round trip; and the guest keeps the ring full of
 * requests of one session instead of waiting for each answer.
 *
 * Copyright (c) 2026 The virtio-cryptodev lab authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_CRYPTODEV_CORE_H
#define HW_VIRTIO_CRYPTODEV_CORE_H

#include "cryptodev-proto.h"

/*
 * An engine executes the crypto of sessions. Lengths it is given have been
 * validated; cipher lengths are a multiple of the cipher block (16 for every
 * AES mode, CTR included: the core handles a partial last CTR block).
 * Returns 0 or a negative errno. ->cipher and ->hash may be called from
 * several threads at once, never for the same session at once (the core
 * runs one job of a session at a time).
 */
typedef struct VcdEngineOps {
    /* session_info driver name, e.g. "virtio-cryptodev-builtin" */
    const char *driver_name;
    uint32_t engine_id; /* enum virtio_cryptodev_engine */
    int (*session_new)(void *opaque, const VcdAlg *cipher,
                       const uint8_t *key, uint32_t keylen,
                       const VcdAlg *mac, const uint8_t *mackey,
                       uint32_t mackeylen, void **ctx);
    void (*session_free)(void *opaque, void *ctx);
    /* @iv: alg->iv_len bytes (NULL for ECB) */
    int (*cipher)(void *opaque, void *ctx, int encrypt, const uint8_t *iv,
                  const uint8_t *src, uint8_t *dst, size_t len);
    /*
     * Hash or HMAC of the session's running message: VCD_HASH_RESET starts
     * a new one, then @data is added; VCD_HASH_FINAL then writes the digest
     * (digest_len bytes) to @out and starts a new message.
     */
    int (*hash)(void *opaque, void *ctx, unsigned flags, const uint8_t *data,
                size_t len, uint8_t *out);
    /*
     * AEAD (AES-GCM sessions; @iv VCD_GCM_IV bytes, @aad @aad_len bytes):
     * encrypting, @len bytes of @src become @len bytes of ciphertext then
     * @tag_len bytes of tag at @dst; decrypting, @src is @len bytes of
     * ciphertext then the tag, and @dst gets @len bytes of plaintext, or
     * -EBADMSG when the tag does not check (@dst is then garbage).
     */
    int (*aead)(void *opaque, void *ctx, int encrypt, const uint8_t *iv,
                const uint8_t *aad, size_t aad_len, const uint8_t *src,
                size_t len, uint8_t *dst, size_t tag_len);
    /* frees the engine */
    void (*destroy)(void *opaque);
} VcdEngineOps;

typedef struct VcdEngine {
    const VcdEngineOps *ops;
    void *opaque;
} VcdEngine;

typedef struct VcdLimits {
    uint32_t max_handles;   /* 1 .. VCD_MAX_HANDLES_LIMIT */
    uint32_t max_sessions;  /* per handle */
    uint32_t max_data_len;  /* src_len of one CRYPT */
    uint32_t max_wire_version; /* 1 .. VIRTIO_CRYPTODEV_WIRE_VERSION_MAX */
} VcdLimits;

#define VCD_MAX_HANDLES_LIMIT  65535
#define VCD_MAX_DATA_LEN_LIMIT (64u << 20)

/* Counters, readable through QOM; updated by the main thread only. */
typedef struct VcdStats {
    uint64_t requests;
    uint64_t errors;
    uint64_t bytes;
    uint64_t handles_open;
    uint64_t sessions_open;
    uint64_t in_flight;
} VcdStats;

typedef struct VcdCore VcdCore;
typedef struct VcdSession VcdSession;

typedef enum VcdVerdict {
    VCD_DROP,   /* not even the response fits: complete with nothing written */
    VCD_DONE,   /* answered; vcd_core_end() then write the output */
    VCD_WORK,   /* a CRYPT or AUTHCRYPT: vcd_job_work() (any thread), */
                /* then vcd_core_end() */
    VCD_WAIT,   /* a (AUTH)CRYPT queued behind its session's running job: */
                /* vcd_core_end() of that job returns it, as VCD_WORK */
} VcdVerdict;

typedef struct VcdJob {
    /* decoded header; valid when the readable stream held one */
    VcdReq req;
    bool have_req;
    /* the writable stream: @out_len bytes of op output, then the response */
    uint8_t *out;
    size_t out_len;
    size_t writable;          /* the chain's writable size */
    uint8_t resp[sizeof(struct virtio_cryptodev_resp)];
    VcdResp r;
    /* CRYPT, AUTHCRYPT */
    VcdSession *ses;
    const uint8_t *iv;        /* into the caller's readable buffer */
    const uint8_t *src;
    /* AUTHCRYPT */
    VcdAead aead;
    const uint8_t *auth;      /* into the caller's readable buffer */
    const uint8_t *tag_in;    /* SRTP decrypt: the tag to check */
    struct VcdJob *wait_next; /* the session's queue of VCD_WAIT jobs */
} VcdJob;

/*
 * Takes ownership of @engine (freed by vcd_core_free()). @stats stays the
 * caller's.
 */
VcdCore *vcd_core_new(const VcdLimits *limits, VcdEngine engine,
                      VcdStats *stats);
/* Closes every handle and session. No job may be in flight. */
void vcd_core_reset(VcdCore *core);
void vcd_core_free(VcdCore *core);

/*
 * The largest readable stream a valid request can have; the caller need not
 * copy more than VCD_REQ_SIZE bytes of a longer one (it is refused).
 */
size_t vcd_core_max_readable(const VcdCore *core);

/*
 * Starts a request. @in holds the first @in_len bytes of the readable
 * stream, whose total size is @readable (@in_len == @readable unless
 * @readable > vcd_core_max_readable()); @writable is the writable stream's
 * size. @in must stay valid until vcd_core_end().
 */
VcdVerdict vcd_core_begin(VcdCore *core, VcdJob *job, const uint8_t *in,
                          size_t in_len, size_t readable, size_t writable);

/*
 * Runs a VCD_WORK job (or a VCD_WAIT job once vcd_core_end() returned it).
 */
void vcd_job_work(VcdCore *core, VcdJob *job);

/*
 * Finishes a job (main thread): drops its session reference, counts it,
 * encodes job->resp. The caller then writes job->out (job->out_len bytes,
 * at offset 0) and job->resp (at offset job->writable - VCD_RESP_SIZE) to
 * the writable stream, and calls vcd_job_release().
 * Returns the session's next queued job, which may run now (the caller
 * must run and end it), or NULL. A VcdJob must not move in memory while
 * it is queued.
 */
VcdJob *vcd_core_end(VcdCore *core, VcdJob *job);
void vcd_job_release(VcdJob *job);

#endif
