// SPDX-License-Identifier: GPL-2.0-only
/*
 * labexec: the guest half of `lab run`. Started by /init once the
 * virtio-serial ports exist; linked statically so it needs nothing else.
 *
 * Ports (/dev/virtio-ports/<name>):
 *   lab.cmd     host -> guest: frames (u32 little-endian length + payload).
 *               First frame: cwd NUL argv[0] NUL argv[1] NUL ...
 *               Then stdin data frames; a zero-length frame is end of input.
 *               Last, once the host has read all the output the status
 *               line counts, the length ACK_FRAME alone (no payload).
 *   lab.out     guest -> host: the command's stdout, raw.
 *   lab.err     guest -> host: the command's stderr, raw.
 *   lab.status  guest -> host: one line "exit CODE OUTBYTES ERRBYTES\n",
 *               written after everything else (and after sync()), so the
 *               host knows how many bytes to wait for on lab.out/lab.err.
 *               labexec then waits for the host's ACK_FRAME before it
 *               returns: /init powers off next and QEMU exits with the
 *               guest, so output still queued in QEMU for a host reader
 *               paused by backpressure would otherwise be lost.
 *
 * CODE is the command's exit status, or 128+signal. When the command
 * cannot be started: 127 (not found) or 126 (not executable), like a shell.
 *
 * `labexec --modules FILE` instead loads the kernel modules FILE lists
 * (paths under /lib/modules, in dependency order) with finit_module(2),
 * all from this one process: under TCG each insmod process costs more
 * than the load itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PORT_DIR "/dev/virtio-ports/"
#define MAX_CMD (1u << 20)
#define BUF_SIZE 65536
#define ACK_FRAME 0xffffffffu	/* never a data length: those are < MAX_CMD */

static void die(const char *what)
{
	fprintf(stderr, "labexec: %s: %s\n", what, strerror(errno));
	exit(125);
}

static int open_port(const char *name, int flags)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), PORT_DIR "%s", name);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		die(path);
	return fd;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_frame_len(int fd, uint32_t *len)
{
	unsigned char b[4];

	if (read_full(fd, b, 4))
		return -1;
	*len = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

/*
 * Waits for the host's ACK_FRAME, skipping what is left of a stdin frame
 * (in_left bytes) and any stdin frames the command did not read. A closed
 * or failing port ends the wait: the host is gone, nothing is left to keep.
 */
static void wait_host_ack(int fd, uint32_t in_left, char *buf)
{
	uint32_t len = in_left;

	for (;;) {
		while (len) {
			ssize_t n = read(fd, buf, len < BUF_SIZE ? len : BUF_SIZE);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return;
			len -= (uint32_t)n;
		}
		if (read_frame_len(fd, &len) || len == ACK_FRAME)
			return;
	}
}

/* Splits the command frame into cwd and a NULL-terminated argv. */
static char **parse_command(char *buf, uint32_t len, char **cwd)
{
	uint32_t i, n = 0;
	char **argv;

	if (len == 0 || buf[len - 1] != '\0')
		return NULL;
	for (i = 0; i < len; i++)
		n += buf[i] == '\0';
	if (n < 2)
		return NULL;
	argv = calloc(n, sizeof(*argv));
	if (!argv)
		return NULL;
	*cwd = buf;
	buf += strlen(buf) + 1;
	for (i = 0; i < n - 1; i++) {
		argv[i] = buf;
		buf += strlen(buf) + 1;
	}
	return argv;
}

struct stream {
	int from;		/* pipe read end, -1 once at EOF */
	int to;			/* port */
	unsigned long long bytes;
};

/* Copies what is available; returns 0 at EOF or error (stream closed). */
static int pump(struct stream *s, char *buf)
{
	ssize_t n = read(s->from, buf, BUF_SIZE);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0 || write_full(s->to, buf, (size_t)n)) {
		close(s->from);
		s->from = -1;
		return 0;
	}
	s->bytes += (unsigned long long)n;
	return 1;
}

static int load_modules(const char *list)
{
	FILE *f = fopen(list, "re");
	char path[512], name[400];
	int failed = 0;

	if (!f) {
		perror(list);
		return 1;
	}
	while (fscanf(f, "%399s", name) == 1) {
		int fd;

		snprintf(path, sizeof(path), "/lib/modules/%s", name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST)) {
			fprintf(stderr, "labexec: loading %s: %s\n", path, strerror(errno));
			failed = 1;
		}
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
	return failed;
}

int main(int argc, char **argv_main)
{
	int cmd, out, err, status_fd;
	int opipe[2], epipe[2], ipipe[2], xpipe[2];
	struct stream streams[2];
	char *frame, *cwd, **argv, *buf, *pending = NULL;
	size_t pending_len = 0, pending_off = 0;
	uint32_t len, in_left = 0;
	int stdin_open = 1, child_done = 0, code = 0, wstatus, xerr = 0;
	char line[96];
	pid_t pid;

	if (argc == 3 && !strcmp(argv_main[1], "--modules"))
		return load_modules(argv_main[2]);
	cmd = open_port("lab.cmd", O_RDONLY);
	out = open_port("lab.out", O_WRONLY);
	err = open_port("lab.err", O_WRONLY);
	status_fd = open_port("lab.status", O_WRONLY);
	if (read_frame_len(cmd, &len) || len > MAX_CMD)
		die("bad command frame");
	frame = malloc(len ? len : 1);
	buf = malloc(BUF_SIZE);
	if (!frame || !buf || read_full(cmd, frame, len))
		die("reading command");
	argv = parse_command(frame, len, &cwd);
	if (!argv) {
		errno = EINVAL;
		die("malformed command");
	}

	if (pipe2(opipe, O_CLOEXEC) || pipe2(epipe, O_CLOEXEC) ||
	    pipe2(ipipe, O_CLOEXEC) || pipe2(xpipe, O_CLOEXEC))
		die("pipe");
	signal(SIGPIPE, SIG_IGN);

	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		dup2(ipipe[0], 0);
		dup2(opipe[1], 1);
		dup2(epipe[1], 2);
		if (chdir(cwd))
			(void)chdir("/");
		execvp(argv[0], argv);
		xerr = errno;
		(void)!write(xpipe[1], &xerr, sizeof(xerr));
		_exit(127);
	}
	close(ipipe[0]);
	close(opipe[1]);
	close(epipe[1]);
	close(xpipe[1]);
	streams[0] = (struct stream){ .from = opipe[0], .to = out };
	streams[1] = (struct stream){ .from = epipe[0], .to = err };
	if (read(xpipe[0], &xerr, sizeof(xerr)) == sizeof(xerr)) {
		int n = snprintf(line, sizeof(line), "lab: %.40s: %s\n", argv[0],
				 strerror(xerr));

		if (n > 0 && !write_full(err, line, (size_t)n))
			streams[1].bytes += (unsigned long long)n;
	}
	close(xpipe[0]);
	fcntl(ipipe[1], F_SETFL, O_NONBLOCK);

	for (;;) {
		struct pollfd pf[4];
		int nfds = 0, i_cmd = -1, i_in = -1, i_s[2] = { -1, -1 }, r, i;

		if (!child_done && waitpid(pid, &wstatus, WNOHANG) == pid)
			child_done = 1;
		if (streams[0].from < 0 && streams[1].from < 0 && child_done)
			break;
		for (i = 0; i < 2; i++) {
			if (streams[i].from >= 0) {
				i_s[i] = nfds;
				pf[nfds++] = (struct pollfd){ streams[i].from, POLLIN, 0 };
			}
		}
		if (stdin_open && pending_len > pending_off) {
			i_in = nfds;
			pf[nfds++] = (struct pollfd){ ipipe[1], POLLOUT, 0 };
		} else if (stdin_open && cmd >= 0) {
			i_cmd = nfds;
			pf[nfds++] = (struct pollfd){ cmd, POLLIN, 0 };
		}
		/*
		 * Once the command has exited, output still buffered in the
		 * pipes is drained; a background process keeping them open
		 * does not hold the run: stop at the first quiet 200 ms.
		 */
		r = poll(pf, (nfds_t)nfds, child_done ? 200 : 50);
		if (r < 0 && errno != EINTR)
			die("poll");
		if (r == 0 && child_done)
			break;
		if (r <= 0)
			continue;
		for (i = 0; i < 2; i++)
			if (i_s[i] >= 0 && pf[i_s[i]].revents)
				pump(&streams[i], buf);
		if (i_in >= 0 && pf[i_in].revents) {
			ssize_t n = write(ipipe[1], pending + pending_off,
					  pending_len - pending_off);

			if (n > 0)
				pending_off += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				stdin_open = 0; /* the command closed its stdin */
		}
		if (i_cmd >= 0 && pf[i_cmd].revents) {
			if (in_left == 0) {
				if (read_frame_len(cmd, &in_left) || in_left == 0) {
					stdin_open = 0;
					close(ipipe[1]);
					ipipe[1] = -1;
					continue;
				}
			}
			ssize_t n = read(cmd, buf, in_left < BUF_SIZE ? in_left : BUF_SIZE);

			if (n <= 0) {
				stdin_open = 0;
				continue;
			}
			in_left -= (uint32_t)n;
			free(pending);
			pending = malloc((size_t)n);
			if (!pending)
				die("malloc");
			memcpy(pending, buf, (size_t)n);
			pending_len = (size_t)n;
			pending_off = 0;
		}
		if (!stdin_open && ipipe[1] >= 0) {
			close(ipipe[1]);
			ipipe[1] = -1;
		}
	}
	if (!child_done)
		waitpid(pid, &wstatus, 0);
	if (xerr)
		code = xerr == ENOENT ? 127 : 126;
	else if (WIFEXITED(wstatus))
		code = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		code = 128 + WTERMSIG(wstatus);
	sync();
	snprintf(line, sizeof(line), "exit %d %llu %llu\n", code, streams[0].bytes,
		 streams[1].bytes);
	if (write_full(status_fd, line, strlen(line)))
		die("writing status");
	wait_host_ack(cmd, in_left, buf);
	return 0;
}
