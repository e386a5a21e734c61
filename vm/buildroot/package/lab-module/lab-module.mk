################################################################################
#
# lab-module
#
################################################################################

LAB_MODULE_VERSION = local
LAB_MODULE_SITE = $(LAB_REPO)
LAB_MODULE_SITE_METHOD = local
LAB_MODULE_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	$(LAB_RSYNC_NO_PRODUCTS) \
	--include=/include/'***' \
	--include=/guest-driver/ --include=/guest-driver/module/'***' \
	--exclude='*'
LAB_MODULE_LICENSE = GPL-2.0
LAB_MODULE_KERNEL_BUILD = $(call qstrip,$(BR2_PACKAGE_LAB_MODULE_KERNEL_BUILD))

ifeq ($(BR_BUILDING),y)
ifeq ($(LAB_MODULE_KERNEL_BUILD),)
$(error BR2_PACKAGE_LAB_MODULE_KERNEL_BUILD is empty: build through `lab build rootfs-buildroot`)
endif
endif

# Buildroot's kernel-module infrastructure wants a Buildroot-built kernel;
# this one is Debian's, so Kbuild runs with the host's gcc-12 (the compiler
# Debian built the kernel with), outside Buildroot's make variables.
define LAB_MODULE_BUILD_CMDS
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CC -u ARCH -u CROSS_COMPILE \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		make -C $(LAB_MODULE_KERNEL_BUILD) M=$(@D)/guest-driver/module modules
endef

define LAB_MODULE_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0644 $(@D)/guest-driver/module/vcryptodev.ko \
		$(TARGET_DIR)/lib/modules/extra/vcryptodev.ko
endef

$(eval $(generic-package))
