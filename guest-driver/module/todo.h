/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vcryptodev: the stubs of the student's starter kit (`lab handout`). A
 * stub says once in the kernel log which task is not done and fails with
 * -ENOSYS, so the module still loads, probes and unloads cleanly.
 */
#ifndef VCRYPTODEV_TODO_H
#define VCRYPTODEV_TODO_H

#include <linux/errno.h>
#include <linux/printk.h>

#define vcd_todo(task, what)						\
	({								\
		pr_warn_once("vcryptodev: not implemented: " task " " \
			     what "\n");				\
		-ENOSYS;						\
	})

#endif /* VCRYPTODEV_TODO_H */
