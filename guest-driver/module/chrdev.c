// SPDX-License-Identifier: GPL-2.0
/*
 * vcryptodev: /dev/cryptodevN file operations, the cryptodev-linux ABI.
 *
 * open() opens a device-side handle and release() closes it (the device
 * frees the handle's sessions with it). Each ioctl copies its argument and
 * every nested user pointer into kernel memory with its length bounded,
 * runs one request on the virtqueue and copies the results back. Nothing
 * here runs in atomic context.
 */
#include <linux/compat.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <crypto/cryptodev.h>

#include "vcryptodev.h"
/* BEGIN SOLUTION Z3: (kit) the stubs' helper */
/* END SOLUTION Z3: #include "todo.h" */

static unsigned int zc_min = VCD_ZC_MIN;
module_param(zc_min, uint, 0644);
MODULE_PARM_DESC(zc_min,
		 "CIOCCRYPT data of at least this many bytes is not copied: the device uses the pinned user pages (0: always copy)");

/* A new request of @op on the file's device-side handle; NULL: no memory. */
static struct vcd_request *vcd_file_req(struct vcd_file *vf, u16 op)
{
	return vcd_req_alloc(vf->vcd, op, vf->handle);
}

static int vcd_open(struct inode *inode, struct file *filp)
{
	struct vcd_device *vcd;
	struct vcd_request *req;
	struct vcd_file *vf;
	int err;

	vcd = vcd_get_by_minor(iminor(inode));
	if (!vcd)
		return -ENODEV;
	vf = kzalloc(sizeof(*vf), GFP_KERNEL);
	if (!vf) {
		err = -ENOMEM;
		goto err_put;
	}
	vf->vcd = vcd;
	xa_init(&vf->sessions);

	req = vcd_req_alloc(vcd, VIRTIO_CRYPTODEV_OP_OPEN, 0);
	if (!req) {
		err = -ENOMEM;
		goto err_free;
	}
	err = vcd_req_run(vcd, req);
	if (!err)
		vf->handle = le32_to_cpu(req->resp.id);
	if (err == -EINTR) {
		/* killed with OPEN on the ring: close what it opens */
		kref_get(&vcd->kref);
		req->orphan_open = vcd;
	}
	vcd_req_put(req);
	if (err)
		goto err_free;

	atomic_inc(&vcd->handles);
	filp->private_data = vf;
	return stream_open(inode, filp);

err_free:
	kfree(vf);
err_put:
	vcd_put(vcd);
	return err == -ERESTARTSYS ? -EINTR : err;
}

/*
 * CLOSE frees the handle and its sessions on the device. Nothing to do
 * when the device is gone (its state went with it). A dying process still
 * sends it; it just does not wait for the answer.
 */
void vcd_close_handle(struct vcd_device *vcd, u32 handle)
{
	struct vcd_request *req;
	int err;

	req = vcd_req_alloc(vcd, VIRTIO_CRYPTODEV_OP_CLOSE, handle);
	if (!req)
		return;
	req->must_send = true;
	err = vcd_req_run(vcd, req);
	if (err && err != -ENODEV && err != -EINTR)
		pr_warn_ratelimited("vcryptodev: close of handle %u: %d\n",
				    handle, err);
	vcd_req_put(req);
}

static int vcd_release(struct inode *inode, struct file *filp)
{
	struct vcd_file *vf = filp->private_data;
	struct vcd_device *vcd = vf->vcd;
	struct vcd_session *s;
	unsigned long id;

	vcd_close_handle(vcd, vf->handle);
	xa_for_each(&vf->sessions, id, s) {
		kfree(s);
		atomic_dec(&vcd->sessions);
	}
	xa_destroy(&vf->sessions);
	atomic_dec(&vcd->handles);
	kfree(vf);
	vcd_put(vcd);
	return 0;
}

/* Copies the session's driver-side state; -EINVAL when unknown. */
static int vcd_session_get(struct vcd_file *vf, u32 ses, struct vcd_session *out)
{
	struct vcd_session *s;
	int err = -EINVAL;

	xa_lock(&vf->sessions);
	s = xa_load(&vf->sessions, ses);
	if (s) {
		*out = *s;
		err = 0;
	}
	xa_unlock(&vf->sessions);
	return err;
}

/* BEGIN SOLUTION Z3: vcd_free_session_dev: FREE_SESSION (a helper) */
static int vcd_free_session_dev(struct vcd_file *vf, u32 ses)
{
	struct vcd_request *req;
	int err;

	req = vcd_file_req(vf, VIRTIO_CRYPTODEV_OP_FREE_SESSION);
	if (!req)
		return -ENOMEM;
	req->hdr.session = cpu_to_le32(ses);
	err = vcd_req_run(vf->vcd, req);
	vcd_req_put(req);
	return err;
}
/* END SOLUTION Z3 */

/* CIOCGSESSION of @sop (copied in); the session id goes to @ses_out. */
static long vcd_ioc_gsession(struct vcd_file *vf, const struct session_op *psop,
			     u32 __user *ses_out)
{
	/* BEGIN SOLUTION Z3: CIOCGSESSION: keys in, CREATE_SESSION, id out */
	struct session_op sop = *psop;
	struct vcd_request *req;
	struct vcd_session *s;
	u32 ses;
	int err;

	if (!sop.cipher && !sop.mac)
		return -EINVAL;
	if (sop.keylen > VIRTIO_CRYPTODEV_MAX_KEY_LEN ||
	    sop.mackeylen > VIRTIO_CRYPTODEV_MAX_MACKEY_LEN)
		return -EINVAL;
	if ((sop.cipher && !sop.keylen && sop.cipher != CRYPTO_NULL))
		return -EINVAL;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	err = -ENOMEM;
	req = vcd_file_req(vf, VIRTIO_CRYPTODEV_OP_CREATE_SESSION);
	if (!req)
		goto err_free;
	req->hdr.cipher = cpu_to_le32(sop.cipher);
	req->hdr.mac = cpu_to_le32(sop.mac);
	req->hdr.keylen = cpu_to_le32(sop.keylen);
	req->hdr.mackeylen = cpu_to_le32(sop.mackeylen);
	err = -EFAULT;
	if (sop.keylen && copy_from_user(req->in_small, sop.key, sop.keylen))
		goto err_req;
	if (sop.mackeylen &&
	    copy_from_user(req->in_small + sop.keylen, sop.mackey,
			   sop.mackeylen))
		goto err_req;
	req->in_len = sop.keylen + sop.mackeylen;

	err = vcd_req_run(vf->vcd, req);
	if (err)
		goto err_req;
	ses = le32_to_cpu(req->resp.id);
	s->cipher = sop.cipher;
	s->mac = sop.mac;
	s->block_size = le16_to_cpu(req->resp.block_size) ?: 1;
	s->iv_len = le16_to_cpu(req->resp.iv_len);
	s->digest_len = le16_to_cpu(req->resp.digest_len);
	vcd_req_put(req);
	req = NULL;

	if (s->iv_len > VIRTIO_CRYPTODEV_MAX_IV_LEN ||
	    s->digest_len > VIRTIO_CRYPTODEV_MAX_DIGEST_LEN) {
		err = -EIO;
		goto err_dev;
	}
	err = xa_insert(&vf->sessions, ses, s, GFP_KERNEL);
	if (err) {
		err = err == -EBUSY ? -EIO : err;
		goto err_dev;
	}
	atomic_inc(&vf->vcd->sessions);
	if (put_user(ses, ses_out)) {
		xa_erase(&vf->sessions, ses);
		atomic_dec(&vf->vcd->sessions);
		err = -EFAULT;
		goto err_dev;
	}
	return 0;

err_dev:
	vcd_free_session_dev(vf, ses);
err_req:
	vcd_req_put(req);
err_free:
	kfree(s);
	return err;
	/* END SOLUTION Z3: return vcd_todo("Z3", "CIOCGSESSION"); */
}

static long vcd_ioc_fsession(struct vcd_file *vf, u32 __user *arg)
{
	/* BEGIN SOLUTION Z3: CIOCFSESSION: free it here and on the device */
	struct vcd_session *s, tmp;
	u32 ses;
	int err;

	if (get_user(ses, arg))
		return -EFAULT;
	err = vcd_session_get(vf, ses, &tmp);
	if (err)
		return err;
	err = vcd_free_session_dev(vf, ses);
	if (err)
		return err;
	s = xa_erase(&vf->sessions, ses);
	if (s) {
		kfree(s);
		atomic_dec(&vf->vcd->sessions);
	}
	return 0;
	/* END SOLUTION Z3: return vcd_todo("Z3", "CIOCFSESSION"); */
}

/* CIOCCRYPT of @pcop (copied in; its pointers are the caller's). */
static long vcd_ioc_crypt(struct vcd_file *vf, const struct crypt_op *pcop)
{
	/* BEGIN SOLUTION Z3: CIOCCRYPT: data in, one CRYPT request, data out */
	struct crypt_op cop = *pcop;
	struct vcd_request *req;
	struct vcd_session s;
	u32 iv_len = 0, iv_out_len = 0, mac_len = 0, dst_len = 0, zmin;
	u16 wflags = 0;
	bool zc;
	int err;

	err = vcd_session_get(vf, cop.ses, &s);
	if (err)
		return err;
	if (cop.op != COP_ENCRYPT && cop.op != COP_DECRYPT)
		return -EINVAL;
	if (cop.len > vf->vcd->max_data_len)
		return -EINVAL;
	if (s.cipher) {
		if (!cop.len || cop.len % s.block_size)
			return -EINVAL;
		dst_len = cop.len;
		/* iv == NULL is fine: the device then uses its running IV. */
		if (cop.iv) {
			iv_len = s.iv_len;
			if (cop.flags & COP_FLAG_WRITE_IV)
				iv_out_len = s.iv_len;
		}
	}
	if (s.mac) {
		/*
		 * Multi-part hashing as cryptodev-linux does it: a new message
		 * when the flags are 0 or COP_FLAG_RESET, a digest on
		 * COP_FLAG_FINAL, without COP_FLAG_UPDATE or on no data.
		 */
		if (cop.flags == 0 || (cop.flags & COP_FLAG_RESET))
			wflags |= VIRTIO_CRYPTODEV_F_HASH_RESET;
		if (cop.flags & COP_FLAG_UPDATE)
			wflags |= VIRTIO_CRYPTODEV_F_HASH_UPDATE;
		if (cop.flags & COP_FLAG_FINAL)
			wflags |= VIRTIO_CRYPTODEV_F_HASH_FINAL;
		if ((cop.flags & COP_FLAG_FINAL) ||
		    !(cop.flags & COP_FLAG_UPDATE) || !cop.len)
			mac_len = s.digest_len;
		/* a v1 device hashes whole messages only */
		if (vf->vcd->wire_version < 2) {
			if (cop.flags & (COP_FLAG_UPDATE | COP_FLAG_RESET))
				return -EOPNOTSUPP;
			wflags = 0;
		}
	}
	if (iv_out_len)
		wflags |= VIRTIO_CRYPTODEV_F_WRITE_IV;

	req = vcd_file_req(vf, VIRTIO_CRYPTODEV_OP_CRYPT);
	if (!req)
		return -ENOMEM;
	req->hdr.session = cpu_to_le32(cop.ses);
	req->hdr.cop = cpu_to_le16(cop.op);
	req->hdr.flags = cpu_to_le16(wflags);
	req->hdr.src_len = cpu_to_le32(cop.len);
	req->hdr.iv_len = cpu_to_le32(iv_len);
	req->hdr.dst_len = cpu_to_le32(dst_len);
	req->hdr.iv_out_len = cpu_to_le32(iv_out_len);
	req->hdr.mac_len = cpu_to_le32(mac_len);

	err = -EFAULT;
	if (iv_len && copy_from_user(req->in_small, cop.iv, iv_len))
		goto out;
	req->in_len = iv_len;
	req->out_len = iv_out_len + mac_len;
	/*
	 * Big requests: the device reads and writes the caller's pinned
	 * pages (it copies src in before writing dst, so src == dst works).
	 * Small ones, and rings without indirect descriptors: copies.
	 */
	zmin = READ_ONCE(zc_min);
	zc = vf->vcd->indirect && zmin && cop.len >= zmin &&
	     vcd_span_pages(cop.src, cop.len) +
	     (dst_len ? vcd_span_pages(cop.dst, dst_len) : 0) + 4 <= VCD_MAX_DESC;
	if (zc) {
		err = vcd_buf_pin(&req->src, cop.src, cop.len, false);
		if (!err && dst_len)
			err = vcd_buf_pin(&req->dst, cop.dst, dst_len, true);
		if (err)
			goto out;
	} else {
		err = vcd_buf_alloc(&req->src, cop.len);
		if (!err)
			err = vcd_buf_from_user(&req->src, cop.src);
		if (!err && dst_len)
			err = vcd_buf_alloc(&req->dst, dst_len);
		if (err)
			goto out;
	}
	req->use_src = true;
	req->use_dst = dst_len != 0;

	err = vcd_req_run(vf->vcd, req);
	if (err)
		goto out;

	err = -EFAULT;
	if (dst_len && !zc && vcd_buf_to_user(&req->dst, cop.dst, dst_len))
		goto out;
	if (iv_out_len && copy_to_user(cop.iv, req->out_small, iv_out_len))
		goto out;
	if (mac_len &&
	    copy_to_user(cop.mac, req->out_small + iv_out_len, mac_len))
		goto out;
	err = 0;
out:
	vcd_req_put(req);
	return err;
	/* END SOLUTION Z3: return vcd_todo("Z3", "CIOCCRYPT"); */
}

/* SRTP: how far src may lie into auth_src (as cryptodev-linux) */
#define VCD_SRTP_MAX_OFFSET	256

/*
 * CIOCAUTHCRYPT (struct crypt_auth_op), with cryptodev-linux's layouts:
 * AES-GCM: dst = ciphertext || tag (encrypt), src = ciphertext || tag
 * (decrypt), len updated to dst's length; TLS-type (CBC + HMAC, in place):
 * data || MAC || padding encrypted, len updated to the record's (encrypt)
 * or the plaintext's (decrypt) length; SRTP-type (CTR/NULL + HMAC, in
 * place inside auth_src): the tag is read from or written to tag. A tag
 * or padding that does not check is -EBADMSG and nothing is copied back.
 * COP_FLAG_WRITE_IV with an IV, as cryptodev-linux: on success the
 * cipher's IV after the operation goes back to caop.iv (TLS: the last
 * ciphertext block; SRTP: the CTR counter advanced; GCM leaves its IV as
 * it was, so the caller's IV is written back unchanged); on a failure
 * nothing is. Without an IV (the session's running one) nothing is either.
 * @pcaop was copied in; on success it holds what goes back to the caller.
 * Everything is copied (no zero copy): auth, src and the SRTP tag form one
 * device-readable buffer.
 */
static long vcd_ioc_authcrypt(struct vcd_file *vf, struct crypt_auth_op *pcaop)
{
	struct virtio_cryptodev_aead *aead;
	struct crypt_auth_op caop = *pcaop;
	struct vcd_request *req;
	struct vcd_session s;
	u32 kind, iv_len, tag_len, in_len, dst_len, bs, off = 0, result;
	u32 tag_out, iv_out_len = 0;
	bool enc, srtp, iv_back;
	int err;

	BUILD_BUG_ON(sizeof(req->out_small) <
		     VIRTIO_CRYPTODEV_MAX_TAG_LEN + VIRTIO_CRYPTODEV_MAX_IV_LEN);
	err = vcd_session_get(vf, caop.ses, &s);
	if (err)
		return err;
	if (caop.op != COP_ENCRYPT && caop.op != COP_DECRYPT)
		return -EINVAL;
	if (vf->vcd->wire_version < 2)
		return -EOPNOTSUPP;	/* a v1 device has no AUTHCRYPT */
	if (!s.cipher)
		return -EINVAL;
	enc = caop.op == COP_ENCRYPT;
	kind = caop.flags & (COP_FLAG_AEAD_TLS_TYPE | COP_FLAG_AEAD_SRTP_TYPE);
	srtp = kind == COP_FLAG_AEAD_SRTP_TYPE;
	if (kind && caop.src != caop.dst)
		return -EINVAL;	/* TLS and SRTP work in place */
	tag_len = caop.tag_len ?: (s.mac ? s.digest_len : 16);
	iv_len = caop.iv ? s.iv_len : 0;
	iv_back = iv_len && (caop.flags & COP_FLAG_WRITE_IV);
	/* TLS and SRTP chain: the device returns the next IV; GCM's stays */
	if (iv_back && kind)
		iv_out_len = iv_len;
	bs = s.block_size;
	if (caop.len > vf->vcd->max_data_len ||
	    tag_len > VIRTIO_CRYPTODEV_MAX_TAG_LEN)
		return -EINVAL;
	if (srtp) {
		if (!caop.auth_src || !caop.len || !caop.auth_len ||
		    caop.src < caop.auth_src ||
		    caop.src - caop.auth_src > VCD_SRTP_MAX_OFFSET)
			return -EINVAL;
		off = caop.src - caop.auth_src;
		if (caop.auth_len > vf->vcd->max_data_len ||
		    off + caop.len > caop.auth_len)
			return -EINVAL;
		in_len = caop.auth_len + (enc ? 0 : tag_len);
		dst_len = caop.len;
	} else {
		if (caop.auth_len > VIRTIO_CRYPTODEV_MAX_AUTH_LEN)
			return -EINVAL;
		in_len = caop.auth_len + caop.len;
		if (kind == COP_FLAG_AEAD_TLS_TYPE && enc)
			dst_len = caop.len + tag_len + bs - (caop.len + tag_len) % bs;
		else if (kind == COP_FLAG_AEAD_TLS_TYPE)
			dst_len = caop.len;
		else if (enc)
			dst_len = caop.len + tag_len;
		else if (caop.len >= tag_len)
			dst_len = caop.len - tag_len;
		else
			return -EINVAL;
	}
	if (in_len > VCD_MAX_DATA_LEN || dst_len > VCD_MAX_DATA_LEN)
		return -EINVAL;

	req = vcd_file_req(vf, VIRTIO_CRYPTODEV_OP_AUTHCRYPT);
	if (!req)
		return -ENOMEM;
	req->hdr.session = cpu_to_le32(caop.ses);
	req->hdr.cop = cpu_to_le16(caop.op);
	req->hdr.flags = cpu_to_le16((kind == COP_FLAG_AEAD_TLS_TYPE ?
				      VIRTIO_CRYPTODEV_F_AEAD_TLS : 0) |
				     (srtp ? VIRTIO_CRYPTODEV_F_AEAD_SRTP : 0) |
				     (iv_out_len ? VIRTIO_CRYPTODEV_F_WRITE_IV : 0));
	req->hdr.src_len = cpu_to_le32(caop.len);
	req->hdr.iv_len = cpu_to_le32(iv_len);
	req->hdr.dst_len = cpu_to_le32(dst_len);
	req->hdr.iv_out_len = cpu_to_le32(iv_out_len);
	aead = (struct virtio_cryptodev_aead *)req->in_small;
	aead->auth_len = cpu_to_le32(caop.auth_len);
	aead->tag_len = cpu_to_le32(tag_len);
	aead->src_offset = cpu_to_le32(off);
	req->in_len = sizeof(*aead) + iv_len;
	/* after dst: the SRTP tag (encrypting), then the next IV */
	tag_out = srtp && enc ? tag_len : 0;
	req->out_len = tag_out + iv_out_len;

	err = -EFAULT;
	if (iv_len && copy_from_user(req->in_small + sizeof(*aead), caop.iv,
				     iv_len))
		goto out;
	err = vcd_buf_alloc(&req->src, in_len);
	if (!err)
		err = vcd_buf_alloc(&req->dst, dst_len);
	if (!err && caop.auth_len)
		err = vcd_buf_copy_in(&req->src, 0, caop.auth_src,
				      caop.auth_len);
	if (!err && !srtp)
		err = vcd_buf_copy_in(&req->src, caop.auth_len, caop.src,
				      caop.len);
	if (!err && srtp && !enc)
		err = vcd_buf_copy_in(&req->src, caop.auth_len, caop.tag,
				      tag_len);
	if (err)
		goto out;
	req->use_src = true;
	req->use_dst = dst_len != 0;

	err = vcd_req_run(vf->vcd, req);
	if (err)
		goto out;
	result = le32_to_cpu(req->resp.result_len);
	if (result > dst_len) {
		err = -EIO;
		goto out;
	}
	err = -EFAULT;
	if (vcd_buf_copy_out(&req->dst, 0, caop.dst, result))
		goto out;
	if (tag_out && copy_to_user(caop.tag, req->out_small, tag_out))
		goto out;
	if (iv_out_len &&
	    copy_to_user(caop.iv, req->out_small + tag_out, iv_out_len))
		goto out;
	/* GCM: the IV as the caller gave it (req->in_small holds the copy) */
	if (iv_back && !iv_out_len &&
	    copy_to_user(caop.iv, req->in_small + sizeof(*aead), iv_len))
		goto out;
	caop.len = result;
	caop.tag_len = tag_len;
	if (!kind)
		caop.tag = caop.dst + (enc ? result - tag_len : result);
	*pcaop = caop;	/* the caller copies it back */
	err = 0;
out:
	vcd_req_put(req);
	return err;
}

static void vcd_copy_name(char *to, const char *from)
{
	/* the device NUL-terminates; make sure of it anyway */
	memcpy(to, from, CRYPTODEV_MAX_ALG_NAME);
	to[CRYPTODEV_MAX_ALG_NAME - 1] = '\0';
}

static long vcd_ioc_gsessinfo(struct vcd_file *vf,
			      struct session_info_op __user *arg)
{
	struct virtio_cryptodev_session_info *info;
	struct session_info_op *siop;
	struct vcd_request *req;
	struct vcd_session s;
	u32 ses;
	int err;

	if (get_user(ses, &arg->ses))
		return -EFAULT;
	err = vcd_session_get(vf, ses, &s);
	if (err)
		return err;
	siop = kzalloc(sizeof(*siop), GFP_KERNEL);
	if (!siop)
		return -ENOMEM;
	err = -ENOMEM;
	req = vcd_file_req(vf, VIRTIO_CRYPTODEV_OP_SESSION_INFO);
	if (!req)
		goto out_free;
	req->hdr.session = cpu_to_le32(ses);
	req->out_len = sizeof(*info);
	err = vcd_req_run(vf->vcd, req);
	if (err)
		goto out;

	info = (struct virtio_cryptodev_session_info *)req->out_small;
	siop->ses = ses;
	vcd_copy_name(siop->cipher_info.cra_name, info->cipher.name);
	vcd_copy_name(siop->cipher_info.cra_driver_name, info->cipher.driver);
	vcd_copy_name(siop->hash_info.cra_name, info->hash.name);
	vcd_copy_name(siop->hash_info.cra_driver_name, info->hash.driver);
	siop->alignmask = le32_to_cpu(info->alignmask);
	siop->flags = le32_to_cpu(info->flags);
	err = copy_to_user(arg, siop, sizeof(*siop)) ? -EFAULT : 0;
out:
	vcd_req_put(req);
out_free:
	kfree(siop);
	return err;
}

/* CRIOGET: another fd for the same open file (as cryptodev-linux does). */
static long vcd_ioc_crioget(struct file *filp, u32 __user *arg)
{
	int fd;

	fd = get_unused_fd_flags(0);
	if (fd < 0)
		return fd;
	if (put_user(fd, arg)) {
		put_unused_fd(fd);
		return -EFAULT;
	}
	get_file(filp);
	fd_install(fd, filp);
	return 0;
}

/* The ioctls whose argument has no pointer: the same for 32-bit callers. */
static long vcd_ioctl_common(struct file *filp, unsigned int cmd,
			     void __user *uarg)
{
	struct vcd_file *vf = filp->private_data;

	switch (cmd) {
	case CRIOGET:
		return vcd_ioc_crioget(filp, uarg);
	case CIOCFSESSION:
		return vcd_ioc_fsession(vf, uarg);
	case CIOCGSESSINFO:
		return vcd_ioc_gsessinfo(vf, uarg);
	case CIOCASYMFEAT:
		/* no asymmetric operations, as cryptodev-linux answers */
		return put_user(0u, (u32 __user *)uarg) ? -EFAULT : 0;
	default:
		return -ENOTTY;
	}
}

static long vcd_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct vcd_file *vf = filp->private_data;
	void __user *uarg = (void __user *)arg;
	struct crypt_auth_op caop;
	struct session_op sop;
	struct crypt_op cop;
	long err;

	switch (cmd) {
	case CIOCGSESSION:
		if (copy_from_user(&sop, uarg, sizeof(sop)))
			return -EFAULT;
		return vcd_ioc_gsession(vf, &sop,
					&((struct session_op __user *)uarg)->ses);
	case CIOCCRYPT:
		if (copy_from_user(&cop, uarg, sizeof(cop)))
			return -EFAULT;
		return vcd_ioc_crypt(vf, &cop);
	case CIOCAUTHCRYPT:
		if (copy_from_user(&caop, uarg, sizeof(caop)))
			return -EFAULT;
		err = vcd_ioc_authcrypt(vf, &caop);
		if (!err && copy_to_user(uarg, &caop, sizeof(caop)))
			err = -EFAULT;
		return err;
	default:
		return vcd_ioctl_common(filp, cmd, uarg);
	}
}

#ifdef CONFIG_COMPAT
/*
 * 32-bit callers: the structs with pointers have their own layouts (and so
 * their own ioctl numbers); each is widened into the native struct, its
 * pointers through compat_ptr(), and runs the same code.
 */
struct compat_session_op {
	u32 cipher;
	u32 mac;
	u32 keylen;
	compat_uptr_t key;
	u32 mackeylen;
	compat_uptr_t mackey;
	u32 ses;
};

struct compat_crypt_op {
	u32 ses;
	u16 op;
	u16 flags;
	u32 len;
	compat_uptr_t src;
	compat_uptr_t dst;
	compat_uptr_t mac;
	compat_uptr_t iv;
};

struct compat_crypt_auth_op {
	u32 ses;
	u16 op;
	u16 flags;
	u32 len;
	u32 auth_len;
	compat_uptr_t auth_src;
	compat_uptr_t src;
	compat_uptr_t dst;
	compat_uptr_t tag;
	u32 tag_len;
	compat_uptr_t iv;
	u32 iv_len;
};

static_assert(sizeof(struct compat_session_op) == 28);
static_assert(sizeof(struct compat_crypt_op) == 28);
static_assert(sizeof(struct compat_crypt_auth_op) == 44);

#define COMPAT_CIOCGSESSION	_IOWR('c', 102, struct compat_session_op)
#define COMPAT_CIOCCRYPT	_IOWR('c', 104, struct compat_crypt_op)
#define COMPAT_CIOCAUTHCRYPT	_IOWR('c', 109, struct compat_crypt_auth_op)

static long vcd_compat_authcrypt(struct vcd_file *vf,
				 struct compat_crypt_auth_op __user *uarg)
{
	struct compat_crypt_auth_op c;
	struct crypt_auth_op caop;
	long err;

	if (copy_from_user(&c, uarg, sizeof(c)))
		return -EFAULT;
	caop = (struct crypt_auth_op){
		.ses = c.ses, .op = c.op, .flags = c.flags, .len = c.len,
		.auth_len = c.auth_len, .auth_src = compat_ptr(c.auth_src),
		.src = compat_ptr(c.src), .dst = compat_ptr(c.dst),
		.tag = compat_ptr(c.tag), .tag_len = c.tag_len,
		.iv = compat_ptr(c.iv), .iv_len = c.iv_len,
	};
	err = vcd_ioc_authcrypt(vf, &caop);
	if (err)
		return err;
	c.len = caop.len;
	c.tag_len = caop.tag_len;
	c.tag = ptr_to_compat(caop.tag);
	return copy_to_user(uarg, &c, sizeof(c)) ? -EFAULT : 0;
}

static long vcd_compat_ioctl(struct file *filp, unsigned int cmd,
			     unsigned long arg)
{
	struct vcd_file *vf = filp->private_data;
	void __user *uarg = compat_ptr(arg);
	struct compat_session_op csop;
	struct compat_crypt_op ccop;
	struct session_op sop;
	struct crypt_op cop;

	switch (cmd) {
	case COMPAT_CIOCGSESSION:
		if (copy_from_user(&csop, uarg, sizeof(csop)))
			return -EFAULT;
		sop = (struct session_op){
			.cipher = csop.cipher, .mac = csop.mac,
			.keylen = csop.keylen, .key = compat_ptr(csop.key),
			.mackeylen = csop.mackeylen,
			.mackey = compat_ptr(csop.mackey),
		};
		return vcd_ioc_gsession(vf, &sop,
			&((struct compat_session_op __user *)uarg)->ses);
	case COMPAT_CIOCCRYPT:
		if (copy_from_user(&ccop, uarg, sizeof(ccop)))
			return -EFAULT;
		cop = (struct crypt_op){
			.ses = ccop.ses, .op = ccop.op, .flags = ccop.flags,
			.len = ccop.len, .src = compat_ptr(ccop.src),
			.dst = compat_ptr(ccop.dst), .mac = compat_ptr(ccop.mac),
			.iv = compat_ptr(ccop.iv),
		};
		return vcd_ioc_crypt(vf, &cop);
	case COMPAT_CIOCAUTHCRYPT:
		return vcd_compat_authcrypt(vf, uarg);
	default:
		return vcd_ioctl_common(filp, cmd, uarg);
	}
}
#endif /* CONFIG_COMPAT */

const struct file_operations vcd_fops = {
	.owner = THIS_MODULE,
	.open = vcd_open,
	.release = vcd_release,
	.unlocked_ioctl = vcd_ioctl,
#ifdef CONFIG_COMPAT
	.compat_ioctl = vcd_compat_ioctl,
#endif
	.llseek = no_llseek,
};
