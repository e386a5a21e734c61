/*
 * virtio-cryptodev: wire format helpers and the algorithm table
 *
 * Copyright (c) 2026 The virtio-cryptodev lab authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "cryptodev-proto.h"

static const VcdAlg vcd_algs[] = {
    { VCD_CRYPTO_AES_CBC, VCD_ALG_CIPHER, VCD_MODE_AES_CBC,
      VCD_AES_BLOCK, VCD_AES_BLOCK, 0, "cbc(aes)" },
    { VCD_CRYPTO_AES_ECB, VCD_ALG_CIPHER, VCD_MODE_AES_ECB,
      VCD_AES_BLOCK, 0, 0, "ecb(aes)" },
    { VCD_CRYPTO_AES_CTR, VCD_ALG_CIPHER, VCD_MODE_AES_CTR,
      1, VCD_AES_BLOCK, 0, "ctr(aes)" },
    { VCD_CRYPTO_NULL, VCD_ALG_CIPHER, VCD_MODE_NULL,
      1, 0, 0, "ecb(cipher_null)" },
    { VCD_CRYPTO_SHA1, VCD_ALG_HASH, VCD_MODE_SHA1, 1, 0, 20, "sha1" },
    { VCD_CRYPTO_SHA2_256, VCD_ALG_HASH, VCD_MODE_SHA256, 1, 0, 32,
      "sha256" },
    { VCD_CRYPTO_SHA1_HMAC, VCD_ALG_HMAC, VCD_MODE_SHA1, 1, 0, 20,
      "hmac(sha1)" },
    { VCD_CRYPTO_SHA2_256_HMAC, VCD_ALG_HMAC, VCD_MODE_SHA256, 1, 0, 32,
      "hmac(sha256)" },
};

const VcdAlg *vcd_alg_find(uint32_t id, unsigned kind_mask)
{
    size_t i;

    for (i = 0; i < sizeof(vcd_algs) / sizeof(vcd_algs[0]); i++) {
        if (vcd_algs[i].id == id && (kind_mask & (1u << vcd_algs[i].kind))) {
            return &vcd_algs[i];
        }
    }
    return NULL;
}

int vcd_alg_check_key(const VcdAlg *alg, uint32_t keylen)
{
    switch (alg->mode) {
    case VCD_MODE_AES_ECB:
    case VCD_MODE_AES_CBC:
    case VCD_MODE_AES_CTR:
        return keylen == 16 || keylen == 24 || keylen == 32 ? 0 : -EINVAL;
    case VCD_MODE_NULL:
        /* cipher_null ignores its key; accept what fits the wire */
        return keylen <= VIRTIO_CRYPTODEV_MAX_KEY_LEN ? 0 : -EINVAL;
    case VCD_MODE_SHA1:
    case VCD_MODE_SHA256:
        if (alg->kind == VCD_ALG_HASH) {
            return keylen == 0 ? 0 : -EINVAL;
        }
        return keylen <= VIRTIO_CRYPTODEV_MAX_MACKEY_LEN ? 0 : -EINVAL;
    }
    return -EINVAL;
}

void vcd_req_decode(const uint8_t *b, VcdReq *r)
{
    r->version = vcd_ld16(b + 0);
    r->op = vcd_ld16(b + 2);
    r->handle = vcd_ld32(b + 4);
    r->tag = vcd_ld64(b + 8);
    r->session = vcd_ld32(b + 16);
    r->cipher = vcd_ld32(b + 20);
    r->mac = vcd_ld32(b + 24);
    r->keylen = vcd_ld32(b + 28);
    r->mackeylen = vcd_ld32(b + 32);
    r->cop = vcd_ld16(b + 36);
    r->flags = vcd_ld16(b + 38);
    r->src_len = vcd_ld32(b + 40);
    r->iv_len = vcd_ld32(b + 44);
    r->dst_len = vcd_ld32(b + 48);
    r->iv_out_len = vcd_ld32(b + 52);
    r->mac_len = vcd_ld32(b + 56);
    r->reserved = vcd_ld32(b + 60);
}

void vcd_req_encode(const VcdReq *r, uint8_t *b)
{
    vcd_st16(b + 0, r->version);
    vcd_st16(b + 2, r->op);
    vcd_st32(b + 4, r->handle);
    vcd_st64(b + 8, r->tag);
    vcd_st32(b + 16, r->session);
    vcd_st32(b + 20, r->cipher);
    vcd_st32(b + 24, r->mac);
    vcd_st32(b + 28, r->keylen);
    vcd_st32(b + 32, r->mackeylen);
    vcd_st16(b + 36, r->cop);
    vcd_st16(b + 38, r->flags);
    vcd_st32(b + 40, r->src_len);
    vcd_st32(b + 44, r->iv_len);
    vcd_st32(b + 48, r->dst_len);
    vcd_st32(b + 52, r->iv_out_len);
    vcd_st32(b + 56, r->mac_len);
    vcd_st32(b + 60, r->reserved);
}

int vcd_req_check_header(const VcdReq *r)
{
    if (r->version != VIRTIO_CRYPTODEV_WIRE_VERSION) {
        return -EPROTO;
    }
    if (r->reserved != 0) {
        return -EINVAL;
    }
    switch (r->op) {
    case VIRTIO_CRYPTODEV_OP_OPEN:
        return r->handle == 0 ? 0 : -EINVAL;
    case VIRTIO_CRYPTODEV_OP_CLOSE:
    case VIRTIO_CRYPTODEV_OP_FREE_SESSION:
    case VIRTIO_CRYPTODEV_OP_SESSION_INFO:
        return 0;
    case VIRTIO_CRYPTODEV_OP_CREATE_SESSION:
        if (r->keylen > VIRTIO_CRYPTODEV_MAX_KEY_LEN ||
            r->mackeylen > VIRTIO_CRYPTODEV_MAX_MACKEY_LEN) {
            return -EINVAL;
        }
        return 0;
    case VIRTIO_CRYPTODEV_OP_CRYPT:
        if (r->cop != VIRTIO_CRYPTODEV_COP_ENCRYPT &&
            r->cop != VIRTIO_CRYPTODEV_COP_DECRYPT) {
            return -EINVAL;
        }
        if (r->flags & ~VIRTIO_CRYPTODEV_F_WRITE_IV) {
            return -EINVAL;
        }
        if (r->iv_len > VIRTIO_CRYPTODEV_MAX_IV_LEN ||
            r->iv_out_len > VIRTIO_CRYPTODEV_MAX_IV_LEN ||
            r->mac_len > VIRTIO_CRYPTODEV_MAX_DIGEST_LEN) {
            return -EINVAL;
        }
        return 0;
    default:
        return -EOPNOTSUPP;
    }
}

void vcd_resp_encode(const VcdResp *r, uint8_t *b)
{
    memset(b, 0, VCD_RESP_SIZE);
    vcd_st32(b + 0, (uint32_t)r->status);
    vcd_st32(b + 4, r->id);
    vcd_st64(b + 8, r->tag);
    vcd_st32(b + 16, r->written);
    vcd_st16(b + 20, r->block_size);
    vcd_st16(b + 22, r->iv_len);
    vcd_st16(b + 24, r->digest_len);
}

void vcd_resp_decode(const uint8_t *b, VcdResp *r)
{
    r->status = (int32_t)vcd_ld32(b + 0);
    r->id = vcd_ld32(b + 4);
    r->tag = vcd_ld64(b + 8);
    r->written = vcd_ld32(b + 16);
    r->block_size = vcd_ld16(b + 20);
    r->iv_len = vcd_ld16(b + 22);
    r->digest_len = vcd_ld16(b + 24);
}

void vcd_ctr_add(uint8_t *ctr, uint64_t blocks)
{
    int i;
    unsigned carry = 0;

    for (i = VCD_AES_BLOCK - 1; i >= 0; i--) {
        unsigned sum = ctr[i] + (unsigned)(blocks & 0xff) + carry;

        ctr[i] = sum & 0xff;
        carry = sum >> 8;
        blocks >>= 8;
        if (!blocks && !carry) {
            break;
        }
    }
}

void vcd_next_iv(const VcdAlg *alg, int encrypt, const uint8_t *iv,
                 const uint8_t *src, const uint8_t *dst, size_t len,
                 uint8_t *next)
{
    switch (alg->mode) {
    case VCD_MODE_AES_CBC:
        if (len < VCD_AES_BLOCK) {
            memcpy(next, iv, VCD_AES_BLOCK);
        } else {
            memcpy(next, (encrypt ? dst : src) + len - VCD_AES_BLOCK,
                   VCD_AES_BLOCK);
        }
        break;
    case VCD_MODE_AES_CTR:
        memcpy(next, iv, VCD_AES_BLOCK);
        vcd_ctr_add(next, (len + VCD_AES_BLOCK - 1) / VCD_AES_BLOCK);
        break;
    default:
        break;
    }
}

void vcd_strpad(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size) {
        n = size - 1;
    }
    memset(dst, 0, size);
    memcpy(dst, src, n);
}
