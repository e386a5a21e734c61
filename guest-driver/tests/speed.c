// SPDX-License-Identifier: GPL-2.0
/*
 * AES-128-CBC encryption speed through /dev/cryptodevN, for `lab bench
 * device`. One process, one request at a time (like cryptodev-linux's
 * speed program), each size run for a fixed time, repeated.
 *
 *   speed [--dev PATH] [--sizes 16,256,...] [--ms N] [--repeat N] [--alg cbc|null]
 *
 * --alg null (CRYPTO_NULL) measures the transport alone: no cipher work.
 *
 * Prints one JSON object per line:
 *   {"size":16,"run":0,"ops":12345,"seconds":0.5}
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *dev = "/dev/cryptodev0";
	char sizes_buf[256] = "16,256,4096,65536,1048576";
	long ms = 1000, repeat = 3, run;
	uint32_t alg = CRYPTO_AES_CBC;
	uint8_t key[16], iv[16], *src, *dst;
	uint32_t ses, max = 0;
	char *tok, *save;
	int fd, i, err;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--dev"))
			dev = argv[i + 1];
		else if (!strcmp(argv[i], "--sizes"))
			snprintf(sizes_buf, sizeof(sizes_buf), "%s", argv[i + 1]);
		else if (!strcmp(argv[i], "--ms"))
			ms = strtol(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--repeat"))
			repeat = strtol(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--alg"))
			alg = strcmp(argv[i + 1], "null") ? CRYPTO_AES_CBC : CRYPTO_NULL;
		else
			break;
	}
	if (i < argc) {
		fprintf(stderr, "usage: speed [--dev PATH] [--sizes A,B,..] [--ms N] [--repeat N] [--alg cbc|null]\n");
		return 2;
	}

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror(dev);
		return 1;
	}
	memset(key, 0x42, sizeof(key));
	err = sess_open(fd, alg, key, alg == CRYPTO_NULL ? 0 : 16, 0, NULL, 0, &ses);
	if (err) {
		fprintf(stderr, "CIOCGSESSION: %s\n", strerror(-err));
		return 1;
	}
	{
		char tmp[256];

		memcpy(tmp, sizes_buf, sizeof(tmp));
		for (tok = strtok_r(tmp, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save))
			if ((uint32_t)strtoul(tok, NULL, 0) > max)
				max = (uint32_t)strtoul(tok, NULL, 0);
	}
	src = malloc(max);
	dst = malloc(max);
	if (!src || !dst)
		return 1;
	memset(src, 0x5a, max);

	for (run = 0; run < repeat; run++) {
		char tmp[256];

		memcpy(tmp, sizes_buf, sizeof(tmp));
		for (tok = strtok_r(tmp, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			uint32_t size = (uint32_t)strtoul(tok, NULL, 0);
			double t0 = now(), t = t0, end = t0 + ms / 1000.0;
			long ops = 0;

			while (t < end) {
				memset(iv, 0, sizeof(iv));
				err = do_crypt(fd, ses, COP_ENCRYPT, 0, src, dst,
					       size, alg == CRYPTO_NULL ? NULL : iv,
					       NULL);
				if (err) {
					fprintf(stderr, "CIOCCRYPT %u: %s\n", size,
						strerror(-err));
					return 1;
				}
				ops++;
				t = now();
			}
			printf("{\"size\":%u,\"run\":%ld,\"ops\":%ld,\"seconds\":%.6f}\n",
			       size, run, ops, t - t0);
			fflush(stdout);
		}
	}
	sess_close(fd, ses);
	close(fd);
	return 0;
}
