/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the guest test programs (conformance, speed): hex
 * decoding, ioctl wrappers returning -errno, session setup.
 */
#ifndef VCD_TESTS_COMMON_H
#define VCD_TESTS_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <crypto/cryptodev.h>

static inline size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = 0;

	while (hex[0] && hex[1]) {
		unsigned int b;

		if (hex[0] == ' ') {
			hex++;
			continue;
		}
		sscanf(hex, "%2x", &b);
		out[n++] = (uint8_t)b;
		hex += 2;
	}
	return n;
}

/* ioctl that returns 0 or -errno. */
static inline int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* A session: cipher (with key) and/or mac (with mackey). 0 or -errno. */
static inline int sess_open(int fd, uint32_t cipher, const uint8_t *key,
			    uint32_t keylen, uint32_t mac,
			    const uint8_t *mackey, uint32_t mackeylen,
			    uint32_t *ses)
{
	struct session_op sop;
	int err;

	memset(&sop, 0, sizeof(sop));
	sop.cipher = cipher;
	sop.key = (uint8_t *)key;
	sop.keylen = keylen;
	sop.mac = mac;
	sop.mackey = (uint8_t *)mackey;
	sop.mackeylen = mackeylen;
	err = xioctl(fd, CIOCGSESSION, &sop);
	if (!err)
		*ses = sop.ses;
	return err;
}

static inline int sess_close(int fd, uint32_t ses)
{
	return xioctl(fd, CIOCFSESSION, &ses);
}

static inline int do_crypt(int fd, uint32_t ses, int op, uint16_t flags,
			   const void *src, void *dst, uint32_t len, void *iv,
			   void *mac)
{
	struct crypt_op cop;

	memset(&cop, 0, sizeof(cop));
	cop.ses = ses;
	cop.op = (uint16_t)op;
	cop.flags = flags;
	cop.len = len;
	cop.src = (uint8_t *)src;
	cop.dst = (uint8_t *)dst;
	cop.iv = (uint8_t *)iv;
	cop.mac = (uint8_t *)mac;
	return xioctl(fd, CIOCCRYPT, &cop);
}

#endif /* VCD_TESTS_COMMON_H */
