/*
 * virtio-cryptodev: wire format helpers and the algorithm table
 *
 * Pure code: no QEMU state, no allocation. Compiled into QEMU and, on its
 * own, into the host unit tests and the fuzz harness.
 *
 * Copyright (c) 2026 The virtio-cryptodev lab authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_CRYPTODEV_PROTO_H
#define HW_VIRTIO_CRYPTODEV_PROTO_H

#include "standard-headers/linux/virtio_cryptodev.h"

#define VCD_REQ_SIZE  ((size_t)sizeof(struct virtio_cryptodev_req))
#define VCD_RESP_SIZE ((size_t)sizeof(struct virtio_cryptodev_resp))
#define VCD_INFO_SIZE ((size_t)sizeof(struct virtio_cryptodev_session_info))

/* cryptodev-linux algorithm numbers the device implements */
#define VCD_CRYPTO_MD5_HMAC      6
#define VCD_CRYPTO_SHA1_HMAC     7
#define VCD_CRYPTO_AES_CBC       11
#define VCD_CRYPTO_MD5           13
#define VCD_CRYPTO_SHA1          14
#define VCD_CRYPTO_NULL          16
#define VCD_CRYPTO_SHA2_256_HMAC 18
#define VCD_CRYPTO_SHA2_384_HMAC 19
#define VCD_CRYPTO_SHA2_512_HMAC 20
#define VCD_CRYPTO_AES_CTR       21
#define VCD_CRYPTO_AES_ECB       23
#define VCD_CRYPTO_AES_GCM       50
#define VCD_CRYPTO_SHA2_224      103
#define VCD_CRYPTO_SHA2_256      104
#define VCD_CRYPTO_SHA2_384      105
#define VCD_CRYPTO_SHA2_512      106
#define VCD_CRYPTO_SHA2_224_HMAC 107

/* CRYPT flags a request of each version may carry */
#define VCD_FLAGS_V1 VIRTIO_CRYPTODEV_F_WRITE_IV
#define VCD_FLAGS_V2 (VCD_FLAGS_V1 | VIRTIO_CRYPTODEV_F_HASH_UPDATE | \
                      VIRTIO_CRYPTODEV_F_HASH_FINAL | \
                      VIRTIO_CRYPTODEV_F_HASH_RESET)

#define VCD_AES_BLOCK 16
#define VCD_GCM_IV    12
#define VCD_AEAD_SIZE ((size_t)sizeof(struct virtio_cryptodev_aead))

/* AUTHCRYPT flags (version 2) */
#define VCD_FLAGS_AUTHCRYPT (VIRTIO_CRYPTODEV_F_WRITE_IV | \
                             VIRTIO_CRYPTODEV_F_AEAD_TLS | \
                             VIRTIO_CRYPTODEV_F_AEAD_SRTP)

typedef enum VcdAlgKind {
    VCD_ALG_CIPHER = 1,
    VCD_ALG_HASH,
    VCD_ALG_HMAC,
} VcdAlgKind;

typedef enum VcdAlgMode {
    VCD_MODE_NULL = 1,
    VCD_MODE_AES_ECB,
    VCD_MODE_AES_CBC,
    VCD_MODE_AES_CTR,
    VCD_MODE_AES_GCM,       /* AUTHCRYPT only */
    VCD_MODE_MD5,
    VCD_MODE_SHA1,
    VCD_MODE_SHA224,
    VCD_MODE_SHA256,
    VCD_MODE_SHA384,
    VCD_MODE_SHA512,
} VcdAlgMode;

typedef struct VcdAlg {
    uint32_t id;            /* cryptodev-linux number */
    VcdAlgKind kind;
    VcdAlgMode mode;        /* for HMAC: the hash */
    uint16_t block_size;    /* data must be a multiple (1: any length) */
    uint16_t iv_len;
    uint16_t digest_len;
    const char *name;       /* Linux crypto API name, e.g. "cbc(aes)" */
} VcdAlg;

/* The cipher or hash/HMAC algorithm @id, or NULL if unknown. */
const VcdAlg *vcd_alg_find(uint32_t id, unsigned kind_mask);
#define VCD_FIND_CIPHER (1u << VCD_ALG_CIPHER)
#define VCD_FIND_MAC    ((1u << VCD_ALG_HASH) | (1u << VCD_ALG_HMAC))

/* Whether @keylen is a valid key length for @alg (0 or -EINVAL). */
int vcd_alg_check_key(const VcdAlg *alg, uint32_t keylen);

/* struct virtio_cryptodev_req, field by field, in host byte order. */
typedef struct VcdReq {
    uint16_t version;
    uint16_t op;
    uint32_t handle;
    uint64_t tag;
    uint32_t session;
    uint32_t cipher;
    uint32_t mac;
    uint32_t keylen;
    uint32_t mackeylen;
    uint16_t cop;
    uint16_t flags;
    uint32_t src_len;
    uint32_t iv_len;
    uint32_t dst_len;
    uint32_t iv_out_len;
    uint32_t mac_len;
    uint32_t reserved;
} VcdReq;

/*
 * Decodes the struct virtio_cryptodev_req at @buf (VCD_REQ_SIZE bytes, any
 * alignment).
 */
void vcd_req_decode(const void *buf, VcdReq *req);
/* Encodes @req into VCD_REQ_SIZE bytes (tests and the fuzz corpus). */
void vcd_req_encode(const VcdReq *req, void *buf);

/*
 * Checks what can be checked from the header alone: version (1 up to
 * @max_version), op, reserved fields, the key lengths against the wire
 * limits, the flags the request's version has. 0 or a negative errno.
 */
int vcd_req_check_header(const VcdReq *req, unsigned max_version);

/*
 * What a CRYPT does with a session's running hash (see the header):
 * VCD_HASH_RESET starts a new message first, VCD_HASH_FINAL writes the
 * digest after the data (and then starts a new message).
 */
#define VCD_HASH_RESET 1u
#define VCD_HASH_FINAL 2u
unsigned vcd_req_hash_flags(const VcdReq *req);

/* struct virtio_cryptodev_aead in host byte order */
typedef struct VcdAead {
    uint32_t auth_len;
    uint32_t tag_len;
    uint32_t src_offset;
    uint32_t reserved;
} VcdAead;

void vcd_aead_decode(const void *buf, VcdAead *aead);
void vcd_aead_encode(const VcdAead *aead, void *buf);

/* Whether @tag_len is a GCM tag length (4, 8, 12..16). */
bool vcd_gcm_tag_len_ok(uint32_t tag_len);

/* struct virtio_cryptodev_resp in host byte order (reserved fields: 0). */
typedef struct VcdResp {
    int32_t status;
    uint32_t id;
    uint64_t tag;
    uint32_t written;
    uint16_t block_size;
    uint16_t iv_len;
    uint16_t digest_len;
    uint32_t result_len;
} VcdResp;

/* To and from VCD_RESP_SIZE bytes at @buf (any alignment). */
void vcd_resp_encode(const VcdResp *resp, void *buf);
void vcd_resp_decode(const void *buf, VcdResp *resp);

/*
 * The IV that chains to the next request after a CRYPT of @len bytes with
 * @iv (the IV used): CBC: the last ciphertext block (of @dst when
 * encrypting, of @src when decrypting; @iv itself when @len is 0); CTR: the
 * counter advanced by the number of blocks used (a partial block counts);
 * other modes have no IV. Writes alg->iv_len bytes to @next.
 */
void vcd_next_iv(const VcdAlg *alg, int encrypt, const uint8_t *iv,
                 const uint8_t *src, const uint8_t *dst, size_t len,
                 uint8_t *next);

/* Adds @blocks to the 128-bit big-endian counter @ctr. */
void vcd_ctr_add(uint8_t *ctr, uint64_t blocks);

/* Copies @src as a NUL-terminated string into @dst of @size bytes. */
void vcd_strpad(char *dst, size_t size, const char *src);

#endif
