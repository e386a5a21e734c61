// SPDX-License-Identifier: GPL-2.0
/*
 * vcd_hostile: a hostile driver for the virtio-cryptodev device.
 *
 * A test fixture (host-backend/test/hostile.vm.test.ts builds it against
 * the lab's kernel and loads it in place of vcryptodev). It binds every
 * virtio-cryptodev device and drives it with malformed requests (bad
 * headers, unknown ops, handles and sessions, lengths that disagree with
 * the chain, zero-length and overlong chains, limits +-1), floods of
 * requests in flight, CLOSE and FREE_SESSION while jobs run, device and
 * queue resets with jobs in flight, all interleaved with known-answer
 * requests.
 *
 * Every buffer handed to the device has guard bytes on both sides and a
 * known fill. A request fails its test when the device writes a guard or
 * a readable buffer, reports a used length other than the writable
 * stream's size (or 0 for a dropped chain), answers outside the header's
 * contract (status, tag, written, output left untouched on error), gives
 * a wrong known answer, or does not answer within HS_TIMEOUT. A buffer
 * taken back by a reset must never be written again, and nothing stale
 * may appear on the ring afterwards.
 *
 * One context (the module's init) does every ring operation; the
 * virtqueue callback only wakes it. The results are a KTAP report in
 * /proc/vcd_hostile: one test per case and device, each with its counts.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/proc_fs.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <asm/unaligned.h>

#include <virtio_cryptodev.h>

static uint seed = 1;
module_param(seed, uint, 0444);
MODULE_PARM_DESC(seed, "seed of the random requests");

static uint rounds = 4;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "flood rounds (each fills the ring)");

#define HS_GUARD		64
#define HS_GUARD_BYTE		0xa5
#define HS_FILL			0x5a	/* writable bytes before an answer */
#define HS_TAKEN_BACK		0xc3	/* writable bytes of a request taken back */
#define HS_PIECE		(1u << 20)	/* most bytes behind one descriptor */
#define HS_TIMEOUT		(30 * HZ)
#define HS_SETTLE_MS		500	/* for late writes after a reset */
#define HS_BIG			(2u << 20)	/* a CRYPT for the thread pool */
#define HS_RESP			sizeof(struct virtio_cryptodev_resp)
#define HS_HDR			sizeof(struct virtio_cryptodev_req)
#define HS_MAX_DIAG		6

/* cryptodev-linux algorithm numbers (include/crypto/cryptodev.h) */
#define HS_SHA1_HMAC		7
#define HS_AES_CBC		11
#define HS_SHA1			14
#define HS_NULL			16
#define HS_SHA2_256_HMAC	18
#define HS_AES_CTR		21
#define HS_AES_ECB		23
#define HS_SHA2_256		104

/* NIST SP 800-38A F.1.1, F.2.1, F.5.1 (AES-128), FIPS 180-2, RFC 4231. */
static const u8 kat_key[16] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
	0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
};
static const u8 kat_iv[16] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};
static const u8 kat_ctr[16] = {
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};
static const u8 kat_pt[64] = {
	0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96,
	0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a,
	0xae, 0x2d, 0x8a, 0x57, 0x1e, 0x03, 0xac, 0x9c,
	0x9e, 0xb7, 0x6f, 0xac, 0x45, 0xaf, 0x8e, 0x51,
	0x30, 0xc8, 0x1c, 0x46, 0xa3, 0x5c, 0xe4, 0x11,
	0xe5, 0xfb, 0xc1, 0x19, 0x1a, 0x0a, 0x52, 0xef,
	0xf6, 0x9f, 0x24, 0x45, 0xdf, 0x4f, 0x9b, 0x17,
	0xad, 0x2b, 0x41, 0x7b, 0xe6, 0x6c, 0x37, 0x10,
};
static const u8 kat_cbc[64] = {
	0x76, 0x49, 0xab, 0xac, 0x81, 0x19, 0xb2, 0x46,
	0xce, 0xe9, 0x8e, 0x9b, 0x12, 0xe9, 0x19, 0x7d,
	0x50, 0x86, 0xcb, 0x9b, 0x50, 0x72, 0x19, 0xee,
	0x95, 0xdb, 0x11, 0x3a, 0x91, 0x76, 0x78, 0xb2,
	0x73, 0xbe, 0xd6, 0xb8, 0xe3, 0xc1, 0x74, 0x3b,
	0x71, 0x16, 0xe6, 0x9e, 0x22, 0x22, 0x95, 0x16,
	0x3f, 0xf1, 0xca, 0xa1, 0x68, 0x1f, 0xac, 0x09,
	0x12, 0x0e, 0xca, 0x30, 0x75, 0x86, 0xe1, 0xa7,
};
static const u8 kat_ecb[64] = {
	0x3a, 0xd7, 0x7b, 0xb4, 0x0d, 0x7a, 0x36, 0x60,
	0xa8, 0x9e, 0xca, 0xf3, 0x24, 0x66, 0xef, 0x97,
	0xf5, 0xd3, 0xd5, 0x85, 0x03, 0xb9, 0x69, 0x9d,
	0xe7, 0x85, 0x89, 0x5a, 0x96, 0xfd, 0xba, 0xaf,
	0x43, 0xb1, 0xcd, 0x7f, 0x59, 0x8e, 0xce, 0x23,
	0x88, 0x1b, 0x00, 0xe3, 0xed, 0x03, 0x06, 0x88,
	0x7b, 0x0c, 0x78, 0x5e, 0x27, 0xe8, 0xad, 0x3f,
	0x82, 0x23, 0x20, 0x71, 0x04, 0x72, 0x5d, 0xd4,
};
static const u8 kat_ctr_ct[64] = {
	0x87, 0x4d, 0x61, 0x91, 0xb6, 0x20, 0xe3, 0x26,
	0x1b, 0xef, 0x68, 0x64, 0x99, 0x0d, 0xb6, 0xce,
	0x98, 0x06, 0xf6, 0x6b, 0x79, 0x70, 0xfd, 0xff,
	0x86, 0x17, 0x18, 0x7b, 0xb9, 0xff, 0xfd, 0xff,
	0x5a, 0xe4, 0xdf, 0x3e, 0xdb, 0xd5, 0xd3, 0x5e,
	0x5b, 0x4f, 0x09, 0x02, 0x0d, 0xb0, 0x3e, 0xab,
	0x1e, 0x03, 0x1d, 0xda, 0x2f, 0xbe, 0x03, 0xd1,
	0x79, 0x21, 0x70, 0xa0, 0xf3, 0x00, 0x9c, 0xee,
};
static const u8 kat_sha256_abc[32] = {
	0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
	0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
	0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
	0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
};
static const u8 kat_sha1_abc[20] = {
	0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a,
	0xba, 0x3e, 0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c,
	0x9c, 0xd0, 0xd8, 0x9d,
};
/* kat_cbc, then its next IV (the last block); filled at init */
static u8 kat_cbc_next[80];
/* HMAC-SHA256, key "Jefe", of kat_pt */
static const u8 kat_hmac_jefe_pt[32] = {
	0xf0, 0xfd, 0x82, 0x81, 0x06, 0xdb, 0x97, 0xe0,
	0x02, 0x3d, 0x62, 0x21, 0x02, 0xb7, 0xec, 0x67,
	0x0c, 0xc5, 0x2b, 0x98, 0x42, 0xb7, 0xcb, 0xcd,
	0x78, 0x07, 0x1a, 0x3c, 0x31, 0xb6, 0x75, 0xed,
};
static const u8 kat_hmac_jefe[32] = {
	0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
	0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
	0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
	0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
};

/* One descriptor's buffer: HS_GUARD bytes, the buffer, HS_GUARD bytes. */
struct hs_seg {
	u8 *mem;
	u32 len;
	u64 sum;		/* readable: hs_sum() of the buffer */
};

enum hs_state { HS_NEW, HS_QUEUED, HS_DONE, HS_RECLAIMED };

enum hs_expect {
	HS_X_STATUS,		/* exactly ->want (0: and ->out, when set) */
	HS_X_ERROR,		/* some negative errno */
	HS_X_DROP,		/* used length 0, nothing written */
	HS_X_ANY,		/* anything within the header's contract */
};

struct hs_req {
	struct list_head node;
	enum hs_state state;
	u32 nseg;
	u32 nread;		/* the first nread segments are readable */
	struct hs_seg *seg;
	u64 rlen;
	u64 wlen;
	bool has_tag;		/* the readable stream holds a whole header */
	u64 tag;
	enum hs_expect expect;
	int want;
	const u8 *out;		/* the output expected on success */
	bool keep;		/* the caller frees it (reads the answer) */
	u32 used;
	s32 status;
	u32 id;
	struct virtio_cryptodev_resp resp;
};

/* How a request's streams are cut into descriptors. */
struct hs_cut {
	u32 rmax;		/* readable pieces of at most this; 0: HS_PIECE */
	u32 wmax;		/* writable pieces of at most this; 0: HS_PIECE */
	bool random;		/* pieces of random sizes up to the maximum */
	bool zero;		/* a zero-length readable descriptor too */
};

/* One test case's counts and verdict. */
struct hs_case {
	const char *name;
	u64 requests;
	u64 checked;		/* answers compared with a known value */
	u64 errors;		/* negative statuses, drops, device broken */
	unsigned int failures;
	const char *skip;
	char diag[HS_MAX_DIAG][160];
	unsigned int ndiag;
};

struct hs_dev {
	struct list_head node;
	struct virtio_device *vdev;
	struct virtqueue *vq;
	wait_queue_head_t wq;
	atomic_t irqs;
	struct list_head queued;	/* on the ring */
	struct list_head reclaimed;	/* taken back by a reset */
	struct hs_case *cur;
	struct rnd_state rnd;
	u64 next_tag;
	bool indirect;
	bool packed;
	bool ring_reset;
	u32 max_handles;
	u32 max_sessions;
	u32 max_data_len;
	u8 *big_pt;		/* HS_BIG bytes, starting with kat_pt */
	u8 *big_ct;		/* its CBC encryption, once verified */
};

static LIST_HEAD(hs_devices);
static DEFINE_MUTEX(hs_lock);		/* hs_devices, hs_report */
static char *hs_report;
static size_t hs_report_len;
static size_t hs_report_size;

static __printf(1, 2) void hs_out(const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = hs_report_size - hs_report_len;

		va_start(ap, fmt);
		n = vsnprintf(hs_report + hs_report_len, room, fmt, ap);
		va_end(ap);
		if (n < room) {
			hs_report_len += n;
			return;
		}
		if (!hs_report_size) {
			hs_report_size = 1 << 16;
		} else {
			hs_report_size *= 2;
		}
		hs_report = krealloc(hs_report, hs_report_size, GFP_KERNEL);
		if (!hs_report) {
			hs_report_size = 0;
			hs_report_len = 0;
			return;
		}
	}
}

static __printf(2, 3) void hs_fail(struct hs_dev *h, const char *fmt, ...)
{
	struct hs_case *c = h->cur;
	va_list ap;

	c->failures++;
	if (c->ndiag >= HS_MAX_DIAG)
		return;
	va_start(ap, fmt);
	vscnprintf(c->diag[c->ndiag++], sizeof(c->diag[0]), fmt, ap);
	va_end(ap);
}

static u32 hs_rand(struct hs_dev *h, u32 n)
{
	return n ? prandom_u32_state(&h->rnd) % n : 0;
}

static u8 *hs_body(const struct hs_seg *s)
{
	return s->mem + HS_GUARD;
}

static void hs_req_free(struct hs_req *r)
{
	u32 i;

	if (!r)
		return;
	for (i = 0; i < r->nseg; i++)
		kfree(r->seg[i].mem);
	kfree(r->seg);
	kfree(r);
}

static u32 hs_piece_len(struct hs_dev *h, const struct hs_cut *cut, u64 left,
			u32 max)
{
	u32 n = min_t(u64, left, max);

	if (cut->random && n > 1)
		n = 1 + hs_rand(h, n);
	return n;
}

/* A new segment of @len bytes, guarded; NULL without memory. */
static struct hs_seg *hs_add_seg(struct hs_req *r, u32 len, u32 *cap)
{
	struct hs_seg *s;

	if (r->nseg == *cap) {
		u32 n = *cap ? *cap * 2 : 8;

		s = krealloc_array(r->seg, n, sizeof(*s), GFP_KERNEL);
		if (!s)
			return NULL;
		r->seg = s;
		*cap = n;
	}
	s = &r->seg[r->nseg];
	s->len = len;
	s->sum = 0;
	s->mem = kmalloc(len + 2 * HS_GUARD, GFP_KERNEL);
	if (!s->mem)
		return NULL;
	r->nseg++;
	memset(s->mem, HS_GUARD_BYTE, HS_GUARD);
	memset(s->mem + HS_GUARD + len, HS_GUARD_BYTE, HS_GUARD);
	return s;
}

/* A 64-bit FNV-1a over words: cheap, and any write shows. */
static u64 hs_sum(const u8 *p, u32 len)
{
	u64 h = 0xcbf29ce484222325ULL;
	u32 i;

	for (i = 0; i + 8 <= len; i += 8)
		h = (h ^ get_unaligned((const u64 *)(p + i))) *
		    0x100000001b3ULL;
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* Copies the next @n bytes of the stream @v (@nv pieces) at *@pos. */
static void hs_gather(const struct kvec *v, unsigned int nv, u64 *pos,
		      u8 *dst, u64 n)
{
	u64 skip = *pos;
	unsigned int i;

	*pos += n;
	for (i = 0; i < nv && n; i++) {
		u64 m;

		if (skip >= v[i].iov_len) {
			skip -= v[i].iov_len;
			continue;
		}
		m = min_t(u64, n, v[i].iov_len - skip);
		memcpy(dst, (const u8 *)v[i].iov_base + skip, m);
		dst += m;
		n -= m;
		skip = 0;
	}
}

/*
 * A request whose readable stream is the @nv pieces of @v and whose
 * writable stream has @wlen bytes, cut as @cut says. Writable bytes are
 * HS_FILL.
 */
static struct hs_req *hs_build_v(struct hs_dev *h, const struct kvec *v,
				 unsigned int nv, u64 wlen,
				 const struct hs_cut *cut)
{
	static const struct hs_cut whole;
	struct hs_seg *s;
	struct hs_req *r;
	u32 rmax, wmax, cap = 0, n, i;
	u64 off, rlen = 0, pos = 0;

	for (i = 0; i < nv; i++)
		rlen += v[i].iov_len;
	cut = cut ?: &whole;
	rmax = cut->rmax ?: HS_PIECE;
	wmax = cut->wmax ?: HS_PIECE;
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return NULL;
	INIT_LIST_HEAD(&r->node);
	r->rlen = rlen;
	r->wlen = wlen;
	for (off = 0; off < rlen; off += n) {
		n = hs_piece_len(h, cut, rlen - off, rmax);
		s = hs_add_seg(r, n, &cap);
		if (!s)
			goto err;
		hs_gather(v, nv, &pos, hs_body(s), n);
		s->sum = hs_sum(hs_body(s), n);
	}
	if (cut->zero) {
		s = hs_add_seg(r, 0, &cap);
		if (!s)
			goto err;
		s->sum = hs_sum(hs_body(s), 0);
	}
	r->nread = r->nseg;
	for (off = 0; off < wlen; off += n) {
		n = hs_piece_len(h, cut, wlen - off, wmax);
		s = hs_add_seg(r, n, &cap);
		if (!s)
			goto err;
		memset(hs_body(s), HS_FILL, n);
	}
	if (rlen >= HS_HDR) {
		struct virtio_cryptodev_req hdr;

		pos = 0;
		hs_gather(v, nv, &pos, (u8 *)&hdr, sizeof(hdr));
		r->has_tag = true;
		r->tag = le64_to_cpu(hdr.tag);
	}
	return r;
err:
	hs_req_free(r);
	return NULL;
}

/* The same with the readable stream in one piece, @rd. */
static struct hs_req *hs_build_raw(struct hs_dev *h, const void *rd, u64 rlen,
				   u64 wlen, const struct hs_cut *cut)
{
	struct kvec v = { .iov_base = (void *)rd, .iov_len = rlen };

	return hs_build_v(h, &v, 1, wlen, cut);
}

static void hs_hdr(struct virtio_cryptodev_req *q, u16 op, u32 handle)
{
	memset(q, 0, sizeof(*q));
	q->version = cpu_to_le16(VIRTIO_CRYPTODEV_WIRE_VERSION);
	q->op = cpu_to_le16(op);
	q->handle = cpu_to_le32(handle);
}

/*
 * A request: header @q (its tag set here), then @plen bytes of @payload
 * and @plen2 of @payload2; @wlen writable bytes. Expects status @want
 * (with output @out on 0).
 */
static struct hs_req *hs_build2(struct hs_dev *h,
				struct virtio_cryptodev_req *q,
				const void *payload, u64 plen,
				const void *payload2, u64 plen2, u64 wlen,
				const struct hs_cut *cut, int want,
				const u8 *out)
{
	struct kvec v[3] = {
		{ .iov_base = q, .iov_len = HS_HDR },
		{ .iov_base = (void *)payload, .iov_len = plen },
		{ .iov_base = (void *)payload2, .iov_len = plen2 },
	};
	struct hs_req *r;

	q->tag = cpu_to_le64(++h->next_tag);
	r = hs_build_v(h, v, ARRAY_SIZE(v), wlen, cut);
	if (r) {
		r->expect = HS_X_STATUS;
		r->want = want;
		r->out = out;
	}
	return r;
}

static struct hs_req *hs_build(struct hs_dev *h, struct virtio_cryptodev_req *q,
			       const void *payload, u64 plen, u64 wlen,
			       const struct hs_cut *cut, int want,
			       const u8 *out)
{
	return hs_build2(h, q, payload, plen, NULL, 0, wlen, cut, want, out);
}

/* Copies @len bytes at @off of the writable stream into @buf. */
static void hs_read_out(const struct hs_req *r, u64 off, void *buf, u64 len)
{
	u64 pos = 0;
	u32 i;

	for (i = r->nread; i < r->nseg && len; i++) {
		const struct hs_seg *s = &r->seg[i];

		if (off < pos + s->len) {
			u64 from = off - pos;
			u64 n = min_t(u64, len, s->len - from);

			memcpy(buf, hs_body(s) + from, n);
			buf += n;
			off += n;
			len -= n;
		}
		pos += s->len;
	}
}

/* Whether the first @len writable bytes are all @fill. */
static bool hs_out_is(const struct hs_req *r, u64 len, u8 fill)
{
	u64 pos = 0;
	u32 i;

	for (i = r->nread; i < r->nseg && pos < len; i++) {
		const struct hs_seg *s = &r->seg[i];
		u64 n = min_t(u64, len - pos, s->len);

		if (memchr_inv(hs_body(s), fill, n))
			return false;
		pos += n;
	}
	return true;
}

/* Whether the first @len writable bytes equal @want. */
static bool hs_out_equals(const struct hs_req *r, const u8 *want, u64 len)
{
	u64 pos = 0;
	u32 i;

	for (i = r->nread; i < r->nseg && pos < len; i++) {
		const struct hs_seg *s = &r->seg[i];
		u64 n = min_t(u64, len - pos, s->len);

		if (memcmp(hs_body(s), want + pos, n))
			return false;
		pos += n;
	}
	return true;
}

/* Guards and readable buffers as the driver left them? */
static bool hs_intact(struct hs_dev *h, const struct hs_req *r, const char *what)
{
	u32 i;

	for (i = 0; i < r->nseg; i++) {
		const struct hs_seg *s = &r->seg[i];

		if (memchr_inv(s->mem, HS_GUARD_BYTE, HS_GUARD) ||
		    memchr_inv(s->mem + HS_GUARD + s->len, HS_GUARD_BYTE,
			       HS_GUARD)) {
			hs_fail(h, "%s tag %llu: guard bytes of descriptor %u (%u bytes) written",
				what, r->tag, i, s->len);
			return false;
		}
		if (i < r->nread && hs_sum(hs_body(s), s->len) != s->sum) {
			hs_fail(h, "%s tag %llu: readable descriptor %u written",
				what, r->tag, i);
			return false;
		}
	}
	return true;
}

/* Checks one answered request against the header's contract. */
static void hs_check(struct hs_dev *h, struct hs_req *r)
{
	struct hs_case *c = h->cur;
	u64 out_len;
	u32 written;
	s32 st;

	if (!hs_intact(h, r, "answer"))
		return;
	if (r->used != 0 && r->used != r->wlen) {
		hs_fail(h, "tag %llu: used length %u of a %llu-byte writable stream",
			r->tag, r->used, r->wlen);
		return;
	}
	if (r->wlen < HS_RESP || r->used == 0) {
		/* dropped: only when the response does not fit */
		if (r->wlen >= HS_RESP)
			hs_fail(h, "tag %llu: dropped (used 0) though the response fits",
				r->tag);
		else if (!hs_out_is(r, r->wlen, HS_FILL))
			hs_fail(h, "tag %llu: dropped chain written", r->tag);
		else if (r->expect == HS_X_STATUS || r->expect == HS_X_ERROR)
			hs_fail(h, "tag %llu: dropped, expected status %d",
				r->tag, r->want);
		else if (r->expect == HS_X_DROP)
			c->checked++;
		c->errors++;
		r->status = 0;
		return;
	}
	out_len = r->wlen - HS_RESP;
	hs_read_out(r, out_len, &r->resp, HS_RESP);
	st = (s32)le32_to_cpu(r->resp.status);
	written = le32_to_cpu(r->resp.written);
	r->status = st;
	r->id = le32_to_cpu(r->resp.id);
	if (st > 0 || st < -MAX_ERRNO) {
		hs_fail(h, "tag %llu: status %d is not 0 or a negative errno",
			r->tag, st);
		return;
	}
	if (le64_to_cpu(r->resp.tag) != (r->has_tag ? r->tag : 0)) {
		hs_fail(h, "tag %llu: response tag %llu", r->tag,
			le64_to_cpu(r->resp.tag));
		return;
	}
	if (r->resp.reserved0 || r->resp.result_len) {
		hs_fail(h, "tag %llu: reserved response fields set", r->tag);
		return;
	}
	if (st < 0) {
		c->errors++;
		if (written || !hs_out_is(r, out_len, HS_FILL)) {
			hs_fail(h, "tag %llu: status %d with output written (%u)",
				r->tag, st, written);
			return;
		}
	} else if (written != out_len) {
		hs_fail(h, "tag %llu: written %u of %llu output bytes",
			r->tag, written, out_len);
		return;
	}
	switch (r->expect) {
	case HS_X_STATUS:
		if (st != r->want) {
			hs_fail(h, "tag %llu: status %d, expected %d", r->tag,
				st, r->want);
			return;
		}
		if (st == 0 && r->out && !hs_out_equals(r, r->out, out_len)) {
			hs_fail(h, "tag %llu: wrong answer (%llu output bytes)",
				r->tag, out_len);
			return;
		}
		c->checked++;
		break;
	case HS_X_ERROR:
		if (st >= 0) {
			hs_fail(h, "tag %llu: status %d, expected an error",
				r->tag, st);
			return;
		}
		c->checked++;
		break;
	case HS_X_DROP:
		hs_fail(h, "tag %llu: answered (status %d), expected a drop",
			r->tag, st);
		break;
	case HS_X_ANY:
		break;
	}
}

static void hs_vq_done(struct virtqueue *vq)
{
	struct hs_dev *h = vq->vdev->priv;

	atomic_inc(&h->irqs);
	wake_up(&h->wq);
}

/* Takes every answered request off the ring and checks it. */
static void hs_reap(struct hs_dev *h)
{
	struct hs_req *r;
	unsigned int len;

	while ((r = virtqueue_get_buf(h->vq, &len))) {
		if (r->state != HS_QUEUED) {
			hs_fail(h, "an answer for a request not on the ring");
			continue;
		}
		list_del_init(&r->node);
		r->state = HS_DONE;
		r->used = len;
		hs_check(h, r);
		if (!r->keep)
			hs_req_free(r);
	}
}

/*
 * Puts @r on the ring (without a kick). -ENOSPC: no room now. A chain
 * longer than the ring is only tried with indirect descriptors.
 */
static int hs_add(struct hs_dev *h, struct hs_req *r)
{
	struct scatterlist *sg, **sgs;
	u32 i;
	int err;

	if (!h->indirect && r->nseg > virtqueue_get_vring_size(h->vq))
		return -E2BIG;
	sg = kmalloc_array(r->nseg, sizeof(*sg), GFP_KERNEL);
	sgs = kmalloc_array(r->nseg, sizeof(*sgs), GFP_KERNEL);
	if (!sg || !sgs) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < r->nseg; i++) {
		sg_init_one(&sg[i], hs_body(&r->seg[i]), r->seg[i].len);
		sgs[i] = &sg[i];
	}
	err = virtqueue_add_sgs(h->vq, sgs, r->nread, r->nseg - r->nread, r,
				GFP_KERNEL);
	if (!err) {
		r->state = HS_QUEUED;
		list_add_tail(&r->node, &h->queued);
		h->cur->requests++;
	}
out:
	kfree(sg);
	kfree(sgs);
	return err;
}

/* Sleeps until the device signals or @ms pass. */
static void hs_wait(struct hs_dev *h, int seen, unsigned int ms)
{
	wait_event_timeout(h->wq, atomic_read(&h->irqs) != seen,
			   msecs_to_jiffies(ms));
}

/* Waits until nothing is on the ring or @timeout; the number left. */
static unsigned int hs_wait_all(struct hs_dev *h, unsigned long timeout)
{
	unsigned long end = jiffies + timeout;
	unsigned int left = 0;
	struct hs_req *r;

	for (;;) {
		int seen = atomic_read(&h->irqs);

		hs_reap(h);
		if (list_empty(&h->queued) || virtqueue_is_broken(h->vq) ||
		    time_after(jiffies, end))
			break;
		hs_wait(h, seen, 50);
	}
	list_for_each_entry(r, &h->queued, node)
		left++;
	return left;
}

/*
 * Adds @r, kicking and reaping while the ring is full. The request is
 * freed when it is refused (-E2BIG/-ENOMEM) or once answered (unless kept).
 */
static int hs_submit(struct hs_dev *h, struct hs_req *r)
{
	unsigned long end = jiffies + HS_TIMEOUT;
	int err;

	if (!r) {
		hs_fail(h, "out of memory building a request");
		return -ENOMEM;
	}
	for (;;) {
		int seen = atomic_read(&h->irqs);

		err = hs_add(h, r);
		if (err != -ENOSPC)
			break;
		virtqueue_kick(h->vq);
		hs_reap(h);
		if (virtqueue_is_broken(h->vq) || time_after(jiffies, end)) {
			hs_fail(h, "no room in the ring for %u descriptors within %d s",
				r->nseg, HS_TIMEOUT / HZ);
			break;
		}
		hs_wait(h, seen, 50);
	}
	if (err) {
		if (err != -ENOSPC)
			hs_fail(h, "virtqueue_add_sgs: %d (%u descriptors)",
				err, r->nseg);
		hs_req_free(r);
	}
	return err;
}

static void hs_kick(struct hs_dev *h)
{
	virtqueue_kick(h->vq);
}

/* Device status has NEEDS_RESET: the virtio core found the ring broken. */
static bool hs_needs_reset(struct hs_dev *h)
{
	return h->vdev->config->get_status(h->vdev) &
	       VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* Every request on the ring answered, or a failure saying how many not. */
static bool hs_drain(struct hs_dev *h)
{
	unsigned int left;

	hs_kick(h);
	left = hs_wait_all(h, HS_TIMEOUT);
	if (virtqueue_is_broken(h->vq)) {
		hs_fail(h, "virtqueue broken (a stale or foreign used entry)");
		return false;
	}
	if (left) {
		hs_fail(h, "%u requests not answered within %d s%s", left,
			HS_TIMEOUT / HZ,
			hs_needs_reset(h) ? " (device needs reset)" : "");
		return false;
	}
	return true;
}

/* One request, run alone; its status, or INT_MIN when it got none. */
static int hs_run1(struct hs_dev *h, struct hs_req *r, u32 *id)
{
	int st;

	if (!r) {
		hs_fail(h, "out of memory building a request");
		return INT_MIN;
	}
	r->keep = true;
	if (hs_submit(h, r))
		return INT_MIN;
	if (!hs_drain(h) || r->state != HS_DONE) {
		/* still queued: the reset at the end of the case takes it */
		if (r->state == HS_DONE)
			hs_req_free(r);
		return INT_MIN;
	}
	st = r->used ? r->status : INT_MIN;
	if (id)
		*id = r->id;
	hs_req_free(r);
	return st;
}

static u32 hs_open(struct hs_dev *h)
{
	struct virtio_cryptodev_req q;
	u32 id = 0;

	hs_hdr(&q, VIRTIO_CRYPTODEV_OP_OPEN, 0);
	if (hs_run1(h, hs_build(h, &q, NULL, 0, HS_RESP, NULL, 0, NULL),
		    &id))
		return 0;
	return id;
}

static int hs_close(struct hs_dev *h, u32 handle)
{
	struct virtio_cryptodev_req q;

	hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CLOSE, handle);
	return hs_run1(h, hs_build(h, &q, NULL, 0, HS_RESP, NULL, 0, NULL),
		       NULL);
}

/* A session; 0 and a failure when the device refuses it. */
static u32 hs_session(struct hs_dev *h, u32 handle, u32 cipher,
		      const u8 *key, u32 keylen, u32 mac, const u8 *mackey,
		      u32 mackeylen)
{
	struct virtio_cryptodev_req q;
	u8 keys[VIRTIO_CRYPTODEV_MAX_KEY_LEN + VIRTIO_CRYPTODEV_MAX_MACKEY_LEN];
	u32 id = 0;

	hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CREATE_SESSION, handle);
	q.cipher = cpu_to_le32(cipher);
	q.mac = cpu_to_le32(mac);
	q.keylen = cpu_to_le32(keylen);
	q.mackeylen = cpu_to_le32(mackeylen);
	memcpy(keys, key, keylen);
	memcpy(keys + keylen, mackey, mackeylen);
	if (hs_run1(h, hs_build(h, &q, keys, keylen + mackeylen, HS_RESP,
				NULL, 0, NULL), &id))
		return 0;
	return id;
}

/* A CRYPT header: @ivlen IV bytes sent, @ivout and @maclen asked for. */
static void hs_crypt_hdr(struct virtio_cryptodev_req *q, u32 handle, u32 ses,
			 bool decrypt, u32 len, u32 ivlen, u32 dstlen,
			 u32 ivout, u32 maclen)
{
	hs_hdr(q, VIRTIO_CRYPTODEV_OP_CRYPT, handle);
	q->session = cpu_to_le32(ses);
	q->cop = cpu_to_le16(decrypt ? VIRTIO_CRYPTODEV_COP_DECRYPT :
				       VIRTIO_CRYPTODEV_COP_ENCRYPT);
	q->flags = cpu_to_le16(ivout ? VIRTIO_CRYPTODEV_F_WRITE_IV : 0);
	q->src_len = cpu_to_le32(len);
	q->iv_len = cpu_to_le32(ivlen);
	q->dst_len = cpu_to_le32(dstlen);
	q->iv_out_len = cpu_to_le32(ivout);
	q->mac_len = cpu_to_le32(maclen);
}

/*
 * A CRYPT of @len bytes of @src with @iv (16 bytes; NULL: none sent),
 * output @dstlen + @ivout + @maclen bytes; expects @want and @out.
 */
static struct hs_req *hs_crypt(struct hs_dev *h, u32 handle, u32 ses,
			       bool decrypt, const u8 *iv, const u8 *src,
			       u32 len, u32 dstlen, u32 ivout, u32 maclen,
			       const struct hs_cut *cut, int want,
			       const u8 *out)
{
	struct virtio_cryptodev_req q;
	u32 ivlen = iv ? 16 : 0;

	hs_crypt_hdr(&q, handle, ses, decrypt, len, ivlen, dstlen, ivout,
		     maclen);
	return hs_build2(h, &q, iv, ivlen, src, len,
			 (u64)dstlen + ivout + maclen + HS_RESP, cut, want,
			 out);
}

static void hs_reclaim_one(struct hs_dev *h, struct hs_req *r)
{
	u32 i;

	if (r->state != HS_QUEUED) {
		hs_fail(h, "a reset gave back a request not on the ring");
		return;
	}
	list_del_init(&r->node);
	r->state = HS_RECLAIMED;
	for (i = r->nread; i < r->nseg; i++)
		memset(hs_body(&r->seg[i]), HS_TAKEN_BACK, r->seg[i].len);
	list_add_tail(&r->node, &h->reclaimed);
}

static void hs_recycle(struct virtqueue *vq, void *buf)
{
	hs_reclaim_one(vq->vdev->priv, buf);
}

/*
 * Buffers a reset took back: after HS_SETTLE_MS, still untouched?
 * Frees them.
 */
static void hs_check_reclaimed(struct hs_dev *h)
{
	struct hs_req *r, *tmp;
	unsigned int written = 0, n = 0;

	msleep(HS_SETTLE_MS);
	list_for_each_entry_safe(r, tmp, &h->reclaimed, node) {
		n++;
		if (!hs_intact(h, r, "reclaimed") ||
		    !hs_out_is(r, r->wlen, HS_TAKEN_BACK))
			written++;
		list_del(&r->node);
		hs_req_free(r);
	}
	if (written)
		hs_fail(h, "the device wrote into %u of %u buffers taken back by a reset",
			written, n);
}

static int hs_find_vq(struct hs_dev *h)
{
	struct virtqueue *vq;

	vq = virtio_find_single_vq(h->vdev, hs_vq_done, "request");
	if (IS_ERR(vq))
		return PTR_ERR(vq);
	h->vq = vq;
	return 0;
}

/* Device reset (freeze) with requests in flight: they are taken back. */
static int hs_freeze(struct virtio_device *vdev)
{
	struct hs_dev *h = vdev->priv;
	struct hs_req *r;

	virtio_reset_device(vdev);
	/* answered before the reset: checked as usual */
	hs_reap(h);
	while ((r = virtqueue_detach_unused_buf(h->vq)))
		hs_reclaim_one(h, r);
	vdev->config->del_vqs(vdev);
	h->vq = NULL;
	return 0;
}

static int hs_restore(struct virtio_device *vdev)
{
	return hs_find_vq(vdev->priv);
}

/* A full device reset: everything on the ring is taken back. */
static bool hs_device_reset(struct hs_dev *h)
{
	int err;

	err = virtio_device_freeze(h->vdev);
	if (!err)
		err = virtio_device_restore(h->vdev);
	if (err || !h->vq) {
		hs_fail(h, "device reset failed: %d", err);
		return false;
	}
	if (hs_needs_reset(h)) {
		hs_fail(h, "device still needs a reset after one");
		return false;
	}
	return true;
}

/* ---- the cases ---------------------------------------------------------- */

static void hs_big_ref(struct hs_dev *h, u32 hd, u32 cbc);

static void hs_kat(struct hs_dev *h)
{
	static const u8 abc[3] = "abc";
	static const u8 jefe[4] = "Jefe";
	static const u8 jefe_data[28] = "what do ya want for nothing?";
	u8 expect[80], big_expect[96], ctr_next[16];
	u32 hd, cbc, ecb, ctr, sha, sha1, hmac, nul, both;
	struct virtio_cryptodev_req q;
	struct hs_req *r;

	hd = hs_open(h);
	if (!hd) {
		hs_fail(h, "OPEN failed");
		return;
	}
	cbc = hs_session(h, hd, HS_AES_CBC, kat_key, 16, 0, NULL, 0);
	ecb = hs_session(h, hd, HS_AES_ECB, kat_key, 16, 0, NULL, 0);
	ctr = hs_session(h, hd, HS_AES_CTR, kat_key, 16, 0, NULL, 0);
	sha = hs_session(h, hd, 0, NULL, 0, HS_SHA2_256, NULL, 0);
	sha1 = hs_session(h, hd, 0, NULL, 0, HS_SHA1, NULL, 0);
	hmac = hs_session(h, hd, 0, NULL, 0, HS_SHA2_256_HMAC, jefe, 4);
	nul = hs_session(h, hd, HS_NULL, kat_key, 16, 0, NULL, 0);
	both = hs_session(h, hd, HS_AES_CBC, kat_key, 16, HS_SHA2_256_HMAC,
			  jefe, 4);
	if (!cbc || !ecb || !ctr || !sha || !sha1 || !hmac || !nul || !both) {
		hs_fail(h, "CREATE_SESSION failed");
		goto out;
	}

	/*
	 * An expected answer is read when the answer comes: a buffer filled
	 * here is left alone until the next hs_drain().
	 */
	/* F.2.1 with the next IV: the last ciphertext block */
	hs_submit(h, hs_crypt(h, hd, cbc, false, kat_iv, kat_pt, 64, 64, 16, 0,
			      NULL, 0, kat_cbc_next));
	hs_submit(h, hs_crypt(h, hd, cbc, true, kat_iv, kat_cbc, 64, 64, 0, 0,
			      NULL, 0, kat_pt));
	hs_submit(h, hs_crypt(h, hd, ecb, false, NULL, kat_pt, 64, 64, 0, 0,
			      NULL, 0, kat_ecb));
	hs_submit(h, hs_crypt(h, hd, ctr, false, kat_ctr, kat_pt, 64, 64, 0, 0,
			      NULL, 0, kat_ctr_ct));
	/* CTR, partial last block: the counter advances by 3 blocks */
	memcpy(ctr_next, kat_ctr, 16);
	ctr_next[15] += 3;	/* 0xff + 3 carries */
	ctr_next[14] += 1;
	memcpy(expect, kat_ctr_ct, 37);
	memcpy(expect + 37, ctr_next, 16);
	hs_submit(h, hs_crypt(h, hd, ctr, false, kat_ctr, kat_pt, 37, 37, 16, 0,
			      NULL, 0, expect));
	hs_submit(h, hs_crypt(h, hd, sha, false, NULL, abc, 3, 0, 0, 32,
			      NULL, 0, kat_sha256_abc));
	hs_submit(h, hs_crypt(h, hd, sha1, false, NULL, abc, 3, 0, 0, 20,
			      NULL, 0, kat_sha1_abc));
	hs_submit(h, hs_crypt(h, hd, hmac, false, NULL, jefe_data, 28, 0, 0, 32,
			      NULL, 0, kat_hmac_jefe));
	hs_submit(h, hs_crypt(h, hd, nul, false, NULL, kat_pt, 61, 61, 0, 0,
			      NULL, 0, kat_pt));
	/* every request split into random small descriptors */
	{
		struct hs_cut split = { .rmax = 24, .wmax = 24, .random = true };

		hs_submit(h, hs_crypt(h, hd, cbc, true, kat_iv, kat_cbc, 64, 64,
				      0, 0, &split, 0, kat_pt));
	}
	hs_drain(h);

	/*
	 * A CRYPT of 0 bytes is valid; its next IV is the IV it was given,
	 * which becomes the session's running IV: the next CRYPT without an
	 * IV then chains from it.
	 */
	hs_submit(h, hs_crypt(h, hd, cbc, false, kat_iv, NULL, 0, 0, 16, 0,
			      NULL, 0, kat_iv));
	hs_drain(h);
	memcpy(expect, kat_cbc, 32);
	memcpy(expect + 32, kat_cbc + 16, 16);
	hs_submit(h, hs_crypt(h, hd, cbc, false, NULL, kat_pt, 32, 32, 16, 0,
			      NULL, 0, expect));
	hs_drain(h);
	/* ...and the next one from the last block of that one: F.2.1 again */
	memcpy(expect, kat_cbc + 32, 32);
	memcpy(expect + 32, kat_cbc + 48, 16);
	hs_submit(h, hs_crypt(h, hd, cbc, false, NULL, kat_pt + 32, 32, 32, 16,
			      0, NULL, 0, expect));
	hs_drain(h);

	/* cipher + HMAC: the ciphertext, then the plaintext's digest */
	memcpy(big_expect, kat_cbc, 64);
	memcpy(big_expect + 64, kat_hmac_jefe_pt, 32);
	hs_submit(h, hs_crypt(h, hd, both, false, kat_iv, kat_pt, 64, 64, 0, 32,
			      NULL, 0, big_expect));
	hs_drain(h);
	memcpy(big_expect, kat_pt, 64);
	hs_submit(h, hs_crypt(h, hd, both, true, kat_iv, kat_cbc, 64, 64, 0, 32,
			      NULL, 0, big_expect));
	hs_drain(h);

	/* SESSION_INFO: the algorithm names */
	hs_hdr(&q, VIRTIO_CRYPTODEV_OP_SESSION_INFO, hd);
	q.session = cpu_to_le32(cbc);
	r = hs_build(h, &q, NULL, 0,
		     sizeof(struct virtio_cryptodev_session_info) + HS_RESP,
		     NULL, 0, NULL);
	if (r) {
		struct virtio_cryptodev_session_info info;

		r->keep = true;
		if (!hs_submit(h, r) && hs_drain(h) && r->state == HS_DONE &&
		    r->status == 0) {
			hs_read_out(r, 0, &info, sizeof(info));
			if (strncmp(info.cipher.name, "cbc(aes)", 64) ||
			    info.hash.name[0])
				hs_fail(h, "SESSION_INFO: cipher '%.64s'",
					info.cipher.name);
		}
		hs_req_free(r);
	}
	/* the thread-pool reference, once */
	if (!h->big_pt)
		hs_big_ref(h, hd, cbc);
out:
	if (hs_close(h, hd))
		hs_fail(h, "CLOSE failed");
}

/*
 * The reference for the thread-pool CRYPTs: big_pt (kat_pt, then bytes of
 * the seed) encrypted by the device, accepted when its first 64 bytes are
 * F.2.1 and the device decrypts it back to big_pt.
 */
static void hs_big_ref(struct hs_dev *h, u32 hd, u32 cbc)
{
	unsigned int failures = h->cur->failures;
	struct hs_req *r;
	u32 i;

	h->big_pt = kvmalloc(HS_BIG, GFP_KERNEL);
	h->big_ct = kvmalloc(HS_BIG, GFP_KERNEL);
	if (!h->big_pt || !h->big_ct) {
		hs_fail(h, "no memory for the %u-byte reference", HS_BIG);
		goto err;
	}
	memcpy(h->big_pt, kat_pt, sizeof(kat_pt));
	for (i = sizeof(kat_pt); i < HS_BIG; i += 4)
		put_unaligned(prandom_u32_state(&h->rnd), (u32 *)(h->big_pt + i));
	r = hs_crypt(h, hd, cbc, false, kat_iv, h->big_pt, HS_BIG, HS_BIG, 0, 0,
		     NULL, 0, NULL);
	if (!r) {
		hs_fail(h, "no memory for the %u-byte reference", HS_BIG);
		goto err;
	}
	r->keep = true;
	if (hs_submit(h, r))
		goto err;
	if (!hs_drain(h) || r->state != HS_DONE || r->status) {
		hs_fail(h, "the %u-byte CBC reference request failed", HS_BIG);
		if (r->state == HS_DONE)
			hs_req_free(r);
		goto err;
	}
	hs_read_out(r, 0, h->big_ct, HS_BIG);
	hs_req_free(r);
	if (memcmp(h->big_ct, kat_cbc, sizeof(kat_cbc))) {
		hs_fail(h, "the %u-byte CBC reference does not start with F.2.1",
			HS_BIG);
		goto err;
	}
	h->cur->checked++;
	hs_submit(h, hs_crypt(h, hd, cbc, true, kat_iv, h->big_ct, HS_BIG,
			      HS_BIG, 0, 0, NULL, 0, h->big_pt));
	if (hs_drain(h) && h->cur->failures == failures)
		return;
err:
	kvfree(h->big_ct);
	h->big_ct = NULL;
}

/* A CRYPT of the first @len bytes of big_pt, expecting big_ct's. */
static struct hs_req *hs_big(struct hs_dev *h, u32 hd, u32 cbc, u32 len)
{
	return hs_crypt(h, hd, cbc, false, kat_iv, h->big_pt, len, len, 0, 0,
			NULL, 0, h->big_ct);
}

/* What the malformed requests refer to. */
struct hs_env {
	u32 hd;			/* an open handle */
	u32 cbc;		/* its AES-128-CBC session */
	u32 hmac;		/* its HMAC-SHA256 session */
	u32 foreign;		/* a session of another handle */
	u32 closed;		/* a closed handle */
	u32 freed;		/* a freed session of hd */
	u32 other;		/* the other handle */
};

/*
 * Malformed request number @k and the status it must get, in the order
 * the device checks (include/virtio_cryptodev.h): NULL past the last.
 */
static struct hs_req *hs_bad(struct hs_dev *h, unsigned int k,
			     const struct hs_env *e)
{
	struct virtio_cryptodev_req q;
	u8 pay[16 + 64 + 1] = { 0 };
	u8 keys[VIRTIO_CRYPTODEV_MAX_MACKEY_LEN + 1] = { 0 };
	u32 big = h->max_data_len + 16;
	struct hs_req *r;
	u8 raw[HS_HDR];

	memcpy(pay, kat_iv, 16);
	memcpy(pay + 16, kat_pt, 64);
	hs_crypt_hdr(&q, e->hd, e->cbc, false, 64, 16, 64, 0, 0);

	switch (k) {
	/* header: version, reserved, op, the op's own fields */
	case 0:
		q.version = cpu_to_le16(0);
		return hs_build(h, &q, pay, 80, 96, NULL, -EPROTO, NULL);
	case 1:	/* version wins over an unknown op */
		q.version = cpu_to_le16(VIRTIO_CRYPTODEV_WIRE_VERSION_MAX + 1);
		q.op = cpu_to_le16(99);
		return hs_build(h, &q, pay, 80, 96, NULL, -EPROTO, NULL);
	case 2:
		q.reserved = cpu_to_le32(1);
		return hs_build(h, &q, pay, 80, 96, NULL, -EINVAL, NULL);
	case 3:	/* reserved wins over an unknown handle */
		q.reserved = cpu_to_le32(0x80000000);
		q.handle = cpu_to_le32(0xdead);
		return hs_build(h, &q, pay, 80, 96, NULL, -EINVAL, NULL);
	case 4:
		q.op = cpu_to_le16(0);
		return hs_build(h, &q, pay, 80, 96, NULL, -EOPNOTSUPP, NULL);
	case 5:	/* an unknown op wins over an unknown handle */
		q.op = cpu_to_le16(0xffff);
		q.handle = cpu_to_le32(0xdead);
		return hs_build(h, &q, NULL, 0, HS_RESP, NULL, -EOPNOTSUPP,
				NULL);
	case 6:
		q.op = cpu_to_le16(VIRTIO_CRYPTODEV_OP_SESSION_INFO + 1);
		return hs_build(h, &q, NULL, 0, HS_RESP, NULL, -EOPNOTSUPP,
				NULL);
	case 7:
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_OPEN, 5);
		return hs_build(h, &q, NULL, 0, HS_RESP, NULL, -EINVAL, NULL);
	case 8:
		q.cop = cpu_to_le16(2);
		return hs_build(h, &q, pay, 80, 96, NULL, -EINVAL, NULL);
	case 9:
		q.flags = cpu_to_le16(2);
		return hs_build(h, &q, pay, 80, 96, NULL, -EINVAL, NULL);
	case 10:	/* a header field beyond the wire limit wins over E2BIG */
		q.iv_len = cpu_to_le32(VIRTIO_CRYPTODEV_MAX_IV_LEN + 1);
		q.src_len = cpu_to_le32(big);
		return hs_build(h, &q, pay, 80, 96, NULL, -EINVAL, NULL);
	case 11:
		q.mac_len = cpu_to_le32(VIRTIO_CRYPTODEV_MAX_DIGEST_LEN + 1);
		return hs_build(h, &q, pay, 80, 96, NULL, -EINVAL, NULL);
	/* handle, then session */
	case 12:
		q.handle = cpu_to_le32(0x12345678);
		return hs_build(h, &q, pay, 80, 96, NULL, -EBADF, NULL);
	case 13:
		q.handle = cpu_to_le32(e->closed);
		return hs_build(h, &q, pay, 80, 96, NULL, -EBADF, NULL);
	case 14:	/* a bad handle wins over E2BIG and bad sizes */
		q.handle = cpu_to_le32(0);
		q.src_len = cpu_to_le32(big);
		return hs_build(h, &q, pay, 3, 40, NULL, -EBADF, NULL);
	case 15:
		q.session = cpu_to_le32(0x7777);
		return hs_build(h, &q, pay, 80, 96, NULL, -EINVAL, NULL);
	case 16:
		q.session = cpu_to_le32(e->foreign);
		return hs_build(h, &q, pay, 80, 96, NULL, -EINVAL, NULL);
	case 17:
		q.session = cpu_to_le32(e->freed);
		return hs_build(h, &q, pay, 80, 96, NULL, -EINVAL, NULL);
	case 18:
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_FREE_SESSION, e->hd);
		q.session = cpu_to_le32(e->freed);
		return hs_build(h, &q, NULL, 0, HS_RESP, NULL, -EINVAL, NULL);
	case 19:
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_SESSION_INFO, e->hd);
		q.session = cpu_to_le32(e->foreign);
		return hs_build(h, &q, NULL, 0,
				sizeof(struct virtio_cryptodev_session_info) +
				HS_RESP, NULL, -EINVAL, NULL);
	/* CRYPT against its session, then the stream sizes */
	case 20:	/* E2BIG wins over sizes that disagree */
		q.src_len = cpu_to_le32(big);
		q.dst_len = cpu_to_le32(big);
		return hs_build(h, &q, pay, 80, 96, NULL, -E2BIG, NULL);
	case 21:
		q.src_len = cpu_to_le32(63);
		q.dst_len = cpu_to_le32(63);
		return hs_build(h, &q, pay, 79, 95, NULL, -EINVAL, NULL);
	case 22:
		q.iv_len = cpu_to_le32(8);
		return hs_build(h, &q, pay, 72, 96, NULL, -EINVAL, NULL);
	case 23:
		q.dst_len = cpu_to_le32(48);
		return hs_build(h, &q, pay, 80, 80, NULL, -EINVAL, NULL);
	case 24:	/* an IV out without the flag */
		q.iv_out_len = cpu_to_le32(16);
		return hs_build(h, &q, pay, 80, 112, NULL, -EINVAL, NULL);
	case 25:	/* the flag without room for the IV */
		q.flags = cpu_to_le16(VIRTIO_CRYPTODEV_F_WRITE_IV);
		return hs_build(h, &q, pay, 80, 96, NULL, -EINVAL, NULL);
	case 26:	/* a digest asked of a cipher session */
		q.mac_len = cpu_to_le32(32);
		return hs_build(h, &q, pay, 80, 128, NULL, -EINVAL, NULL);
	case 27:	/* readable: one byte more than the header says */
		return hs_build(h, &q, pay, 81, 96, NULL, -EINVAL, NULL);
	case 28:	/* readable: one byte less */
		return hs_build(h, &q, pay, 79, 96, NULL, -EINVAL, NULL);
	case 29:	/* writable: one byte more (the response still last) */
		return hs_build(h, &q, pay, 80, 97, NULL, -EINVAL, NULL);
	case 30:	/* writable: one byte less */
		return hs_build(h, &q, pay, 80, 95, NULL, -EINVAL, NULL);
	case 31:	/* only room for the response */
		return hs_build(h, &q, pay, 80, HS_RESP, NULL, -EINVAL, NULL);
	case 32:	/* no room for the response: dropped */
		r = hs_build(h, &q, pay, 80, HS_RESP - 1, NULL, 0, NULL);
		if (r)
			r->expect = HS_X_DROP;
		return r;
	case 33:	/* no writable descriptor at all: dropped */
		r = hs_build(h, &q, pay, 80, 0, NULL, 0, NULL);
		if (r)
			r->expect = HS_X_DROP;
		return r;
	case 34:	/* shorter than a header */
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_OPEN, 0);
		memcpy(raw, &q, sizeof(raw));
		r = hs_build_raw(h, raw, 40, HS_RESP, NULL);
		if (r) {
			r->expect = HS_X_STATUS;
			r->want = -EINVAL;
		}
		return r;
	case 35:	/* nothing readable */
		r = hs_build_raw(h, NULL, 0, HS_RESP, NULL);
		if (r) {
			r->expect = HS_X_STATUS;
			r->want = -EINVAL;
		}
		return r;
	case 36:	/* OPEN with a payload */
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_OPEN, 0);
		return hs_build(h, &q, pay, 1, HS_RESP, NULL, -EINVAL, NULL);
	/* CREATE_SESSION: sizes, then algorithms and keys */
	case 37:
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CREATE_SESSION, e->hd);
		return hs_build(h, &q, NULL, 0, HS_RESP, NULL, -EINVAL, NULL);
	case 38:
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CREATE_SESSION, e->hd);
		q.cipher = cpu_to_le32(12345);
		q.keylen = cpu_to_le32(16);
		return hs_build(h, &q, kat_key, 16, HS_RESP, NULL, -EINVAL, NULL);
	case 39:
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CREATE_SESSION, e->hd);
		q.cipher = cpu_to_le32(HS_AES_CBC);
		q.keylen = cpu_to_le32(15);
		return hs_build(h, &q, kat_key, 15, HS_RESP, NULL, -EINVAL, NULL);
	case 40:	/* the key beyond the chain */
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CREATE_SESSION, e->hd);
		q.cipher = cpu_to_le32(HS_AES_CBC);
		q.keylen = cpu_to_le32(16);
		return hs_build(h, &q, kat_key, 8, HS_RESP, NULL, -EINVAL, NULL);
	case 41:	/* limits +1: keys */
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CREATE_SESSION, e->hd);
		q.cipher = cpu_to_le32(HS_NULL);
		q.keylen = cpu_to_le32(VIRTIO_CRYPTODEV_MAX_KEY_LEN + 1);
		return hs_build(h, &q, keys, VIRTIO_CRYPTODEV_MAX_KEY_LEN + 1,
				HS_RESP, NULL, -EINVAL, NULL);
	case 42:
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CREATE_SESSION, e->hd);
		q.mac = cpu_to_le32(HS_SHA2_256_HMAC);
		q.mackeylen = cpu_to_le32(VIRTIO_CRYPTODEV_MAX_MACKEY_LEN + 1);
		return hs_build(h, &q, keys, VIRTIO_CRYPTODEV_MAX_MACKEY_LEN + 1,
				HS_RESP, NULL, -EINVAL, NULL);
	case 43:	/* a plain hash takes no key */
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CREATE_SESSION, e->hd);
		q.mac = cpu_to_le32(HS_SHA2_256);
		q.mackeylen = cpu_to_le32(1);
		return hs_build(h, &q, keys, 1, HS_RESP, NULL, -EINVAL, NULL);
	case 44:	/* a key without a cipher */
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CREATE_SESSION, e->hd);
		q.mac = cpu_to_le32(HS_SHA1);
		q.keylen = cpu_to_le32(16);
		return hs_build(h, &q, kat_key, 16, HS_RESP, NULL, -EINVAL, NULL);
	case 45:	/* a hash id as the cipher */
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CREATE_SESSION, e->hd);
		q.cipher = cpu_to_le32(HS_SHA1);
		return hs_build(h, &q, NULL, 0, HS_RESP, NULL, -EINVAL, NULL);
	/* CLOSE and FREE_SESSION with stray bytes */
	case 46:
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CLOSE, e->hd);
		return hs_build(h, &q, pay, 4, HS_RESP, NULL, -EINVAL, NULL);
	case 47:
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_FREE_SESSION, e->hd);
		q.session = cpu_to_le32(e->cbc);
		return hs_build(h, &q, NULL, 0, HS_RESP + 1, NULL, -EINVAL, NULL);
	case 48:	/* the digest of an HMAC session must be asked in full */
		hs_crypt_hdr(&q, e->hd, e->hmac, false, 64, 0, 0, 0, 20);
		return hs_build(h, &q, kat_pt, 64, 20 + HS_RESP, NULL, -EINVAL,
				NULL);
	case 49:	/* an HMAC session has no IV */
		hs_crypt_hdr(&q, e->hd, e->hmac, false, 64, 16, 0, 0, 32);
		return hs_build(h, &q, pay, 80, 32 + HS_RESP, NULL, -EINVAL,
				NULL);
	}
	return NULL;
}

/* Interesting values for a mutated header field. */
static u32 hs_value(struct hs_dev *h)
{
	static const u32 v[] = {
		0, 1, 2, 7, 15, 16, 17, 32, 63, 64, 65, 255, 256, 511, 512,
		513, 4096, 65535, 65536, 0x7fffffff, 0x80000000, 0xffffffff,
	};
	u32 i = hs_rand(h, ARRAY_SIZE(v) + 4);

	if (i < ARRAY_SIZE(v))
		return v[i];
	if (i == ARRAY_SIZE(v))
		return h->max_data_len + hs_rand(h, 33) - 16;
	return prandom_u32_state(&h->rnd);
}

/*
 * A valid CBC request with 1 to 3 header fields set to interesting values
 * and, sometimes, either stream a little off: any answer within the
 * header's contract will do.
 */
static struct hs_req *hs_fuzz(struct hs_dev *h, const struct hs_env *e)
{
	static const struct {
		u8 off;
		u8 size;
	} f[] = {
#define F(m) { offsetof(struct virtio_cryptodev_req, m), \
	       sizeof_field(struct virtio_cryptodev_req, m) }
		F(version), F(op), F(handle), F(session), F(cipher), F(mac),
		F(keylen), F(mackeylen), F(cop), F(flags), F(src_len),
		F(iv_len), F(dst_len), F(iv_out_len), F(mac_len), F(reserved),
#undef F
	};
	struct virtio_cryptodev_req q;
	u8 rd[HS_HDR + 16 + 64 + 16] = { 0 };
	u64 rlen = HS_HDR + 80, wlen = 64 + HS_RESP;
	struct hs_cut cut = { .rmax = 16 + hs_rand(h, 64), .wmax = 16 };
	struct hs_req *r;
	u32 n = 1 + hs_rand(h, 3), i;

	hs_crypt_hdr(&q, e->hd, e->cbc, false, 64, 16, 64, 0, 0);
	q.tag = cpu_to_le64(++h->next_tag);
	for (i = 0; i < n; i++) {
		u32 j = hs_rand(h, ARRAY_SIZE(f)), v = hs_value(h);
		u8 *p = (u8 *)&q + f[j].off;

		if (f[j].size == 2)
			put_unaligned_le16(v, p);
		else
			put_unaligned_le32(v, p);
	}
	if (!hs_rand(h, 3))
		rlen = (u64)((s64)rlen + (s64)hs_rand(h, 33) - 16);
	if (!hs_rand(h, 3))
		wlen = (u64)max_t(s64, 0, (s64)wlen + hs_rand(h, 129) - 96);
	memcpy(rd, &q, HS_HDR);
	memcpy(rd + HS_HDR, kat_iv, 16);
	memcpy(rd + HS_HDR + 16, kat_pt, 64);
	r = hs_build_raw(h, rd, rlen, wlen, hs_rand(h, 2) ? &cut : NULL);
	if (r)
		r->expect = HS_X_ANY;
	return r;
}

/*
 * An open handle with sessions, a session of another handle (numbered
 * above every session hd gets: hd gets no more), a freed session, a closed
 * handle.
 */
static bool hs_env_open(struct hs_dev *h, struct hs_env *e)
{
	memset(e, 0, sizeof(*e));
	e->hd = hs_open(h);
	e->other = hs_open(h);
	e->closed = hs_open(h);
	if (!e->hd || !e->other || !e->closed)
		goto err;
	e->cbc = hs_session(h, e->hd, HS_AES_CBC, kat_key, 16, 0, NULL, 0);
	e->hmac = hs_session(h, e->hd, 0, NULL, 0, HS_SHA2_256_HMAC, kat_key,
			     16);
	e->freed = hs_session(h, e->hd, HS_AES_ECB, kat_key, 16, 0, NULL, 0);
	do {
		e->foreign = hs_session(h, e->other, HS_AES_ECB, kat_key, 16,
					0, NULL, 0);
	} while (e->foreign && e->foreign <= e->freed);
	if (!e->cbc || !e->hmac || !e->freed || !e->foreign)
		goto err;
	{
		struct virtio_cryptodev_req q;

		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_FREE_SESSION, e->hd);
		q.session = cpu_to_le32(e->freed);
		if (hs_run1(h, hs_build(h, &q, NULL, 0, HS_RESP, NULL, 0, NULL),
			    NULL))
			goto err;
	}
	if (hs_close(h, e->closed))
		goto err;
	return true;
err:
	hs_fail(h, "setting up handles and sessions failed");
	return false;
}

static void hs_env_close(struct hs_dev *h, const struct hs_env *e)
{
	if (hs_close(h, e->hd) || hs_close(h, e->other))
		hs_fail(h, "CLOSE failed");
}

static void hs_errors(struct hs_dev *h)
{
	struct hs_env e;
	unsigned int k;
	struct hs_req *r;

	if (!hs_env_open(h, &e))
		return;
	/* one at a time, then all of them at once */
	for (k = 0; (r = hs_bad(h, k, &e)); k++) {
		hs_submit(h, r);
		if (!hs_drain(h))
			return;
	}
	for (k = 0; (r = hs_bad(h, k, &e)); k++)
		hs_submit(h, r);
	if (hs_drain(h))
		hs_env_close(h, &e);
}

/* The device's limits, reached and passed by one. */
static void hs_limits(struct hs_dev *h)
{
	struct virtio_cryptodev_req q;
	u32 *handles, n = 0, i, hd, ses;
	u8 *src;

	handles = kcalloc(h->max_handles + 1, sizeof(*handles), GFP_KERNEL);
	if (!handles) {
		hs_fail(h, "no memory");
		return;
	}
	/* handles: max_handles open, the next one -EMFILE */
	while (n < h->max_handles && !h->cur->failures) {
		struct hs_req *batch[64];
		u32 b = min_t(u32, ARRAY_SIZE(batch), h->max_handles - n);

		for (i = 0; i < b; i++) {
			hs_hdr(&q, VIRTIO_CRYPTODEV_OP_OPEN, 0);
			batch[i] = hs_build(h, &q, NULL, 0, HS_RESP, NULL, 0,
					    NULL);
			if (batch[i])
				batch[i]->keep = true;
			if (hs_submit(h, batch[i]))
				batch[i] = NULL;
		}
		hs_drain(h);
		for (i = 0; i < b; i++) {
			if (batch[i] && batch[i]->state == HS_DONE &&
			    batch[i]->used && !batch[i]->status)
				handles[n++] = batch[i]->id;
			if (batch[i] && batch[i]->state == HS_DONE)
				hs_req_free(batch[i]);
		}
		if (n % ARRAY_SIZE(batch) && n < h->max_handles)
			break;
	}
	if (n != h->max_handles) {
		hs_fail(h, "%u of %u handles opened", n, h->max_handles);
	} else {
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_OPEN, 0);
		hs_submit(h, hs_build(h, &q, NULL, 0, HS_RESP, NULL, -EMFILE,
				      NULL));
		hs_drain(h);
	}
	for (i = 0; i < n; i++) {
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CLOSE, handles[i]);
		hs_submit(h, hs_build(h, &q, NULL, 0, HS_RESP, NULL, 0, NULL));
	}
	hs_drain(h);
	kfree(handles);

	/* sessions: max_sessions on one handle, the next -ENOSPC */
	hd = hs_open(h);
	if (!hd) {
		hs_fail(h, "OPEN failed");
		return;
	}
	for (i = 0; i < h->max_sessions; i++) {
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CREATE_SESSION, hd);
		q.cipher = cpu_to_le32(HS_AES_ECB);
		q.keylen = cpu_to_le32(16);
		hs_submit(h, hs_build(h, &q, kat_key, 16, HS_RESP, NULL, 0,
				      NULL));
	}
	hs_drain(h);
	hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CREATE_SESSION, hd);
	q.cipher = cpu_to_le32(HS_AES_ECB);
	q.keylen = cpu_to_le32(16);
	hs_submit(h, hs_build(h, &q, kat_key, 16, HS_RESP, NULL, -ENOSPC, NULL));
	/* sizes are checked before the session count */
	hs_submit(h, hs_build(h, &q, kat_key, 15, HS_RESP, NULL, -EINVAL, NULL));
	hs_drain(h);
	if (hs_close(h, hd))
		hs_fail(h, "CLOSE of a handle with %u sessions failed",
			h->max_sessions);

	/*
	 * Keys at their limits, and max_data_len bytes through the NULL
	 * cipher (the output is the input).
	 */
	hd = hs_open(h);
	if (!hd)
		return;
	src = kvmalloc(h->max_data_len, GFP_KERNEL);
	ses = hs_session(h, hd, HS_NULL, src ?: kat_key,
			 VIRTIO_CRYPTODEV_MAX_KEY_LEN, 0, NULL, 0);
	if (!hs_session(h, hd, 0, NULL, 0, HS_SHA2_256_HMAC, src ?: kat_key,
			VIRTIO_CRYPTODEV_MAX_MACKEY_LEN))
		hs_fail(h, "an HMAC key of %d bytes refused",
			VIRTIO_CRYPTODEV_MAX_MACKEY_LEN);
	if (!ses || !src) {
		hs_fail(h, "NULL cipher session with a %d-byte key: %s",
			VIRTIO_CRYPTODEV_MAX_KEY_LEN, src ? "refused" : "no memory");
	} else {
		for (i = 0; i < h->max_data_len; i += 4)
			put_unaligned(prandom_u32_state(&h->rnd), (u32 *)(src + i));
		hs_submit(h, hs_crypt(h, hd, ses, false, NULL, src,
				      h->max_data_len, h->max_data_len, 0, 0,
				      NULL, 0, src));
		hs_drain(h);
		hs_submit(h, hs_crypt(h, hd, ses, false, NULL, src, 16, 16, 0,
				      0, NULL, 0, src));
		hs_drain(h);
	}
	kvfree(src);
	hs_close(h, hd);
}

/*
 * Rings full of known answers (small inline ones and big thread-pool
 * ones), malformed requests with their exact errno and fuzzed headers,
 * in random order, kicked at random points.
 */
static void hs_flood(struct hs_dev *h)
{
	static const u32 bigs[] = { 65536 + 16, 256 << 10, 1 << 20, HS_BIG };
	struct hs_env e;
	unsigned int round, i, nbad;
	struct hs_req *r;

	if (!hs_env_open(h, &e))
		return;
	for (nbad = 0; (r = hs_bad(h, nbad, &e)); nbad++)
		hs_req_free(r);
	for (round = 0; round < rounds && !h->cur->failures; round++) {
		unsigned int n = virtqueue_get_vring_size(h->vq);

		for (i = 0; i < n; i++) {
			u32 kind = hs_rand(h, 100);
			struct hs_cut split = { .rmax = 32, .wmax = 32,
						.random = true };

			if (kind < 40)
				r = hs_crypt(h, e.hd, e.cbc, false, kat_iv,
					     kat_pt, 64, 64, 0, 0,
					     hs_rand(h, 3) ? NULL : &split, 0,
					     kat_cbc);
			else if (kind < 50 && h->big_ct)
				r = hs_big(h, e.hd, e.cbc,
					   bigs[hs_rand(h, ARRAY_SIZE(bigs))]);
			else if (kind < 75)
				r = hs_bad(h, hs_rand(h, nbad), &e);
			else
				r = hs_fuzz(h, &e);
			if (hs_submit(h, r) == -ENOSPC)
				break;
			if (!hs_rand(h, 4))
				hs_kick(h);
		}
		hs_drain(h);
		/* whatever the fuzzing did, the handle still works */
		hs_submit(h, hs_crypt(h, e.hd, e.cbc, true, kat_iv, kat_cbc, 64,
				      64, 0, 0, NULL, 0, kat_pt));
		hs_drain(h);
	}
	hs_env_close(h, &e);
}

/* CLOSE and FREE_SESSION with the handle's CRYPTs in the thread pool. */
static void hs_close_inflight(struct hs_dev *h)
{
	struct virtio_cryptodev_req q;
	unsigned int round, i;
	u32 hd, ses;

	if (!h->big_ct) {
		h->cur->skip = "no verified thread-pool reference (see kat)";
		return;
	}
	for (round = 0; round < 3 && !h->cur->failures; round++) {
		hd = hs_open(h);
		ses = hs_session(h, hd, HS_AES_CBC, kat_key, 16, 0, NULL, 0);
		if (!hd || !ses) {
			hs_fail(h, "OPEN or CREATE_SESSION failed");
			return;
		}
		for (i = 0; i < 6; i++)
			hs_submit(h, hs_big(h, hd, ses, HS_BIG / 2));
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_FREE_SESSION, hd);
		q.session = cpu_to_le32(ses);
		hs_submit(h, hs_build(h, &q, NULL, 0, HS_RESP, NULL, 0, NULL));
		/* the session is gone for new requests */
		hs_submit(h, hs_crypt(h, hd, ses, false, kat_iv, kat_pt, 64, 64,
				      0, 0, NULL, -EINVAL, NULL));
		if (round == 1)
			ses = hs_session(h, hd, HS_AES_CBC, kat_key, 16, 0,
					 NULL, 0);
		hs_hdr(&q, VIRTIO_CRYPTODEV_OP_CLOSE, hd);
		hs_submit(h, hs_build(h, &q, NULL, 0, HS_RESP, NULL, 0, NULL));
		hs_submit(h, hs_crypt(h, hd, ses, false, kat_iv, kat_pt, 64, 64,
				      0, 0, NULL, -EBADF, NULL));
		hs_drain(h);
	}
}

/*
 * Up to @want CRYPTs of HS_BIG bytes on the ring, not kicked; as many as
 * fit. Their number.
 */
static unsigned int hs_big_batch(struct hs_dev *h, u32 hd, u32 ses,
				 unsigned int want)
{
	unsigned int n;
	struct hs_req *r;

	for (n = 0; n < want; n++) {
		r = hs_big(h, hd, ses, HS_BIG);
		if (!r) {
			hs_fail(h, "no memory for a %u-byte request", HS_BIG);
			break;
		}
		if (hs_add(h, r)) {
			hs_req_free(r);
			break;
		}
	}
	return n;
}

/* 16 known answers through @hd, all correct. */
static void hs_small_kats(struct hs_dev *h, u32 hd, u32 ses)
{
	unsigned int i;

	for (i = 0; i < 16; i++)
		hs_submit(h, hs_crypt(h, hd, ses, false, kat_iv, kat_pt, 64, 64,
				      16, 0, NULL, 0, kat_cbc_next));
	hs_drain(h);
}

/*
 * The queue alone is reset (VIRTIO_F_RING_RESET, virtqueue_resize())
 * with CRYPTs in the thread pool: the device must drop their answers.
 */
static void hs_queue_reset(struct hs_dev *h)
{
	unsigned int round, n;
	u32 hd, ses, size, max;
	int err;

	if (!h->ring_reset) {
		h->cur->skip = "VIRTIO_F_RING_RESET not negotiated (queue_reset=off)";
		return;
	}
	if (!h->big_ct) {
		h->cur->skip = "no verified thread-pool reference (see kat)";
		return;
	}
	max = h->vq->num_max;
	for (round = 0; round < 2 && !h->cur->failures; round++) {
		hd = hs_open(h);
		ses = hs_session(h, hd, HS_AES_CBC, kat_key, 16, 0, NULL, 0);
		if (!hd || !ses) {
			hs_fail(h, "OPEN or CREATE_SESSION failed");
			return;
		}
		/*
		 * Round 0: more than max-inflight-bytes (64 MiB of copies by
		 * default), so some wait in the ring; round 1 on the ring the
		 * first resized.
		 */
		n = hs_big_batch(h, hd, ses, round == 0 ? 18 : 12);
		hs_kick(h);
		size = virtqueue_get_vring_size(h->vq) == max ? max / 2 : max;
		err = virtqueue_resize(h->vq, size, hs_recycle);
		if (err) {
			hs_fail(h, "virtqueue_resize to %u: %d", size, err);
			return;
		}
		/* the handle outlives a queue reset */
		hs_small_kats(h, hd, ses);
		hs_check_reclaimed(h);
		hs_drain(h);
		if (hs_needs_reset(h))
			hs_fail(h, "device needs a reset after a queue reset");
		if (hs_close(h, hd))
			hs_fail(h, "CLOSE after a queue reset failed");
		if (!n)
			hs_fail(h, "no thread-pool request fit on the ring");
	}
}

/* A device reset with CRYPTs in the thread pool. */
static void hs_dev_reset(struct hs_dev *h)
{
	unsigned int round;
	u32 hd, ses;

	if (!h->big_ct) {
		h->cur->skip = "no verified thread-pool reference (see kat)";
		return;
	}
	for (round = 0; round < 2 && !h->cur->failures; round++) {
		hd = hs_open(h);
		ses = hs_session(h, hd, HS_AES_CBC, kat_key, 16, 0, NULL, 0);
		if (!hd || !ses) {
			hs_fail(h, "OPEN or CREATE_SESSION failed");
			return;
		}
		if (!hs_big_batch(h, hd, ses, 12))
			hs_fail(h, "no thread-pool request fit on the ring");
		hs_kick(h);
		if (!hs_device_reset(h))
			return;
		/* a reset closes every handle */
		hs_submit(h, hs_crypt(h, hd, ses, false, kat_iv, kat_pt, 64, 64,
				      0, 0, NULL, -EBADF, NULL));
		hd = hs_open(h);
		ses = hs_session(h, hd, HS_AES_CBC, kat_key, 16, 0, NULL, 0);
		if (!hd || !ses) {
			hs_fail(h, "OPEN or CREATE_SESSION after reset failed");
			return;
		}
		hs_small_kats(h, hd, ses);
		hs_check_reclaimed(h);
		hs_drain(h);
		hs_close(h, hd);
	}
}

/*
 * A request the virtio core must refuse: no answer, the device marked
 * broken (NEEDS_RESET), QEMU alive; a reset brings the device back.
 */
static void hs_breaks_device(struct hs_dev *h, struct hs_req *r,
			     const char *what)
{
	unsigned int left;

	if (!r || hs_add(h, r)) {
		hs_fail(h, "%s: could not be queued", what);
		hs_req_free(r);
		return;
	}
	hs_kick(h);
	left = hs_wait_all(h, HZ);
	if (!left)
		hs_fail(h, "%s: answered", what);
	else if (!hs_needs_reset(h))
		hs_fail(h, "%s: device not marked NEEDS_RESET", what);
	else
		h->cur->errors++;
	if (!hs_device_reset(h))
		return;
	hs_check_reclaimed(h);
	if (!hs_open(h))
		hs_fail(h, "%s: the device does not work after a reset", what);
}

/* Descriptor-level limits: many, zero-length and too many descriptors. */
static void hs_chains(struct hs_dev *h)
{
	struct hs_cut ones = { .rmax = 1, .wmax = 1 };
	struct hs_cut zero = { .zero = true };
	struct virtio_cryptodev_req q;
	u32 hd, nul, len;
	u8 *src;

	hd = hs_open(h);
	nul = hs_session(h, hd, HS_NULL, NULL, 0, 0, NULL, 0);
	src = kmalloc(1024, GFP_KERNEL);
	if (!hd || !nul || !src) {
		hs_fail(h, "setup failed");
		kfree(src);
		return;
	}
	memset(src, 0x3c, 1024);
	/*
	 * One byte per descriptor: 64 + len readable and len + 32 writable.
	 * QEMU takes up to 1024 buffers in a chain (VIRTQUEUE_MAX_SIZE).
	 */
	len = (1024 - HS_HDR - HS_RESP) / 2;
	if (h->indirect) {
		hs_submit(h, hs_crypt(h, hd, nul, false, NULL, src, len, len, 0,
				      0, &ones, 0, src));
		hs_drain(h);
	}
	/* as many one-byte descriptors as the ring takes without indirect */
	len = (virtqueue_get_vring_size(h->vq) - HS_HDR - HS_RESP) / 2;
	if (!h->indirect && virtqueue_get_vring_size(h->vq) > HS_HDR + HS_RESP) {
		hs_submit(h, hs_crypt(h, hd, nul, false, NULL, src, len, len, 0,
				      0, &ones, 0, src));
		hs_drain(h);
	}
	hs_hdr(&q, VIRTIO_CRYPTODEV_OP_OPEN, 0);
	hs_breaks_device(h, hs_build(h, &q, NULL, 0, HS_RESP, &zero, 0, NULL),
			 "a zero-length descriptor");
	if (h->indirect) {
		len = (1024 - HS_HDR - HS_RESP) / 2 + 1;
		hd = hs_open(h);
		nul = hs_session(h, hd, HS_NULL, NULL, 0, 0, NULL, 0);
		hs_breaks_device(h, hs_crypt(h, hd, nul, false, NULL, src, len,
					     len, 0, 0, &ones, 0, src),
				 "a chain of 1026 descriptors");
	}
	kfree(src);
}

/* ---- driver and report -------------------------------------------------- */

static const struct {
	const char *name;
	void (*run)(struct hs_dev *h);
} hs_cases[] = {
	{ "kat", hs_kat },
	{ "errors", hs_errors },
	{ "limits", hs_limits },
	{ "flood", hs_flood },
	{ "close-inflight", hs_close_inflight },
	{ "queue-reset", hs_queue_reset },
	{ "device-reset", hs_dev_reset },
	{ "chains", hs_chains },
	{ "kat-after", hs_kat },
};

static void hs_run_case(struct hs_dev *h, struct hs_case *c, unsigned int k,
			unsigned int num, const char *prefix)
{
	unsigned long start = jiffies;
	unsigned int i;

	h->cur = c;
	if (h->vq && !hs_needs_reset(h))
		hs_cases[k].run(h);
	else
		hs_fail(h, "device not usable at the start");
	/* nothing may stay on the ring into the next case */
	if (h->vq && !list_empty(&h->queued)) {
		hs_drain(h);
		if (!list_empty(&h->queued) && hs_device_reset(h))
			hs_check_reclaimed(h);
	}
	for (i = 0; i < c->ndiag; i++)
		hs_out("# %s%s: %s\n", prefix, c->name, c->diag[i]);
	if (c->failures > c->ndiag)
		hs_out("# %s%s: ... %u failures in all\n", prefix, c->name,
		       c->failures);
	hs_out("# %s%s: requests %llu, answers checked %llu, errors %llu, %u ms\n",
	       prefix, c->name, c->requests, c->checked, c->errors,
	       jiffies_to_msecs(jiffies - start));
	if (c->skip && !c->failures)
		hs_out("ok %u %s%s # SKIP %s\n", num, prefix, c->name, c->skip);
	else
		hs_out("%s %u %s%s\n", c->failures ? "not ok" : "ok", num,
		       prefix, c->name);
}

static void hs_run_all(void)
{
	u64 requests = 0, checked = 0, errors = 0;
	unsigned int ndev = 0, n = 0, i;
	struct hs_case *c;
	struct hs_dev *h;

	c = kcalloc(ARRAY_SIZE(hs_cases), sizeof(*c), GFP_KERNEL);
	if (!c)
		return;
	mutex_lock(&hs_lock);
	list_for_each_entry(h, &hs_devices, node)
		ndev++;
	hs_out("KTAP version 1\n1..%zu\n", ndev * ARRAY_SIZE(hs_cases));
	list_for_each_entry(h, &hs_devices, node) {
		char prefix[40] = "";

		if (ndev > 1)
			snprintf(prefix, sizeof(prefix), "%s ",
				 dev_name(&h->vdev->dev));
		hs_out("# %sfeatures:%s%s%s%s, ring %u, max_handles %u, max_sessions %u, max_data_len %u, seed %u\n",
		       prefix, h->packed ? " packed" : " split",
		       h->indirect ? " indirect_desc" : "",
		       virtio_has_feature(h->vdev, VIRTIO_RING_F_EVENT_IDX) ?
				" event_idx" : "",
		       h->ring_reset ? " ring_reset" : "",
		       virtqueue_get_vring_size(h->vq), h->max_handles,
		       h->max_sessions, h->max_data_len, seed);
		for (i = 0; i < ARRAY_SIZE(hs_cases); i++) {
			memset(c, 0, sizeof(*c));
			c->name = hs_cases[i].name;
			hs_run_case(h, c, i, ++n, prefix);
			requests += c->requests;
			checked += c->checked;
			errors += c->errors;
		}
	}
	hs_out("# totals: requests %llu, answers checked %llu, errors %llu\n",
	       requests, checked, errors);
	mutex_unlock(&hs_lock);
	kfree(c);
}

static int hs_show(struct seq_file *m, void *v)
{
	mutex_lock(&hs_lock);
	if (hs_report)
		seq_write(m, hs_report, hs_report_len);
	mutex_unlock(&hs_lock);
	return 0;
}

static int hs_probe(struct virtio_device *vdev)
{
	struct hs_dev *h;
	u32 version;
	int err;

	virtio_cread_le(vdev, struct virtio_cryptodev_config, wire_version,
			&version);
	if (version != VIRTIO_CRYPTODEV_WIRE_VERSION)
		return -ENODEV;
	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	h->vdev = vdev;
	vdev->priv = h;
	init_waitqueue_head(&h->wq);
	INIT_LIST_HEAD(&h->queued);
	INIT_LIST_HEAD(&h->reclaimed);
	prandom_seed_state(&h->rnd, seed);
	virtio_cread_le(vdev, struct virtio_cryptodev_config, max_handles,
			&h->max_handles);
	virtio_cread_le(vdev, struct virtio_cryptodev_config, max_sessions,
			&h->max_sessions);
	virtio_cread_le(vdev, struct virtio_cryptodev_config, max_data_len,
			&h->max_data_len);
	h->indirect = virtio_has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC);
	h->packed = virtio_has_feature(vdev, VIRTIO_F_RING_PACKED);
	h->ring_reset = virtio_has_feature(vdev, VIRTIO_F_RING_RESET);
	err = hs_find_vq(h);
	if (err) {
		kfree(h);
		return err;
	}
	virtio_device_ready(vdev);
	mutex_lock(&hs_lock);
	list_add_tail(&h->node, &hs_devices);
	mutex_unlock(&hs_lock);
	return 0;
}

static void hs_remove(struct virtio_device *vdev)
{
	struct hs_dev *h = vdev->priv;
	struct hs_req *r, *tmp;

	mutex_lock(&hs_lock);
	list_del(&h->node);
	mutex_unlock(&hs_lock);
	virtio_reset_device(vdev);
	if (h->vq) {
		while ((r = virtqueue_get_buf(h->vq, &(unsigned int){ 0 })))
			list_del_init(&r->node);
		while ((r = virtqueue_detach_unused_buf(h->vq)))
			list_del_init(&r->node);
		vdev->config->del_vqs(vdev);
	}
	list_for_each_entry_safe(r, tmp, &h->queued, node)
		hs_req_free(r);
	list_for_each_entry_safe(r, tmp, &h->reclaimed, node)
		hs_req_free(r);
	kvfree(h->big_pt);
	kvfree(h->big_ct);
	kfree(h);
}

static const struct virtio_device_id hs_id_table[] = {
	{ VIRTIO_ID_CRYPTODEV, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static struct virtio_driver hs_driver = {
	.driver.name = KBUILD_MODNAME,
	.driver.owner = THIS_MODULE,
	.id_table = hs_id_table,
	.probe = hs_probe,
	.remove = hs_remove,
	.freeze = hs_freeze,
	.restore = hs_restore,
};

static int __init hs_init(void)
{
	int err;

	memcpy(kat_cbc_next, kat_cbc, 64);
	memcpy(kat_cbc_next + 64, kat_cbc + 48, 16);
	err = register_virtio_driver(&hs_driver);
	if (err)
		return err;
	if (!proc_create_single(KBUILD_MODNAME, 0444, NULL, hs_show)) {
		unregister_virtio_driver(&hs_driver);
		return -ENOMEM;
	}
	hs_run_all();
	return 0;
}

static void __exit hs_exit(void)
{
	remove_proc_entry(KBUILD_MODNAME, NULL);
	unregister_virtio_driver(&hs_driver);
	kfree(hs_report);
}

module_init(hs_init);
module_exit(hs_exit);

MODULE_DESCRIPTION("virtio-cryptodev: a hostile driver (test fixture)");
MODULE_LICENSE("GPL");
