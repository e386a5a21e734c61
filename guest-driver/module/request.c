// SPDX-License-Identifier: GPL-2.0
/*
 * vcryptodev: one request on the virtqueue.
 *
 * A request's header and small operands live in the request itself; its
 * data buffers are either kmalloc'ed chunks, filled from and copied back
 * to user memory by vcd_buf_from_user() and vcd_buf_to_user() in the
 * submitter's context, or the caller's own pages pinned by vcd_buf_pin().
 * The request is added to the ring under vq_lock and completed by the
 * virtqueue callback, which finds it by its token and checks the tag the
 * device echoes; neither touches user memory. The submitter sleeps on the
 * request's own completion: interruptibly for room in the ring, killably
 * for the answer. A submitter that is killed drops its reference and
 * leaves; the buffers stay alive until the device hands the request back.
 */
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vcryptodev.h"

static_assert(sizeof_field(struct vcd_request, out_small) >=
	      VIRTIO_CRYPTODEV_MAX_IV_LEN + VIRTIO_CRYPTODEV_MAX_DIGEST_LEN);

struct vcd_request *vcd_req_alloc(struct vcd_device *vcd, u16 op, u32 handle)
{
	struct vcd_request *req;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return NULL;
	refcount_set(&req->ref, 1);
	init_completion(&req->done);
	INIT_LIST_HEAD(&req->node);
	req->hdr.version = cpu_to_le16(vcd->wire_version);
	req->hdr.op = cpu_to_le16(op);
	req->hdr.handle = cpu_to_le32(handle);
	req->hdr.tag = cpu_to_le64(atomic64_inc_return(&vcd->next_tag));
	return req;
}

/* May sleep (unpinning written pages takes the page lock). */
static void vcd_buf_free(struct vcd_buf *buf)
{
	u32 i;

	for (i = 0; i < buf->nchunks; i++)
		kfree(buf->chunk[i]);
	buf->nchunks = 0;
	if (buf->pages) {
		unpin_user_pages_dirty_lock(buf->pages, buf->npages,
					    buf->writable);
		kfree(buf->pages);
		buf->pages = NULL;
		buf->npages = 0;
	}
	buf->len = 0;
}

static void vcd_req_free(struct vcd_request *req)
{
	struct vcd_device *orphan = req->orphan_open;

	/* the device opened a handle nobody will close: close it now */
	if (orphan && completion_done(&req->done) && !req->status)
		vcd_close_handle(orphan, le32_to_cpu(req->resp.id));
	if (orphan)
		vcd_put(orphan);
	vcd_buf_free(&req->src);
	vcd_buf_free(&req->dst);
	kfree_sensitive(req);
}

static void vcd_req_free_work(struct work_struct *work)
{
	vcd_req_free(container_of(work, struct vcd_request, free_work));
}

/*
 * Drops a reference. The last one usually goes in the submitter's context;
 * when it goes in the virtqueue callback (the submitter was killed), the
 * freeing, which may sleep, is left to a work item.
 */
void vcd_req_put(struct vcd_request *req)
{
	if (!req || !refcount_dec_and_test(&req->ref))
		return;
	if (!in_task()) {
		INIT_WORK(&req->free_work, vcd_req_free_work);
		queue_work(vcd_wq, &req->free_work);
		return;
	}
	vcd_req_free(req);
}

/* Pages spanned by @len bytes at @uaddr (what vcd_buf_pin() would pin). */
u32 vcd_span_pages(const u8 __user *uaddr, u32 len)
{
	return DIV_ROUND_UP(offset_in_page(uaddr) + (u64)len, PAGE_SIZE);
}

/*
 * Zero copy: pins the user's pages for the device to read (or, @writable,
 * to write). -EFAULT when any of them is not mapped (or not writable).
 */
int vcd_buf_pin(struct vcd_buf *buf, const u8 __user *uaddr, u32 len,
		bool writable)
{
	u32 n = vcd_span_pages(uaddr, len);
	int got;

	if (!access_ok(uaddr, len))
		return -EFAULT;
	buf->pages = kmalloc_array(n, sizeof(*buf->pages), GFP_KERNEL);
	if (!buf->pages)
		return -ENOMEM;
	got = pin_user_pages_fast((unsigned long)uaddr, n,
				  writable ? FOLL_WRITE : 0, buf->pages);
	if (got != n) {
		if (got > 0)
			unpin_user_pages(buf->pages, got);
		kfree(buf->pages);
		buf->pages = NULL;
		return got < 0 && got != -EFAULT ? got : -EFAULT;
	}
	buf->npages = n;
	buf->offset = offset_in_page(uaddr);
	buf->len = len;
	buf->writable = writable;
	return 0;
}

static u32 vcd_chunk_len(const struct vcd_buf *buf, u32 i)
{
	return min_t(u32, buf->len - i * VCD_CHUNK_SIZE, VCD_CHUNK_SIZE);
}

int vcd_buf_alloc(struct vcd_buf *buf, u32 len)
{
	u32 n = DIV_ROUND_UP(len, VCD_CHUNK_SIZE);

	if (len > VCD_MAX_DATA_LEN)
		return -EINVAL;
	buf->len = len;
	for (buf->nchunks = 0; buf->nchunks < n; buf->nchunks++) {
		u32 clen = vcd_chunk_len(buf, buf->nchunks);

		buf->chunk[buf->nchunks] = kmalloc(clen, GFP_KERNEL);
		if (!buf->chunk[buf->nchunks]) {
			vcd_buf_free(buf);
			return -ENOMEM;
		}
	}
	return 0;
}

int vcd_buf_from_user(struct vcd_buf *buf, const u8 __user *src)
{
	u32 i;

	for (i = 0; i < buf->nchunks; i++) {
		if (copy_from_user(buf->chunk[i], src + (size_t)i * VCD_CHUNK_SIZE,
				   vcd_chunk_len(buf, i)))
			return -EFAULT;
	}
	return 0;
}

int vcd_buf_to_user(const struct vcd_buf *buf, u8 __user *dst, u32 len)
{
	u32 i, done = 0;

	for (i = 0; i < buf->nchunks && done < len; i++) {
		u32 clen = min(vcd_chunk_len(buf, i), len - done);

		if (copy_to_user(dst + done, buf->chunk[i], clen))
			return -EFAULT;
		done += clen;
	}
	return 0;
}

/*
 * Copies @n bytes between user memory at @u and a copied buffer at @off;
 * -EFAULT on a bad user pointer. The range must lie inside @buf.
 */
static int vcd_buf_copy(struct vcd_buf *buf, u32 off, void __user *u, u32 n,
			bool to_user)
{
	while (n) {
		u32 i = off / VCD_CHUNK_SIZE, at = off % VCD_CHUNK_SIZE;
		u32 k = min(n, vcd_chunk_len(buf, i) - at);
		u8 *p = (u8 *)buf->chunk[i] + at;

		if (to_user ? copy_to_user(u, p, k) : copy_from_user(p, u, k))
			return -EFAULT;
		u += k;
		off += k;
		n -= k;
	}
	return 0;
}

int vcd_buf_copy_in(struct vcd_buf *buf, u32 off, const u8 __user *src, u32 n)
{
	if (off > buf->len || n > buf->len - off || buf->pages)
		return -EINVAL;
	return vcd_buf_copy(buf, off, (void __user *)src, n, false);
}

int vcd_buf_copy_out(struct vcd_buf *buf, u32 off, u8 __user *dst, u32 n)
{
	if (off > buf->len || n > buf->len - off || buf->pages)
		return -EINVAL;
	return vcd_buf_copy(buf, off, dst, n, true);
}

/* Completes one request handed back by the device (or failed by remove). */
static void vcd_req_finish(struct vcd_device *vcd, struct vcd_request *req,
			   unsigned int len, bool from_device)
{
	int status;

	if (!from_device) {
		status = -ENODEV;
	} else if (len < sizeof(req->resp) ||
		   le64_to_cpu(req->resp.tag) != le64_to_cpu(req->hdr.tag)) {
		/* No (or a foreign) response: the device dropped it. */
		status = -EIO;
	} else {
		status = (s32)le32_to_cpu(req->resp.status);
		if (status > 0 || status < -MAX_ERRNO)
			status = -EIO;
		req->written = le32_to_cpu(req->resp.written);
	}
	req->status = status;
	if (status)
		atomic64_inc(&vcd->errors);
	atomic_dec(&vcd->in_flight);
	complete(&req->done);
	vcd_req_put(req);
}

/* The virtqueue callback (interrupt context). */
void vcd_vq_done(struct virtqueue *vq)
{
	struct vcd_device *vcd = vq->vdev->priv;
	struct vcd_request *req, *tmp;
	unsigned long flags;
	unsigned int len;
	LIST_HEAD(done);

	spin_lock_irqsave(&vcd->vq_lock, flags);
	do {
		virtqueue_disable_cb(vq);
		while ((req = virtqueue_get_buf(vq, &len))) {
			req->written = len;	/* used length, checked below */
			list_add_tail(&req->node, &done);
		}
	} while (!virtqueue_enable_cb(vq));
	WRITE_ONCE(vcd->ring_free, vq->num_free);
	spin_unlock_irqrestore(&vcd->vq_lock, flags);

	list_for_each_entry_safe(req, tmp, &done, node) {
		list_del_init(&req->node);
		vcd_req_finish(vcd, req, req->written, true);
	}
	wake_up_all(&vcd->vq_wait);
}

/*
 * Called by remove after the device was reset (no callback can run any
 * more) and marked dead: answered requests complete normally, the rest
 * with -ENODEV. The device holds no buffer afterwards.
 */
void vcd_fail_all(struct vcd_device *vcd)
{
	struct vcd_request *req;
	unsigned int len;

	while ((req = virtqueue_get_buf(vcd->vq, &len)))
		vcd_req_finish(vcd, req, len, true);
	while ((req = virtqueue_detach_unused_buf(vcd->vq)))
		vcd_req_finish(vcd, req, 0, false);
	wake_up_all(&vcd->vq_wait);
}

static u32 vcd_buf_nents(const struct vcd_buf *buf)
{
	return buf->pages ? buf->npages : buf->nchunks;
}

/* Fills the scatterlist (already initialised) for @buf; returns entries. */
static unsigned int vcd_sg_buf(struct scatterlist *sg, const struct vcd_buf *buf)
{
	u32 i, off = buf->offset, left = buf->len;

	if (!buf->pages) {
		for (i = 0; i < buf->nchunks; i++)
			sg_set_buf(&sg[i], buf->chunk[i], vcd_chunk_len(buf, i));
		return buf->nchunks;
	}
	for (i = 0; i < buf->npages; i++) {
		u32 n = min_t(u32, left, PAGE_SIZE - off);

		sg_set_page(&sg[i], buf->pages[i], n, off);
		left -= n;
		off = 0;
	}
	return buf->npages;
}

/* Room for a chain of @nsg descriptors, or the device is gone. */
static bool vcd_ring_ready(struct vcd_device *vcd, unsigned int nsg)
{
	if (READ_ONCE(vcd->dead))
		return true;
	/* ring_free, not vq->num_free: the vq is freed when the device goes */
	return READ_ONCE(vcd->ring_free) >= (vcd->indirect ? 1 : nsg);
}

/*
 * Sends @req and waits for its answer. Returns the device's status (0 or a
 * negative errno), -ENODEV when the device is gone, -ERESTARTSYS when a
 * signal came before the request was queued, -EINTR when the caller was
 * killed while the device held it.
 */
int vcd_req_run(struct vcd_device *vcd, struct vcd_request *req)
{
	struct scatterlist *sg, *sgs[6];
	unsigned int n_out = 0, n_in = 0, nsg = 0;
	int err;

	sg = kmalloc_array(vcd_buf_nents(&req->src) + vcd_buf_nents(&req->dst) + 4,
			   sizeof(*sg), GFP_KERNEL);
	if (!sg)
		return -ENOMEM;

	/* device-readable: header, small input, src */
	sg_init_one(&sg[nsg], &req->hdr, sizeof(req->hdr));
	sgs[n_out++] = &sg[nsg++];
	if (req->in_len) {
		sg_init_one(&sg[nsg], req->in_small, req->in_len);
		sgs[n_out++] = &sg[nsg++];
	}
	if (req->use_src && vcd_buf_nents(&req->src)) {
		sg_init_table(&sg[nsg], vcd_buf_nents(&req->src));
		sgs[n_out++] = &sg[nsg];
		nsg += vcd_sg_buf(&sg[nsg], &req->src);
	}
	/* device-writable: dst, small output, response */
	if (req->use_dst && vcd_buf_nents(&req->dst)) {
		sg_init_table(&sg[nsg], vcd_buf_nents(&req->dst));
		sgs[n_out + n_in++] = &sg[nsg];
		nsg += vcd_sg_buf(&sg[nsg], &req->dst);
	}
	if (req->out_len) {
		sg_init_one(&sg[nsg], req->out_small, req->out_len);
		sgs[n_out + n_in++] = &sg[nsg++];
	}
	sg_init_one(&sg[nsg], &req->resp, sizeof(req->resp));
	sgs[n_out + n_in++] = &sg[nsg++];

	/*
	 * vcd->vq is only used under vq_lock with dead checked: remove sets
	 * it to NULL while files are open.
	 */
	if (!vcd->indirect && nsg > vcd->ring_size) {
		err = -E2BIG;
		goto out;
	}

	for (;;) {
		spin_lock_irq(&vcd->vq_lock);
		if (vcd->dead) {
			err = -ENODEV;
		} else {
			err = virtqueue_add_sgs(vcd->vq, sgs, n_out, n_in, req,
						GFP_ATOMIC);
			if (!err) {
				/* the device's reference */
				refcount_inc(&req->ref);
				atomic_inc(&vcd->in_flight);
				atomic64_inc(&vcd->requests);
				virtqueue_kick(vcd->vq);
			}
			WRITE_ONCE(vcd->ring_free, vcd->vq->num_free);
		}
		spin_unlock_irq(&vcd->vq_lock);
		if (err != -ENOSPC)
			break;
		if (vcd->indirect && READ_ONCE(vcd->ring_free) > 0) {
			/*
			 * Room in the ring, but no memory for the indirect
			 * table (GFP_ATOMIC): try again in a moment.
			 */
			if (req->must_send) {
				msleep(1);
			} else if (msleep_interruptible(1) ||
				   signal_pending(current)) {
				err = -ERESTARTSYS;
				break;
			}
			continue;
		}
		if (req->must_send) {
			/* CLOSE from release: a dying process still closes */
			wait_event(vcd->vq_wait, vcd_ring_ready(vcd, nsg));
			continue;
		}
		err = wait_event_interruptible(vcd->vq_wait,
					       vcd_ring_ready(vcd, nsg));
		if (err)
			break;
	}
	if (err)
		goto out;
	kfree(sg);
	sg = NULL;

	if (wait_for_completion_killable(&req->done))
		return -EINTR;
	atomic64_add(req->src.len, &vcd->bytes);
	return req->status;
out:
	kfree(sg);
	if (err && err != -ERESTARTSYS && err != -ENODEV)
		atomic64_inc(&vcd->errors);
	return err;
}
