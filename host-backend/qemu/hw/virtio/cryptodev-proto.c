/*
 * virtio-cryptodev: wire format helpers and the algorithm table
 *
 * Copyright (c) 2026 The virtio-cryptodev lab authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
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
    { VCD_CRYPTO_AES_GCM, VCD_ALG_CIPHER, VCD_MODE_AES_GCM,
      1, VCD_GCM_IV, 0, "gcm(aes)" },
    { VCD_CRYPTO_MD5, VCD_ALG_HASH, VCD_MODE_MD5, 1, 0, 16, "md5" },
    { VCD_CRYPTO_SHA1, VCD_ALG_HASH, VCD_MODE_SHA1, 1, 0, 20, "sha1" },
    { VCD_CRYPTO_SHA2_224, VCD_ALG_HASH, VCD_MODE_SHA224, 1, 0, 28,
      "sha224" },
    { VCD_CRYPTO_SHA2_256, VCD_ALG_HASH, VCD_MODE_SHA256, 1, 0, 32,
      "sha256" },
    { VCD_CRYPTO_SHA2_384, VCD_ALG_HASH, VCD_MODE_SHA384, 1, 0, 48,
      "sha384" },
    { VCD_CRYPTO_SHA2_512, VCD_ALG_HASH, VCD_MODE_SHA512, 1, 0, 64,
      "sha512" },
    { VCD_CRYPTO_MD5_HMAC, VCD_ALG_HMAC, VCD_MODE_MD5, 1, 0, 16,
      "hmac(md5)" },
    { VCD_CRYPTO_SHA1_HMAC, VCD_ALG_HMAC, VCD_MODE_SHA1, 1, 0, 20,
      "hmac(sha1)" },
    { VCD_CRYPTO_SHA2_224_HMAC, VCD_ALG_HMAC, VCD_MODE_SHA224, 1, 0, 28,
      "hmac(sha224)" },
    { VCD_CRYPTO_SHA2_256_HMAC, VCD_ALG_HMAC, VCD_MODE_SHA256, 1, 0, 32,
      "hmac(sha256)" },
    { VCD_CRYPTO_SHA2_384_HMAC, VCD_ALG_HMAC, VCD_MODE_SHA384, 1, 0, 48,
      "hmac(sha384)" },
    { VCD_CRYPTO_SHA2_512_HMAC, VCD_ALG_HMAC, VCD_MODE_SHA512, 1, 0, 64,
      "hmac(sha512)" },
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
    case VCD_MODE_AES_GCM:
        return keylen == 16 || keylen == 24 || keylen == 32 ? 0 : -EINVAL;
    case VCD_MODE_NULL:
        /* cipher_null ignores its key; accept what fits the wire */
        return keylen <= VIRTIO_CRYPTODEV_MAX_KEY_LEN ? 0 : -EINVAL;
    case VCD_MODE_MD5:
    case VCD_MODE_SHA1:
    case VCD_MODE_SHA224:
    case VCD_MODE_SHA256:
    case VCD_MODE_SHA384:
    case VCD_MODE_SHA512:
        if (alg->kind == VCD_ALG_HASH) {
            return keylen == 0 ? 0 : -EINVAL;
        }
        return keylen <= VIRTIO_CRYPTODEV_MAX_MACKEY_LEN ? 0 : -EINVAL;
    }
    return -EINVAL;
}

/*
 * The wire structs are read and written through a local copy: the buffers
 * come from the guest's byte stream and need not be aligned.
 */
void vcd_req_decode(const void *buf, VcdReq *r)
{
    struct virtio_cryptodev_req w;

    memcpy(&w, buf, sizeof(w));
    r->version = lduw_le_p(&w.version);
    r->op = lduw_le_p(&w.op);
    r->handle = ldl_le_p(&w.handle);
    r->tag = ldq_le_p(&w.tag);
    r->session = ldl_le_p(&w.session);
    r->cipher = ldl_le_p(&w.cipher);
    r->mac = ldl_le_p(&w.mac);
    r->keylen = ldl_le_p(&w.keylen);
    r->mackeylen = ldl_le_p(&w.mackeylen);
    r->cop = lduw_le_p(&w.cop);
    r->flags = lduw_le_p(&w.flags);
    r->src_len = ldl_le_p(&w.src_len);
    r->iv_len = ldl_le_p(&w.iv_len);
    r->dst_len = ldl_le_p(&w.dst_len);
    r->iv_out_len = ldl_le_p(&w.iv_out_len);
    r->mac_len = ldl_le_p(&w.mac_len);
    r->reserved = ldl_le_p(&w.reserved);
}

void vcd_req_encode(const VcdReq *r, void *buf)
{
    struct virtio_cryptodev_req w;

    memset(&w, 0, sizeof(w));
    stw_le_p(&w.version, r->version);
    stw_le_p(&w.op, r->op);
    stl_le_p(&w.handle, r->handle);
    stq_le_p(&w.tag, r->tag);
    stl_le_p(&w.session, r->session);
    stl_le_p(&w.cipher, r->cipher);
    stl_le_p(&w.mac, r->mac);
    stl_le_p(&w.keylen, r->keylen);
    stl_le_p(&w.mackeylen, r->mackeylen);
    stw_le_p(&w.cop, r->cop);
    stw_le_p(&w.flags, r->flags);
    stl_le_p(&w.src_len, r->src_len);
    stl_le_p(&w.iv_len, r->iv_len);
    stl_le_p(&w.dst_len, r->dst_len);
    stl_le_p(&w.iv_out_len, r->iv_out_len);
    stl_le_p(&w.mac_len, r->mac_len);
    stl_le_p(&w.reserved, r->reserved);
    memcpy(buf, &w, sizeof(w));
}

int vcd_req_check_header(const VcdReq *r, unsigned max_version)
{
    if (r->version < VIRTIO_CRYPTODEV_WIRE_VERSION ||
        r->version > max_version) {
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
    case VIRTIO_CRYPTODEV_OP_AUTHCRYPT:
        if (r->version < 2) {
            return -EOPNOTSUPP; /* as a v1 device: no such op */
        }
        if (r->cop != VIRTIO_CRYPTODEV_COP_ENCRYPT &&
            r->cop != VIRTIO_CRYPTODEV_COP_DECRYPT) {
            return -EINVAL;
        }
        if ((r->flags & ~VCD_FLAGS_AUTHCRYPT) ||
            ((r->flags & VIRTIO_CRYPTODEV_F_AEAD_TLS) &&
             (r->flags & VIRTIO_CRYPTODEV_F_AEAD_SRTP))) {
            return -EINVAL;
        }
        if (r->iv_len > VIRTIO_CRYPTODEV_MAX_IV_LEN ||
            r->iv_out_len > VIRTIO_CRYPTODEV_MAX_IV_LEN || r->mac_len) {
            return -EINVAL;
        }
        return 0;
    case VIRTIO_CRYPTODEV_OP_CRYPT:
        if (r->cop != VIRTIO_CRYPTODEV_COP_ENCRYPT &&
            r->cop != VIRTIO_CRYPTODEV_COP_DECRYPT) {
            return -EINVAL;
        }
        if (r->flags & ~(r->version >= 2 ? VCD_FLAGS_V2 : VCD_FLAGS_V1)) {
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

unsigned vcd_req_hash_flags(const VcdReq *r)
{
    unsigned f = 0;

    if (r->version < 2) {
        return VCD_HASH_RESET | VCD_HASH_FINAL; /* one whole message */
    }
    if (r->flags & VIRTIO_CRYPTODEV_F_HASH_RESET) {
        f |= VCD_HASH_RESET;
    }
    /* as cryptodev-linux: an UPDATE of no data finishes the message too */
    if ((r->flags & VIRTIO_CRYPTODEV_F_HASH_FINAL) ||
        !(r->flags & VIRTIO_CRYPTODEV_F_HASH_UPDATE) || r->src_len == 0) {
        f |= VCD_HASH_FINAL;
    }
    return f;
}

void vcd_resp_encode(const VcdResp *r, void *buf)
{
    struct virtio_cryptodev_resp w;

    memset(&w, 0, sizeof(w));
    stl_le_p(&w.status, (uint32_t)r->status);
    stl_le_p(&w.id, r->id);
    stq_le_p(&w.tag, r->tag);
    stl_le_p(&w.written, r->written);
    stw_le_p(&w.block_size, r->block_size);
    stw_le_p(&w.iv_len, r->iv_len);
    stw_le_p(&w.digest_len, r->digest_len);
    stl_le_p(&w.result_len, r->result_len);
    memcpy(buf, &w, sizeof(w));
}

void vcd_resp_decode(const void *buf, VcdResp *r)
{
    struct virtio_cryptodev_resp w;

    memcpy(&w, buf, sizeof(w));
    r->status = (int32_t)ldl_le_p(&w.status);
    r->id = ldl_le_p(&w.id);
    r->tag = ldq_le_p(&w.tag);
    r->written = ldl_le_p(&w.written);
    r->block_size = lduw_le_p(&w.block_size);
    r->iv_len = lduw_le_p(&w.iv_len);
    r->digest_len = lduw_le_p(&w.digest_len);
    r->result_len = ldl_le_p(&w.result_len);
}

void vcd_aead_decode(const void *buf, VcdAead *a)
{
    struct virtio_cryptodev_aead w;

    memcpy(&w, buf, sizeof(w));
    a->auth_len = ldl_le_p(&w.auth_len);
    a->tag_len = ldl_le_p(&w.tag_len);
    a->src_offset = ldl_le_p(&w.src_offset);
    a->reserved = ldl_le_p(&w.reserved);
}

void vcd_aead_encode(const VcdAead *a, void *buf)
{
    struct virtio_cryptodev_aead w;

    memset(&w, 0, sizeof(w));
    stl_le_p(&w.auth_len, a->auth_len);
    stl_le_p(&w.tag_len, a->tag_len);
    stl_le_p(&w.src_offset, a->src_offset);
    stl_le_p(&w.reserved, a->reserved);
    memcpy(buf, &w, sizeof(w));
}

bool vcd_gcm_tag_len_ok(uint32_t tag_len)
{
    return tag_len == 4 || tag_len == 8 || (tag_len >= 12 && tag_len <= 16);
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
