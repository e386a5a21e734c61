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
 * Returns 0 or a negative errno. ->cipher and ->digest may be called from
 * several threads at once, also for the same session.
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
    /* hash or HMAC of @data into @out (digest_len bytes) */
    int (*digest)(void *opaque, void *ctx, const uint8_t *data, size_t len,
                  uint8_t *out);
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
    VCD_WORK,   /* a CRYPT: vcd_job_work() (any thread), then vcd_core_end() */
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
    /* CRYPT */
    VcdSession *ses;
    const uint8_t *iv;        /* into the caller's readable buffer */
    const uint8_t *src;
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

/* Runs a VCD_WORK job. */
void vcd_job_work(VcdCore *core, VcdJob *job);

/*
 * Finishes a job (main thread): drops its session reference, counts it,
 * encodes job->resp. The caller then writes job->out (job->out_len bytes,
 * at offset 0) and job->resp (at offset job->writable - VCD_RESP_SIZE) to
 * the writable stream, and calls vcd_job_release().
 */
void vcd_core_end(VcdCore *core, VcdJob *job);
void vcd_job_release(VcdJob *job);

#endif
