// SPDX-License-Identifier: GPL-2.0-only
/*
 * A classic-mode chat client written in C from the seed's description of
 * "AN Protocol 2.0" (the struct, the commands, AES-128-CBC over the whole
 * packet with a shared key and IV), as a student's client would be. The
 * host tests build it with gcc to check that the TypeScript server is
 * byte-compatible with the C struct layout.
 *
 *   an_client --layout
 *       prints sizeof and offsetof of every field, one "name offset" a line.
 *   an_client HOST PORT KEYHEX IVHEX [--one]
 *       reads requests from stdin, one a line:
 *           COMMAND ARG1 ARG2 ARG3 ARG4 ID BODY...
 *       ("-" for an empty argument; COMMAND a number 0..6), sends each as
 *       one encrypted packet and prints the answer as
 *           SUCCESS|FAILURE <id> <length> <text>
 *       All requests go over one connection, or one connection each with
 *       --one (send, then shutdown(SHUT_WR), then read the answer).
 *
 * Built with -DNO_CRYPTO only --layout is available.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum PACKET_TYPE { QUESTION, ANSWER };
enum COMMAND_TYPE {
	CREATE_USER, CREATE_CHANNEL, ADD_USER, SEND, READ, SERVER_SUCCESS, SERVER_FAILURE
};

typedef struct {
	uint8_t packet_type;
	uint8_t command;
	char arg1[8];
	char arg2[8];
	char arg3[8];
	char arg4[8];
	int length;
	int id;
	char body[260];
} packet;

static int layout(void)
{
	printf("size %zu\n", sizeof(packet));
	printf("packet_type %zu\n", offsetof(packet, packet_type));
	printf("command %zu\n", offsetof(packet, command));
	printf("arg1 %zu\n", offsetof(packet, arg1));
	printf("arg2 %zu\n", offsetof(packet, arg2));
	printf("arg3 %zu\n", offsetof(packet, arg3));
	printf("arg4 %zu\n", offsetof(packet, arg4));
	printf("length %zu\n", offsetof(packet, length));
	printf("id %zu\n", offsetof(packet, id));
	printf("body %zu\n", offsetof(packet, body));
	return 0;
}

#ifdef NO_CRYPTO
int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--layout") == 0)
		return layout();
	fprintf(stderr, "built without crypto: only --layout\n");
	return 2;
}
#else
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned char key[16], iv[16];

static int unhex(const char *s, unsigned char *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (sscanf(s + 2 * i, "%2hhx", &out[i]) != 1)
			return -1;
	return 0;
}

/* AES-128-CBC over the whole packet, no padding, CBC restarted each time. */
static int cipher(int enc, const void *in, void *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, ok;

	ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_128_cbc(), NULL, key, iv, enc) &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) &&
	     EVP_CipherUpdate(ctx, out, &n, in, sizeof(packet)) &&
	     EVP_CipherFinal_ex(ctx, (unsigned char *)out + n, &m);
	EVP_CIPHER_CTX_free(ctx);
	return ok && n + m == (int)sizeof(packet) ? 0 : -1;
}

static int insist_write(int fd, const void *buf, size_t cnt)
{
	const char *p = buf;

	while (cnt > 0) {
		ssize_t r = write(fd, p, cnt);
		if (r <= 0)
			return -1;
		p += r;
		cnt -= (size_t)r;
	}
	return 0;
}

static int insist_read(int fd, void *buf, size_t cnt)
{
	char *p = buf;

	while (cnt > 0) {
		ssize_t r = read(fd, p, cnt);
		if (r <= 0)
			return -1;
		p += r;
		cnt -= (size_t)r;
	}
	return 0;
}

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;
	int fd;

	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, ai->ai_socktype, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static void field(char dst[8], const char *src)
{
	memset(dst, 0, 8);
	if (strcmp(src, "-") != 0)
		memcpy(dst, src, strnlen(src, 8)); /* 8 bytes: no terminator */
}

static int parse(char *line, packet *p)
{
	char *save = NULL, *w[6];
	int cmd;

	for (int i = 0; i < 6; i++) {
		w[i] = strtok_r(i ? NULL : line, " \n", &save);
		if (!w[i])
			return -1;
	}
	memset(p, 0, sizeof(*p));
	cmd = atoi(w[0]);
	p->packet_type = QUESTION;
	p->command = (uint8_t)cmd;
	field(p->arg1, w[1]);
	field(p->arg2, w[2]);
	field(p->arg3, w[3]);
	field(p->arg4, w[4]);
	p->id = atoi(w[5]);
	char *body = strtok_r(NULL, "\n", &save);
	if (body) {
		size_t n = strnlen(body, sizeof(p->body) - 1);
		memcpy(p->body, body, n);
		p->length = (int)n;
	}
	return 0;
}

static int answer(int fd)
{
	packet enc, ans;

	if (insist_read(fd, &enc, sizeof(enc)) < 0 || cipher(0, &enc, &ans) < 0) {
		printf("ERROR no answer\n");
		return -1;
	}
	ans.body[sizeof(ans.body) - 1] = '\0';
	printf("%s %d %d %s\n", ans.command == SERVER_SUCCESS ? "SUCCESS" : "FAILURE", ans.id,
	       ans.length, ans.body);
	return 0;
}

int main(int argc, char **argv)
{
	char line[1024];
	int one, fd = -1;

	if (argc == 2 && strcmp(argv[1], "--layout") == 0)
		return layout();
	if (argc < 5 || unhex(argv[3], key, 16) || unhex(argv[4], iv, 16)) {
		fprintf(stderr, "usage: an_client HOST PORT KEYHEX IVHEX [--one] | --layout\n");
		return 2;
	}
	one = argc > 5 && strcmp(argv[5], "--one") == 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		packet p, enc;

		if (parse(line, &p) < 0)
			continue;
		if (fd < 0 && (fd = dial(argv[1], argv[2])) < 0) {
			perror("connect");
			return 3;
		}
		if (cipher(1, &p, &enc) < 0 || insist_write(fd, &enc, sizeof(enc)) < 0) {
			perror("write");
			return 3;
		}
		if (one)
			shutdown(fd, SHUT_WR);
		if (answer(fd) < 0)
			return 3;
		if (one) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return 0;
}
#endif
