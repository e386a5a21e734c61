/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause */
/*
 * The cryptodev-linux ioctl ABI (/dev/crypto), written for this lab from
 * the published ABI so that programs built for cryptodev-linux run unchanged
 * against /dev/cryptodevN. Layouts are checked at the end for x86-64.
 *
 * Used by the guest driver (user <-> kernel), the guest test programs and
 * the chat's native binding, and by the QEMU device's host engine, which
 * speaks the same ABI to the host's /dev/crypto.
 */
#ifndef CRYPTODEV_ABI_H
#define CRYPTODEV_ABI_H

#include <linux/types.h>
#include <linux/ioctl.h>
#ifndef __KERNEL__
#define __user
#endif

#define CRYPTODEV_MAX_ALG_NAME		64
#define CRYPTO_HMAC_MAX_KEY_LEN		512
#define CRYPTO_CIPHER_MAX_KEY_LEN	64
#define EALG_MAX_BLOCK_LEN		16	/* largest block / IV size */
#define AALG_MAX_RESULT_LEN		64	/* largest digest size */

/* Algorithm numbers (session_op.cipher / session_op.mac). */
enum cryptodev_crypto_op_t {
	CRYPTO_DES_CBC = 1,
	CRYPTO_3DES_CBC = 2,
	CRYPTO_BLF_CBC = 3,
	CRYPTO_CAST_CBC = 4,
	CRYPTO_SKIPJACK_CBC = 5,
	CRYPTO_MD5_HMAC = 6,
	CRYPTO_SHA1_HMAC = 7,
	CRYPTO_RIPEMD160_HMAC = 8,
	CRYPTO_MD5_KPDK = 9,
	CRYPTO_SHA1_KPDK = 10,
	CRYPTO_RIJNDAEL128_CBC = 11,
	CRYPTO_AES_CBC = CRYPTO_RIJNDAEL128_CBC,
	CRYPTO_ARC4 = 12,
	CRYPTO_MD5 = 13,
	CRYPTO_SHA1 = 14,
	CRYPTO_DEFLATE_COMP = 15,
	CRYPTO_NULL = 16,
	CRYPTO_LZS_COMP = 17,
	CRYPTO_SHA2_256_HMAC = 18,
	CRYPTO_SHA2_384_HMAC = 19,
	CRYPTO_SHA2_512_HMAC = 20,
	CRYPTO_AES_CTR = 21,
	CRYPTO_AES_XTS = 22,
	CRYPTO_AES_ECB = 23,
	CRYPTO_AES_GCM = 50,
	CRYPTO_CAMELLIA_CBC = 101,
	CRYPTO_RIPEMD160 = 102,
	CRYPTO_SHA2_224 = 103,
	CRYPTO_SHA2_256 = 104,
	CRYPTO_SHA2_384 = 105,
	CRYPTO_SHA2_512 = 106,
	CRYPTO_SHA2_224_HMAC = 107,
	CRYPTO_TLS11_AES_CBC_HMAC_SHA1 = 108,
	CRYPTO_TLS12_AES_CBC_HMAC_SHA256 = 109,
	CRYPTO_ALGORITHM_ALL,
};

#define CRYPTO_ALGORITHM_MAX	(CRYPTO_ALGORITHM_ALL - 1)

/* CIOCGSESSION: a cipher and/or a hash/HMAC session. */
struct session_op {
	__u32 cipher;		/* enum cryptodev_crypto_op_t, or 0 */
	__u32 mac;		/* enum cryptodev_crypto_op_t, or 0 */
	__u32 keylen;
	__u8 __user *key;
	__u32 mackeylen;
	__u8 __user *mackey;
	__u32 ses;		/* out: session id */
};

struct alg_info {
	char cra_name[CRYPTODEV_MAX_ALG_NAME];
	char cra_driver_name[CRYPTODEV_MAX_ALG_NAME];
};

/* CIOCGSESSINFO */
struct session_info_op {
	__u32 ses;		/* in: session id */
	struct alg_info cipher_info, hash_info;
	__u16 alignmask;	/* required alignment of buffers, minus one */
	__u32 flags;		/* SIOP_FLAG_* */
};

/* The algorithm runs on a driver only the kernel can use (e.g. a device). */
#define SIOP_FLAG_KERNEL_DRIVER_ONLY	1

#define COP_ENCRYPT	0
#define COP_DECRYPT	1

/* CIOCCRYPT */
struct crypt_op {
	__u32 ses;
	__u16 op;		/* COP_ENCRYPT or COP_DECRYPT */
	__u16 flags;		/* COP_FLAG_* */
	__u32 len;		/* bytes at src (and dst) */
	__u8 __user *src;
	__u8 __user *dst;
	__u8 __user *mac;	/* hash/HMAC result, digest size bytes */
	__u8 __user *iv;
};

/* CIOCAUTHCRYPT (AEAD) */
struct crypt_auth_op {
	__u32 ses;
	__u16 op;
	__u16 flags;
	__u32 len;
	__u32 auth_len;
	__u8 __user *auth_src;
	__u8 __user *src;
	__u8 __user *dst;
	__u8 __user *tag;
	__u32 tag_len;
	__u8 __user *iv;
	__u32 iv_len;
};

#define COP_FLAG_NONE		(0 << 0)
#define COP_FLAG_UPDATE		(1 << 0)	/* multi-part hash: update */
#define COP_FLAG_FINAL		(1 << 1)	/* multi-part hash: final */
#define COP_FLAG_WRITE_IV	(1 << 2)	/* write the next IV back to iv */
#define COP_FLAG_NO_ZC		(1 << 3)	/* no zero copy (a hint) */
#define COP_FLAG_AEAD_TLS_TYPE	(1 << 4)
#define COP_FLAG_AEAD_SRTP_TYPE	(1 << 5)
#define COP_FLAG_RESET		(1 << 6)	/* multi-part hash: restart */

#define CRIOGET		_IOWR('c', 101, __u32)
#define CIOCGSESSION	_IOWR('c', 102, struct session_op)
#define CIOCFSESSION	_IOW('c', 103, __u32)
#define CIOCCRYPT	_IOWR('c', 104, struct crypt_op)
#define CIOCASYMFEAT	_IOR('c', 106, __u32)
#define CIOCGSESSINFO	_IOWR('c', 107, struct session_info_op)
#define CIOCAUTHCRYPT	_IOWR('c', 109, struct crypt_auth_op)

#if defined(__x86_64__)
#ifdef __cplusplus
#define CRYPTODEV_ABI_CHECK(cond, what) static_assert(cond, what)
#else
#define CRYPTODEV_ABI_CHECK(cond, what) _Static_assert(cond, what)
#endif
CRYPTODEV_ABI_CHECK(sizeof(struct session_op) == 48, "session_op size");
CRYPTODEV_ABI_CHECK(__builtin_offsetof(struct session_op, key) == 16,
		    "session_op.key");
CRYPTODEV_ABI_CHECK(__builtin_offsetof(struct session_op, mackey) == 32,
		    "session_op.mackey");
CRYPTODEV_ABI_CHECK(__builtin_offsetof(struct session_op, ses) == 40,
		    "session_op.ses");
CRYPTODEV_ABI_CHECK(sizeof(struct crypt_op) == 48, "crypt_op size");
CRYPTODEV_ABI_CHECK(__builtin_offsetof(struct crypt_op, src) == 16,
		    "crypt_op.src");
CRYPTODEV_ABI_CHECK(__builtin_offsetof(struct crypt_op, iv) == 40,
		    "crypt_op.iv");
CRYPTODEV_ABI_CHECK(sizeof(struct session_info_op) == 268,
		    "session_info_op size");
CRYPTODEV_ABI_CHECK(__builtin_offsetof(struct session_info_op, alignmask) ==
		    260, "session_info_op.alignmask");
CRYPTODEV_ABI_CHECK(sizeof(struct crypt_auth_op) == 72, "crypt_auth_op size");
CRYPTODEV_ABI_CHECK(__builtin_offsetof(struct crypt_auth_op, iv_len) == 64,
		    "crypt_auth_op.iv_len");
#endif

#endif /* CRYPTODEV_ABI_H */
