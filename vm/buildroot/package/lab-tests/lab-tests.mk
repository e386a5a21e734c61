################################################################################
#
# lab-tests
#
################################################################################

LAB_TESTS_VERSION = local
LAB_TESTS_SITE = $(LAB_REPO)
LAB_TESTS_SITE_METHOD = local
LAB_TESTS_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	$(LAB_RSYNC_NO_PRODUCTS) \
	--include=/include/'***' \
	--include=/guest-driver/ --include=/guest-driver/tests/ \
	--include=/guest-driver/tests/'*.[ch]' \
	--exclude='*'
LAB_TESTS_LICENSE = GPL-2.0
LAB_TESTS_PROGRAMS = conformance speed

define LAB_TESTS_BUILD_CMDS
	$(foreach p,$(LAB_TESTS_PROGRAMS),
		$(TARGET_CC) $(TARGET_CFLAGS) $(TARGET_LDFLAGS) -O2 -pthread \
			-Wall -Wextra -Werror -I$(@D)/include \
			-o $(@D)/$(p) $(@D)/guest-driver/tests/$(p).c
	)
endef

define LAB_TESTS_INSTALL_TARGET_CMDS
	$(foreach p,$(LAB_TESTS_PROGRAMS),
		$(INSTALL) -D -m 0755 $(@D)/$(p) $(TARGET_DIR)/usr/lib/lab/tests/$(p)
	)
endef

$(eval $(generic-package))
