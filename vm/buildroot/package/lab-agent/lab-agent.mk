################################################################################
#
# lab-agent
#
################################################################################

LAB_AGENT_VERSION = local
LAB_AGENT_SITE = $(LAB_REPO)
LAB_AGENT_SITE_METHOD = local
LAB_AGENT_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	$(LAB_RSYNC_NO_PRODUCTS) \
	--include=/vm/ --include=/vm/init --include=/vm/guest/ --include=/vm/guest/labexec.c \
	--exclude='*'
LAB_AGENT_LICENSE = GPL-2.0

define LAB_AGENT_BUILD_CMDS
	$(TARGET_CC) $(TARGET_CFLAGS) $(TARGET_LDFLAGS) -Wall -o $(@D)/labexec \
		$(@D)/vm/guest/labexec.c
endef

# /init is the lab's init; /usr/bin/node and the multiarch library folder
# point into the node image (mounted on /opt/node), as in the initramfs.
define LAB_AGENT_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/vm/init $(TARGET_DIR)/init
	$(INSTALL) -D -m 0755 $(@D)/labexec $(TARGET_DIR)/sbin/labexec
	mkdir -p $(TARGET_DIR)/opt/node $(TARGET_DIR)/mnt $(TARGET_DIR)/root \
		$(TARGET_DIR)/usr/local/bin $(TARGET_DIR)/etc/lab
	ln -sfn /opt/node/bin/node $(TARGET_DIR)/usr/bin/node
	rm -rf $(TARGET_DIR)/usr/lib/x86_64-linux-gnu
	ln -sfn /opt/node/lib $(TARGET_DIR)/usr/lib/x86_64-linux-gnu
	echo buildroot > $(TARGET_DIR)/etc/lab/flavour
endef

$(eval $(generic-package))
