/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vcryptodev: private declarations shared by the module's source files.
 *
 * main.c     module init/exit, virtio probe/remove, minors, sysfs counters
 * request.c  one request on the virtqueue: buffers, submit, completion
 * chrdev.c   /dev/cryptodevN file operations and the cryptodev-linux ioctls
 */
#ifndef VCRYPTODEV_PRIV_H
#define VCRYPTODEV_PRIV_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/scatterlist.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/virtio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <virtio_cryptodev.h>

#define VCD_NAME		"cryptodev"
#define VCD_MAX_MINORS		64

/* Data bytes of one CRYPT the driver accepts, whatever the device allows. */
#define VCD_MAX_DATA_LEN	(4u << 20)
/* Data buffers are kmalloc'ed in chunks of this size (no high orders). */
#define VCD_CHUNK_SIZE		(64u << 10)
#define VCD_MAX_CHUNKS		(VCD_MAX_DATA_LEN / VCD_CHUNK_SIZE)

/* Per virtio device; refcounted: the device itself and every open file. */
struct vcd_device {
	struct kref kref;
	struct virtio_device *vdev;	/* not used once dead */
	struct virtqueue *vq;		/* not used once dead */
	spinlock_t vq_lock;		/* the ring: add/kick/get, and dead */
	wait_queue_head_t vq_wait;	/* room in the ring, or dead */
	bool dead;			/* removed: every new request -ENODEV */
	bool indirect;			/* VIRTIO_RING_F_INDIRECT_DESC */
	unsigned int ring_free;		/* vq->num_free, copied under vq_lock */
	unsigned int ring_size;		/* descriptors in the ring, from probe */
	int minor;
	struct device *chrdev;
	atomic64_t next_tag;

	/* from the device's config space */
	u32 engine;
	u32 max_data_len;
	u32 wire_version;		/* requests are written in this one */

	/* counters, in sysfs */
	atomic64_t requests;
	atomic64_t errors;
	atomic64_t bytes;
	atomic_t in_flight;
	atomic_t handles;
	atomic_t sessions;
};

/*
 * Default of the zc_min parameter: requests of at least this many data
 * bytes use the caller's pages directly (pinned, no copy) when the ring
 * takes indirect descriptors; smaller ones are copied (cheaper there).
 */
#define VCD_ZC_MIN		4096u
/* At most this many descriptors in one chain (QEMU takes 1024). */
#define VCD_MAX_DESC		1000u

/*
 * A data buffer: either kmalloc'ed chunks filled by copies, or the pinned
 * pages of the user's buffer (zero copy). One scatterlist entry per chunk
 * or page.
 */
struct vcd_buf {
	u32 len;
	u32 nchunks;			/* copied: chunks in use */
	void *chunk[VCD_MAX_CHUNKS];
	struct page **pages;		/* pinned: the user's pages */
	u32 npages;
	u32 offset;			/* of the data in pages[0] */
	bool writable;			/* pinned for the device to write */
};

/*
 * One request on the virtqueue. Two references while it is queued: the
 * submitter's and the device's (dropped by the completion callback, or by
 * remove). Whichever is dropped last frees it, so a submitter killed while
 * waiting never leaves the device writing into freed memory.
 */
struct vcd_request {
	refcount_t ref;
	struct completion done;
	struct list_head node;		/* on a local list while completing */
	int status;			/* resp.status, or a driver error */
	u32 written;

	struct virtio_cryptodev_req hdr;	/* device-readable */
	struct virtio_cryptodev_resp resp;	/* device-writable */

	/*
	 * Small operands, inline so the request is one allocation.
	 * in_small (device-readable, after hdr): key then mackey, or the IV.
	 * out_small (device-writable, before resp): the next IV then the
	 * digest, or the session info.
	 */
	u32 in_len;
	u32 out_len;
	u8 in_small[VIRTIO_CRYPTODEV_MAX_KEY_LEN + VIRTIO_CRYPTODEV_MAX_MACKEY_LEN];
	u8 out_small[sizeof(struct virtio_cryptodev_session_info)];
	/* AUTHCRYPT: in_small is struct virtio_cryptodev_aead then the IV */

	/* big operands: src is device-readable, dst device-writable */
	bool use_src;
	bool use_dst;
	/* wait for ring space even with a signal pending (CLOSE) */
	bool must_send;
	/* OPEN whose opener was killed: close the handle it got (kref held) */
	struct vcd_device *orphan_open;
	struct vcd_buf src;
	struct vcd_buf dst;
	struct work_struct free_work;	/* last put in interrupt context */
};

/* What the driver remembers of a session (the device holds the rest). */
struct vcd_session {
	u32 cipher;
	u32 mac;
	u16 block_size;
	u16 iv_len;
	u16 digest_len;
};

/* Per open file (shared by dup, fork and CRIOGET). */
struct vcd_file {
	struct vcd_device *vcd;		/* one kref held */
	u32 handle;			/* the device-side handle */
	struct xarray sessions;		/* session id -> struct vcd_session */
};

/* main.c */
extern struct workqueue_struct *vcd_wq;
struct vcd_device *vcd_get_by_minor(unsigned int minor);
void vcd_put(struct vcd_device *vcd);
extern const struct attribute_group *vcd_attr_groups[];

/* request.c */
struct vcd_request *vcd_req_alloc(struct vcd_device *vcd, u16 op, u32 handle);
void vcd_req_put(struct vcd_request *req);
void vcd_close_handle(struct vcd_device *vcd, u32 handle);
int vcd_buf_alloc(struct vcd_buf *buf, u32 len);
int vcd_buf_from_user(struct vcd_buf *buf, const u8 __user *src);
int vcd_buf_to_user(const struct vcd_buf *buf, u8 __user *dst, u32 len);
int vcd_buf_copy_in(struct vcd_buf *buf, u32 off, const u8 __user *src, u32 n);
int vcd_buf_copy_out(struct vcd_buf *buf, u32 off, u8 __user *dst, u32 n);
int vcd_buf_pin(struct vcd_buf *buf, const u8 __user *uaddr, u32 len,
		bool writable);
u32 vcd_span_pages(const u8 __user *uaddr, u32 len);
int vcd_req_run(struct vcd_device *vcd, struct vcd_request *req);
void vcd_vq_done(struct virtqueue *vq);
void vcd_fail_all(struct vcd_device *vcd);

/* chrdev.c */
extern const struct file_operations vcd_fops;

#endif /* VCRYPTODEV_PRIV_H */
