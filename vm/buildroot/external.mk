# The lab's packages (package/*/*.mk), as Buildroot's manual shows for a
# br2-external tree. Their sources are folders of this repository
# (SITE_METHOD local), copied with an rsync filter that keeps only what
# each package needs.
LAB_REPO = $(realpath $(BR2_EXTERNAL_CRYPTODEV_LAB_PATH)/../..)

# rsync filter for the lab's local packages: never copy build products
# (the student builds the module in place) nor the repository's bulk.
LAB_RSYNC_NO_PRODUCTS = \
	--exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
	--exclude='.*.cmd' --exclude=Module.symvers --exclude=modules.order \
	--exclude=/guest-driver/tests/build

include $(sort $(wildcard $(BR2_EXTERNAL_CRYPTODEV_LAB_PATH)/package/*/*.mk))
