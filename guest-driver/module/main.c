// SPDX-License-Identifier: GPL-2.0
/*
 * vcryptodev: the virtio-cryptodev guest driver.
 *
 * Binds the lab's virtio-cryptodev device (virtio id 63, wire format v1 in
 * include/virtio_cryptodev.h) and gives user space one /dev/cryptodevN per
 * device with the cryptodev-linux ioctl ABI. This file: module init/exit,
 * probe/remove, minor numbers and the sysfs counters.
 *
 * Lifetime: struct vcd_device is refcounted. Probe holds one reference,
 * every open file one more. Remove marks the device dead (new requests
 * get -ENODEV), resets it, completes whatever it still held with -ENODEV,
 * frees its minor and drops the probe's reference; the memory goes with the
 * last close.
 */
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/xarray.h>

#include "vcryptodev.h"

/* Frees requests whose last reference went in interrupt context. */
struct workqueue_struct *vcd_wq;

static dev_t vcd_devt;
static struct cdev vcd_cdev;
static struct class *vcd_class;
/*
 * Minor -> device. A minor is allocated (reserved, NULL) at probe, points
 * at its device while /dev/cryptodevN is usable, and is NULL again from the
 * start of remove until it is freed at its end. A lookup takes its
 * reference under the xarray's lock.
 */
static DEFINE_XARRAY_ALLOC(vcd_minors);

static void vcd_release(struct kref *kref)
{
	kfree(container_of(kref, struct vcd_device, kref));
}

void vcd_put(struct vcd_device *vcd)
{
	kref_put(&vcd->kref, vcd_release);
}

struct vcd_device *vcd_get_by_minor(unsigned int minor)
{
	struct vcd_device *vcd;

	xa_lock(&vcd_minors);
	vcd = xa_load(&vcd_minors, minor);
	if (vcd)
		kref_get(&vcd->kref);
	xa_unlock(&vcd_minors);
	return vcd;
}

/* sysfs: /sys/class/cryptodev/cryptodevN/{requests,errors,...} */
#define VCD_ATTR_64(name)						\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct vcd_device *vcd = dev_get_drvdata(dev);			\
									\
	return sysfs_emit(buf, "%lld\n",				\
			  (long long)atomic64_read(&vcd->name));	\
}									\
static DEVICE_ATTR_RO(name)

#define VCD_ATTR_32(name)						\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct vcd_device *vcd = dev_get_drvdata(dev);			\
									\
	return sysfs_emit(buf, "%d\n", atomic_read(&vcd->name));	\
}									\
static DEVICE_ATTR_RO(name)

VCD_ATTR_64(requests);
VCD_ATTR_64(errors);
VCD_ATTR_64(bytes);
VCD_ATTR_32(in_flight);
VCD_ATTR_32(handles);
VCD_ATTR_32(sessions);

static ssize_t engine_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vcd_device *vcd = dev_get_drvdata(dev);

	switch (vcd->engine) {
	case VIRTIO_CRYPTODEV_ENGINE_BUILTIN:
		return sysfs_emit(buf, "builtin\n");
	case VIRTIO_CRYPTODEV_ENGINE_HOST:
		return sysfs_emit(buf, "host\n");
	default:
		return sysfs_emit(buf, "%u\n", vcd->engine);
	}
}
static DEVICE_ATTR_RO(engine);

static struct attribute *vcd_attrs[] = {
	&dev_attr_requests.attr,
	&dev_attr_errors.attr,
	&dev_attr_bytes.attr,
	&dev_attr_in_flight.attr,
	&dev_attr_handles.attr,
	&dev_attr_sessions.attr,
	&dev_attr_engine.attr,
	NULL,
};

static const struct attribute_group vcd_attr_group = {
	.attrs = vcd_attrs,
};

const struct attribute_group *vcd_attr_groups[] = {
	&vcd_attr_group,
	NULL,
};

static int vcd_probe(struct virtio_device *vdev)
{
	struct vcd_device *vcd;
	u32 version, minor;
	int err;

	if (!virtio_has_feature(vdev, VIRTIO_F_VERSION_1))
		return -ENODEV;
	virtio_cread_le(vdev, struct virtio_cryptodev_config, wire_version,
			&version);
	if (version != VIRTIO_CRYPTODEV_WIRE_VERSION) {
		dev_err(&vdev->dev, "wire format version %u, want %u\n",
			version, VIRTIO_CRYPTODEV_WIRE_VERSION);
		return -ENODEV;
	}

	vcd = kzalloc(sizeof(*vcd), GFP_KERNEL);
	if (!vcd)
		return -ENOMEM;
	kref_init(&vcd->kref);
	spin_lock_init(&vcd->vq_lock);
	init_waitqueue_head(&vcd->vq_wait);
	vcd->vdev = vdev;
	vdev->priv = vcd;
	/* a transport feature: the ring core keeps it when offered */
	vcd->indirect = virtio_has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC);
	virtio_cread_le(vdev, struct virtio_cryptodev_config, engine,
			&vcd->engine);
	virtio_cread_le(vdev, struct virtio_cryptodev_config, max_data_len,
			&vcd->max_data_len);
	if (!vcd->max_data_len || vcd->max_data_len > VCD_MAX_DATA_LEN)
		vcd->max_data_len = VCD_MAX_DATA_LEN;
	/* the newest version both speak; 0: a device that predates v2 */
	virtio_cread_le(vdev, struct virtio_cryptodev_config, max_wire_version,
			&version);
	vcd->wire_version = clamp_t(u32, version, VIRTIO_CRYPTODEV_WIRE_VERSION,
				    VIRTIO_CRYPTODEV_WIRE_VERSION_MAX);

	vcd->vq = virtio_find_single_vq(vdev, vcd_vq_done, "request");
	if (IS_ERR(vcd->vq)) {
		err = PTR_ERR(vcd->vq);
		goto err_free;
	}
	vcd->ring_free = vcd->vq->num_free;
	/* read once here: remove frees the vq under a running ioctl */
	vcd->ring_size = virtqueue_get_vring_size(vcd->vq);

	err = xa_alloc(&vcd_minors, &minor, NULL,
		       XA_LIMIT(0, VCD_MAX_MINORS - 1), GFP_KERNEL);
	if (err) {
		dev_err(&vdev->dev, "no free minor (at most %d devices)\n",
			VCD_MAX_MINORS);
		goto err_vqs;
	}
	vcd->minor = minor;

	virtio_device_ready(vdev);

	vcd->chrdev = device_create_with_groups(vcd_class, &vdev->dev,
						MKDEV(MAJOR(vcd_devt),
						      vcd->minor),
						vcd, vcd_attr_groups,
						VCD_NAME "%d", vcd->minor);
	if (IS_ERR(vcd->chrdev)) {
		err = PTR_ERR(vcd->chrdev);
		goto err_reset;
	}

	/* the minor's slot exists: storing into it allocates nothing */
	xa_store(&vcd_minors, vcd->minor, vcd, GFP_KERNEL);

	dev_info(&vdev->dev, "/dev/" VCD_NAME "%d (engine %u, wire v%u, ring %u%s)\n",
		 vcd->minor, vcd->engine, vcd->wire_version, vcd->ring_size,
		 vcd->indirect ? ", indirect" : "");
	return 0;

err_reset:
	virtio_reset_device(vdev);
	xa_erase(&vcd_minors, vcd->minor);
err_vqs:
	vdev->config->del_vqs(vdev);
err_free:
	vdev->priv = NULL;
	kfree(vcd);
	return err;
}

static void vcd_remove(struct virtio_device *vdev)
{
	struct vcd_device *vcd = vdev->priv;

	/* No new open finds it; the minor stays reserved. */
	xa_store(&vcd_minors, vcd->minor, NULL, GFP_KERNEL);
	device_destroy(vcd_class, MKDEV(MAJOR(vcd_devt), vcd->minor));

	/* No new request reaches the ring; files see -ENODEV from now on. */
	spin_lock_irq(&vcd->vq_lock);
	WRITE_ONCE(vcd->dead, true);
	spin_unlock_irq(&vcd->vq_lock);

	/* Stop the device (no callback runs after this), take back buffers. */
	virtio_reset_device(vdev);
	vcd_fail_all(vcd);
	vdev->config->del_vqs(vdev);
	vdev->priv = NULL;
	vcd->vdev = NULL;
	vcd->vq = NULL;

	dev_info(&vdev->dev, "/dev/" VCD_NAME "%d removed (%d open)\n",
		 vcd->minor, atomic_read(&vcd->handles));
	xa_erase(&vcd_minors, vcd->minor);
	vcd_put(vcd);
}

static const struct virtio_device_id vcd_id_table[] = {
	{ VIRTIO_ID_CRYPTODEV, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, vcd_id_table);

static struct virtio_driver vcd_driver = {
	.driver.name = KBUILD_MODNAME,
	.driver.owner = THIS_MODULE,
	.id_table = vcd_id_table,
	.probe = vcd_probe,
	.remove = vcd_remove,
};

static char *vcd_devnode(struct device *dev, umode_t *mode)
{
	if (mode)
		*mode = 0666;
	return NULL;
}

static int __init vcd_init(void)
{
	int err;

	vcd_wq = alloc_workqueue(KBUILD_MODNAME, 0, 0);
	if (!vcd_wq)
		return -ENOMEM;
	err = alloc_chrdev_region(&vcd_devt, 0, VCD_MAX_MINORS, VCD_NAME);
	if (err)
		goto err_wq;
	cdev_init(&vcd_cdev, &vcd_fops);
	vcd_cdev.owner = THIS_MODULE;
	err = cdev_add(&vcd_cdev, vcd_devt, VCD_MAX_MINORS);
	if (err)
		goto err_region;
	vcd_class = class_create(THIS_MODULE, VCD_NAME);
	if (IS_ERR(vcd_class)) {
		err = PTR_ERR(vcd_class);
		goto err_cdev;
	}
	vcd_class->devnode = vcd_devnode;
	err = register_virtio_driver(&vcd_driver);
	if (err)
		goto err_class;
	return 0;

err_class:
	class_destroy(vcd_class);
err_cdev:
	cdev_del(&vcd_cdev);
err_region:
	unregister_chrdev_region(vcd_devt, VCD_MAX_MINORS);
err_wq:
	destroy_workqueue(vcd_wq);
	return err;
}

static void __exit vcd_exit(void)
{
	/* No file is open (each holds a module reference): remove frees all. */
	unregister_virtio_driver(&vcd_driver);
	class_destroy(vcd_class);
	cdev_del(&vcd_cdev);
	unregister_chrdev_region(vcd_devt, VCD_MAX_MINORS);
	/* drains frees queued by callbacks of requests whose owner died */
	destroy_workqueue(vcd_wq);
}

module_init(vcd_init);
module_exit(vcd_exit);

MODULE_DESCRIPTION("virtio-cryptodev driver: /dev/cryptodevN with the cryptodev-linux ABI");
MODULE_LICENSE("GPL");
