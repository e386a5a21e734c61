/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause */
/*
 * virtio-cryptodev wire format, versions 1 and 2.
 *
 * The one definition of what crosses the virtqueue between the guest driver
 * (guest-driver/) and the QEMU device (host-backend/). Both builds include
 * this very file; the QEMU build copies it to
 * include/standard-headers/linux/virtio_cryptodev.h of its tree and the
 * exported patch carries that copy, generated from here.
 *
 * Everything is fixed width and little endian. No pointer, host file
 * descriptor or host address ever crosses: the device hands out opaque
 * handle and session numbers and keeps the real objects in its own tables.
 *
 * A request is one descriptor chain:
 *
 *   device-readable:  struct virtio_cryptodev_req, then the op's input
 *   device-writable:  the op's output, then struct virtio_cryptodev_resp
 *
 * The device treats each direction as one byte stream, however the driver
 * split it into descriptors, and reads the whole readable stream before it
 * writes any of the writable one: both may name the same guest memory (a
 * CRYPT in place, src == dst). The sizes of both streams follow from the
 * request header alone; a chain whose sizes differ from that is answered
 * -EINVAL (when the response still fits) and otherwise dropped with
 * nothing written, so the device never reads or writes past a buffer.
 *
 *   op              input (after the header)     output (before the resp)
 *   OPEN            -                            -
 *   CLOSE           -                            -
 *   CREATE_SESSION  key[keylen] mackey[mackeylen] -
 *   FREE_SESSION    -                            -
 *   CRYPT           iv[iv_len] src[src_len]      dst[dst_len] iv[iv_out_len]
 *                                                mac[mac_len]
 *   SESSION_INFO    -                            struct
 *                                                virtio_cryptodev_session_info
 *   AUTHCRYPT (v2)  struct virtio_cryptodev_aead dst[dst_len]
 *                   iv[iv_len] auth[auth_len]    tag (SRTP encrypt: tag_len)
 *                   src[src_len] (not SRTP)      iv[iv_out_len]
 *                   tag (SRTP decrypt: tag_len)
 *
 * Versions. Every request carries the version it is written in; the
 * config space says which the device speaks: wire_version (1) and
 * max_wire_version (2; 0 on a device that predates it, which then speaks
 * 1 only). Version 2 adds to version 1, changing nothing of it: the
 * multi-part hash flags of CRYPT (F_HASH_*), the AUTHCRYPT op (with its
 * flags F_AEAD_* and struct virtio_cryptodev_aead), the AES-GCM algorithm
 * (AUTHCRYPT only) and resp.result_len (0 in v1). A v2 request to a v1 device
 * is -EPROTO; a v1 request using what v2 added is what a v1 device
 * answers (an unknown flag -EINVAL, an unknown op -EOPNOTSUPP), so a v1
 * driver works unchanged against a v2 device and a v2 driver asks a v1
 * device only v1 questions (it answers -EOPNOTSUPP itself for the rest).
 *
 * Multi-part hashing (v2, sessions with a hash or HMAC; the device keeps the
 * running hash per session, and runs a session's requests one at a time in
 * ring order): F_HASH_RESET starts a new message first; the data is then
 * hashed; unless F_HASH_UPDATE is set without F_HASH_FINAL (and src_len is
 * not 0), the digest is written (mac_len = the digest size, else 0) and a
 * new message starts. A v1 CRYPT is one whole message (reset, hash, digest).
 * These are cryptodev-linux's COP_FLAG_RESET/UPDATE/FINAL.
 *
 * AUTHCRYPT (v2) is cryptodev-linux's CIOCAUTHCRYPT, in three kinds:
 * - AEAD (no kind flag; an AES-GCM session, iv_len 12): encrypting, dst is
 *   the ciphertext then the tag (dst_len = src_len + tag_len); decrypting,
 *   src is the ciphertext then the tag (dst_len = src_len - tag_len).
 *   tag_len 4, 8 or 12..16.
 * - F_AEAD_TLS (a CBC cipher + HMAC session): encrypting, the HMAC of
 *   auth || src is appended to src, then TLS padding (n+1 bytes of value
 *   n, up to the next block), then all is encrypted: dst_len = src_len +
 *   tag_len + the padding (1..block bytes). Decrypting, src (a block
 *   multiple) is decrypted, the padding checked and removed, the tag
 *   checked: dst_len = src_len; resp.result_len = the plaintext's length.
 * - F_AEAD_SRTP (a stream cipher (CTR, NULL) + HMAC session): auth is the
 *   whole authenticated packet and the data to cipher is its src_len bytes
 *   at src_offset. Encrypting: the data is encrypted, then the HMAC of
 *   auth (with the ciphertext in place) is the tag: dst is the ciphertext
 *   then the tag. Decrypting: the tag (after auth in the readable stream)
 *   is checked against the HMAC of auth first, then the data decrypted:
 *   dst is the plaintext.
 * tag_len (1..digest size for HMAC kinds) may truncate the tag. A tag or
 * padding that does not check is -EBADMSG and nothing is written but the
 * response. The next IV is written as for CRYPT (F_WRITE_IV, TLS and SRTP
 * kinds only: iv_out_len is then the cipher's IV size; an AEAD cipher's IV
 * does not chain, and F_WRITE_IV with it is -EINVAL), after the SRTP tag
 * when there is one. iv_len 0 uses the session's running IV (CBC, CTR
 * only; GCM requires its IV).
 *
 * Algorithm numbers are those of the cryptodev-linux ABI (CRYPTO_AES_CBC =
 * 11, ...; see include/crypto/cryptodev.h). A failed request carries a
 * negative Linux errno in resp.status, which the driver returns unchanged.
 *
 * What the device (host-backend/qemu/hw/virtio/) does, in detail:
 * - The response is always the last sizeof(struct virtio_cryptodev_resp)
 *   bytes of the writable stream; a failed request writes nothing else
 *   (resp.written = 0). The used length is the writable stream's size, or 0
 *   when a chain was dropped (writable stream shorter than the response).
 * - Errors: -EPROTO wrong version; -EOPNOTSUPP unknown op; -EBADF unknown
 *   handle; -EINVAL unknown session (also one of another handle), bad
 *   algorithm or key length, stream sizes that differ from the header, data
 *   not a multiple of the block, non-zero reserved fields, unknown flags;
 *   -E2BIG src_len above max_data_len; -EMFILE too many handles; -ENOSPC
 *   too many sessions on a handle; -ENOMEM; engine errors (-EIO...).
 * - When several apply, the first in the device's order wins:
 *   1. writable stream shorter than the response: dropped (used length 0);
 *   2. readable stream shorter than the header: -EINVAL;
 *   3. version: -EPROTO;
 *   4. reserved non-zero: -EINVAL;
 *   5. op unknown: -EOPNOTSUPP; then the header fields of the op alone:
 *      OPEN with a handle, keylen/mackeylen above the wire limits, cop,
 *      flags, iv_len/iv_out_len/mac_len above the wire limits: -EINVAL;
 *   6. handle (every op but OPEN): -EBADF;
 *   7. session (FREE_SESSION, CRYPT, SESSION_INFO): -EINVAL;
 *   8. CRYPT: src_len above max_data_len -E2BIG, then the lengths against
 *      the session (block multiple, iv_len, dst_len, iv_out_len, mac_len)
 *      -EINVAL, then the stream sizes -EINVAL; CREATE_SESSION: the stream
 *      sizes, then the algorithms and key lengths -EINVAL, then -ENOSPC;
 *      OPEN: the stream sizes, then -EMFILE; CLOSE, FREE_SESSION,
 *      SESSION_INFO: the stream sizes;
 *   9. -ENOMEM, then the engine's errors.
 * - Not errnos: QEMU's virtio core refuses some chains before the device
 *   sees them, marks the device broken (DEVICE_NEEDS_RESET, a config
 *   interrupt) and answers nothing more until the driver resets the
 *   device: a zero-length descriptor; a chain of more than 1024
 *   descriptors (VIRTQUEUE_MAX_SIZE: only an indirect table can be longer
 *   than the ring); a device-readable descriptor after a writable one;
 *   descriptor loops and bad indirect tables. QEMU keeps running.
 * - A queue reset (VIRTIO_F_RING_RESET) or a device reset takes back every
 *   request the device has not answered: the device writes nothing more
 *   into those buffers and puts nothing more on the ring for them. A queue
 *   reset keeps handles and sessions; a device reset closes them all.
 * - CRYPT with iv_len 0 on a cipher that takes an IV uses the session's
 *   running IV (zeros at creation, then the next IV of each CRYPT), as
 *   cryptodev-linux does. The next IV (F_WRITE_IV) is: CBC the last
 *   ciphertext block, CTR the counter advanced by the blocks used (a
 *   partial block counts). A session with a cipher and a hash/HMAC hashes
 *   the plaintext (src when encrypting, dst when decrypting). A CRYPT of
 *   src_len 0 is valid and ciphers nothing; for CBC and CTR its next IV is
 *   the IV it used (the request's, or the running one when iv_len is 0),
 *   which so becomes the running IV. NULL cipher: any key length up to the
 *   limit, the key is ignored, block size 1, no IV.
 * - OPEN requires handle 0. Handles and sessions are opaque numbers;
 *   session numbers are per handle; a closed handle's number is not reused
 *   soon. CLOSE frees the handle's sessions; a device reset frees them all.
 */
#ifndef VIRTIO_CRYPTODEV_H
#define VIRTIO_CRYPTODEV_H

#ifdef __KERNEL__
#include <linux/types.h>
typedef __u8 vcd_u8;
typedef __le16 vcd_le16;
typedef __le32 vcd_le32;
typedef __le64 vcd_le64;
#else
#include <stdint.h>
typedef uint8_t vcd_u8;
typedef uint16_t vcd_le16;
typedef uint32_t vcd_le32;
typedef uint64_t vcd_le64;
#endif

/*
 * Virtio device id. The virtio spec assigns ids from 1 upwards (30, which the
 * course's original kit used, is assigned to another device); modern virtio
 * PCI ids are 0x1040 + id and stop at 0x107f. We take the last one, 63, which
 * no device of the pinned guest kernel (Linux 6.1) or of the spec uses.
 */
#define VIRTIO_ID_CRYPTODEV		63
#define VIRTIO_CRYPTODEV_PCI_VENDOR_ID	0x1af4
#define VIRTIO_CRYPTODEV_PCI_DEVICE_ID	(0x1040 + VIRTIO_ID_CRYPTODEV)

#define VIRTIO_CRYPTODEV_WIRE_VERSION	1	/* every device speaks it */
#define VIRTIO_CRYPTODEV_WIRE_VERSION_MAX 2	/* the newest, this header */

/* Absolute limits of wire format v1; the device may configure lower ones. */
#define VIRTIO_CRYPTODEV_MAX_KEY_LEN	64	/* cipher key */
#define VIRTIO_CRYPTODEV_MAX_MACKEY_LEN	512	/* HMAC key */
#define VIRTIO_CRYPTODEV_MAX_IV_LEN	16
#define VIRTIO_CRYPTODEV_MAX_DIGEST_LEN	64
#define VIRTIO_CRYPTODEV_MAX_ALG_NAME	64
#define VIRTIO_CRYPTODEV_MAX_AUTH_LEN	4096	/* AUTHCRYPT auth (not SRTP) */
#define VIRTIO_CRYPTODEV_MAX_TAG_LEN	64

/* The one virtqueue of v1: requests, answered in any order. */
#define VIRTIO_CRYPTODEV_VQ_REQUEST	0

/* Device configuration space (read-only for the driver). */
struct virtio_cryptodev_config {
	vcd_le32 wire_version;	/* VIRTIO_CRYPTODEV_WIRE_VERSION */
	vcd_le32 engine;	/* enum virtio_cryptodev_engine in use */
	vcd_le32 max_handles;	/* open handles per device */
	vcd_le32 max_sessions;	/* sessions per handle */
	vcd_le32 max_data_len;	/* src_len limit of one CRYPT */
	vcd_le32 max_wire_version; /* newest version spoken; 0: only 1 */
	vcd_le32 reserved[2];
};

enum virtio_cryptodev_engine {
	VIRTIO_CRYPTODEV_ENGINE_BUILTIN = 1,	/* QEMU's crypto layer */
	VIRTIO_CRYPTODEV_ENGINE_HOST = 2,	/* the host's /dev/crypto */
};

enum virtio_cryptodev_op {
	VIRTIO_CRYPTODEV_OP_OPEN = 1,
	VIRTIO_CRYPTODEV_OP_CLOSE = 2,
	VIRTIO_CRYPTODEV_OP_CREATE_SESSION = 3,
	VIRTIO_CRYPTODEV_OP_FREE_SESSION = 4,
	VIRTIO_CRYPTODEV_OP_CRYPT = 5,
	VIRTIO_CRYPTODEV_OP_SESSION_INFO = 6,
	VIRTIO_CRYPTODEV_OP_AUTHCRYPT = 7,	/* version 2 */
};

/* req.cop */
#define VIRTIO_CRYPTODEV_COP_ENCRYPT	0
#define VIRTIO_CRYPTODEV_COP_DECRYPT	1

/* req.flags for CRYPT */
#define VIRTIO_CRYPTODEV_F_WRITE_IV	(1u << 0)	/* return the IV to chain */
/* version 2: multi-part hashing (see above) */
#define VIRTIO_CRYPTODEV_F_HASH_UPDATE	(1u << 1)
#define VIRTIO_CRYPTODEV_F_HASH_FINAL	(1u << 2)
#define VIRTIO_CRYPTODEV_F_HASH_RESET	(1u << 3)
/* req.flags for AUTHCRYPT (version 2): the kind; neither: an AEAD cipher */
#define VIRTIO_CRYPTODEV_F_AEAD_TLS	(1u << 4)
#define VIRTIO_CRYPTODEV_F_AEAD_SRTP	(1u << 5)

struct virtio_cryptodev_req {
	vcd_le16 version;	/* 1 or, to a v2 device, 2 */
	vcd_le16 op;		/* enum virtio_cryptodev_op */
	vcd_le32 handle;	/* from OPEN; 0 for OPEN itself */
	vcd_le64 tag;		/* opaque to the device, echoed in resp */
	vcd_le32 session;	/* FREE_SESSION, CRYPT, SESSION_INFO */
	/* CREATE_SESSION */
	vcd_le32 cipher;	/* cryptodev-linux cipher id, or 0 */
	vcd_le32 mac;		/* cryptodev-linux hash/HMAC id, or 0 */
	vcd_le32 keylen;
	vcd_le32 mackeylen;
	/* CRYPT */
	vcd_le16 cop;		/* VIRTIO_CRYPTODEV_COP_* */
	vcd_le16 flags;		/* VIRTIO_CRYPTODEV_F_* */
	vcd_le32 src_len;	/* input data bytes */
	vcd_le32 iv_len;	/* 0 or the session's IV size */
	vcd_le32 dst_len;	/* src_len for cipher sessions, else 0 */
	vcd_le32 iv_out_len;	/* iv size if F_WRITE_IV, else 0 */
	vcd_le32 mac_len;	/* digest size when a hash/mac session writes */
				/* its digest (always in v1), else 0 */
	vcd_le32 reserved;	/* must be 0 */
};

struct virtio_cryptodev_resp {
	vcd_le32 status;	/* 0, or a negative Linux errno */
	vcd_le32 id;		/* OPEN: handle; CREATE_SESSION: session */
	vcd_le64 tag;		/* req.tag */
	vcd_le32 written;	/* bytes of op output written */
	/* CREATE_SESSION: what the driver needs to size later requests */
	vcd_le16 block_size;	/* cipher block size; 1 for stream modes */
	vcd_le16 iv_len;	/* IV size the cipher takes, 0 if none */
	vcd_le16 digest_len;	/* hash/HMAC output size, 0 if none */
	vcd_le16 reserved0;
	vcd_le32 result_len;	/* AUTHCRYPT: bytes of dst that are the result */
};

/* AUTHCRYPT (version 2): the readable stream's second struct */
struct virtio_cryptodev_aead {
	vcd_le32 auth_len;	/* associated (SRTP: authenticated) bytes */
	vcd_le32 tag_len;	/* bytes of tag */
	vcd_le32 src_offset;	/* SRTP: where the data is in auth; else 0 */
	vcd_le32 reserved;	/* must be 0 */
};

struct virtio_cryptodev_alg_info {
	char name[VIRTIO_CRYPTODEV_MAX_ALG_NAME];	/* NUL terminated */
	char driver[VIRTIO_CRYPTODEV_MAX_ALG_NAME];	/* NUL terminated */
};

struct virtio_cryptodev_session_info {
	struct virtio_cryptodev_alg_info cipher;
	struct virtio_cryptodev_alg_info hash;
	vcd_le32 alignmask;
	vcd_le32 flags;		/* cryptodev-linux SIOP_FLAG_* */
	vcd_le32 reserved[2];
};

#ifdef __cplusplus
#define VIRTIO_CRYPTODEV_SIZE_CHECK(type, size) \
	static_assert(sizeof(type) == (size), #type " size is part of the ABI")
#else
#define VIRTIO_CRYPTODEV_SIZE_CHECK(type, size) \
	_Static_assert(sizeof(type) == (size), #type " size is part of the ABI")
#endif
VIRTIO_CRYPTODEV_SIZE_CHECK(struct virtio_cryptodev_config, 32);
VIRTIO_CRYPTODEV_SIZE_CHECK(struct virtio_cryptodev_req, 64);
VIRTIO_CRYPTODEV_SIZE_CHECK(struct virtio_cryptodev_resp, 32);
VIRTIO_CRYPTODEV_SIZE_CHECK(struct virtio_cryptodev_session_info, 272);
VIRTIO_CRYPTODEV_SIZE_CHECK(struct virtio_cryptodev_aead, 16);

#endif /* VIRTIO_CRYPTODEV_H */
