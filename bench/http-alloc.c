/* SPDX-License-Identifier: MIT */
/*
 * http-alloc.c - the page allocator over HTTP, measured against the real mm32d.
 *
 * Starts MM32D (argv[1]) on a free loopback port with a database in a new temporary
 * directory (under $TMPDIR, else /tmp), creates a 1 GiB machine and measures, on one
 * keep-alive connection:
 *  (a) REST pairs: POST /v1/machines/{id}/pages {"gfp":"GFP_KERNEL"} then
 *      DELETE /v1/machines/{id}/pages/{pfn}, as alloc+free pairs per second;
 *  (b) batches: POST /v1/machines/{id}/commands with 1000 commands, alternately 1000
 *      order-0 alloc_pages and the 1000 free_pages of what they returned, as guest
 *      operations (commands) per second;
 *  (c) the same batches from several connections at once, one machine each.
 * Every command is journaled (SQLite, synchronous=FULL) before its answer, as always.
 * Then GET /check must still be ok. Prints the figures; exits non-zero on any failure.
 *
 * Usage: http-alloc MM32D [--seconds S] [--batch N] [--connections C]
 * C11 + POSIX, no library beyond libc: it is a client, not part of mm32.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds = 3.0;
static int batch = 1000;
static int connections = 2;
static unsigned short port;
static pid_t daemon_pid = -1;
static char tmpdir[256];

static void cleanup(void)
{
	char cmd[600];

	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = -1;
	}
	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "http-alloc: could not remove %s\n", tmpdir);
		tmpdir[0] = '\0';
	}
}

__attribute__((format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("http-alloc: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	cleanup();
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- a minimal HTTP/1.1 client with keep-alive ------------------------------------------ */

struct conn {
	int fd;
	char *buf; /* received bytes not consumed yet */
	size_t len, cap;
	char *out;
	size_t out_cap;
	size_t consumed; /* bytes of the last response, dropped at the next request */
};

struct response {
	int status;
	const char *body; /* valid until the next request on the connection */
	size_t body_len;
};

static int conn_open(struct conn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;

	memset(c, 0, sizeof(*c));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(c->fd);
		return -e;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c->out);
	c->fd = -1;
}

static void reserve(char **p, size_t *cap, size_t need)
{
	if (*cap >= need)
		return;
	while (*cap < need)
		*cap = *cap ? *cap * 2 : 65536;
	*p = realloc(*p, *cap);
	if (!*p)
		die("out of memory");
}

/* Read until @want bytes are buffered. */
static int fill(struct conn *c, size_t want)
{
	while (c->len < want) {
		ssize_t n;

		reserve(&c->buf, &c->cap, c->len + 65536);
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
	return 0;
}

static int request(struct conn *c, const char *method, const char *path, const char *body,
		   size_t body_len, struct response *r)
{
	size_t head_len, off = 0, clen = 0;
	char *end, *p;
	ssize_t n;

	/* drop the previous response */
	if (c->len > c->consumed)
		memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
	c->len -= c->consumed < c->len ? c->consumed : c->len;
	c->consumed = 0;

	reserve(&c->out, &c->out_cap, body_len + 512);
	head_len = (size_t)snprintf(c->out, c->out_cap,
				    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
				    method, path, body_len);
	if (body_len)
		memcpy(c->out + head_len, body, body_len);
	while (off < head_len + body_len) {
		n = write(c->fd, c->out + off, head_len + body_len - off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	/* headers */
	for (;;) {
		if (c->len) {
			end = memmem(c->buf, c->len, "\r\n\r\n", 4);
			if (end)
				break;
		}
		if (fill(c, c->len + 1) < 0)
			return -1;
	}
	*end = '\0';
	if (sscanf(c->buf, "HTTP/1.1 %d", &r->status) != 1)
		return -1;
	p = strcasestr(c->buf, "\r\nContent-Length:");
	if (p)
		clen = strtoul(p + 17, NULL, 10);
	head_len = (size_t)(end - c->buf) + 4;
	if (fill(c, head_len + clen) < 0)
		return -1;
	reserve(&c->buf, &c->cap, head_len + clen + 1);
	c->buf[head_len + clen] = '\0'; /* may clobber a pipelined byte: none are pipelined */
	r->body = c->buf + head_len;
	r->body_len = clen;
	c->consumed = head_len + clen;
	return 0;
}

/* ---- the daemon ---------------------------------------------------------------------------- */

static unsigned short free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		die("cannot find a free port: %s", strerror(errno));
	close(fd);
	return ntohs(sa.sin_port);
}

static void start_daemon(const char *exe)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char listen[32], db[300], log[300];
	struct conn c;
	struct response r;

	snprintf(tmpdir, sizeof(tmpdir), "%s/mm32-bench-XXXXXX", base);
	if (!mkdtemp(tmpdir))
		die("mkdtemp %s: %s", tmpdir, strerror(errno));
	snprintf(db, sizeof(db), "%s/mm32.db", tmpdir);
	snprintf(log, sizeof(log), "%s/mm32d.log", tmpdir);
	port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	daemon_pid = fork();
	if (daemon_pid < 0)
		die("fork: %s", strerror(errno));
	if (daemon_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (!freopen(log, "w", stderr))
			_exit(126);
		execl(exe, exe, "--listen", listen, "--db", db, "--no-default-machine",
		      "--log-level", "warn", "--threads", "2", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (conn_open(&c) == 0) {
			int ok =
				request(&c, "GET", "/v1/health", "", 0, &r) == 0 && r.status == 200;

			conn_close(&c);
			if (ok)
				return;
		}
		if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
			daemon_pid = -1;
			die("%s exited at start-up (log: %s)", exe, log);
		}
		usleep(50000);
	}
	die("%s did not serve /v1/health", exe);
}

static void create_machine(struct conn *c, const char *name)
{
	char body[128];
	struct response r;
	int n = snprintf(body, sizeof(body), "{\"name\":\"%s\",\"mem\":\"1G\",\"cpus\":2}", name);

	if (request(c, "POST", "/v1/machines", body, (size_t)n, &r) < 0 || r.status != 201)
		die("creating machine %s failed (%d)", name, r.status);
}

/* ---- (a) REST alloc+free pairs ------------------------------------------------------------- */

static long parse_pfn(const char *s)
{
	const char *p = strstr(s, "\"pfn\":");

	return p ? strtol(p + 6, NULL, 10) : -1;
}

static void bench_rest(void)
{
	static const char body[] = "{\"gfp\":\"GFP_KERNEL\"}";
	struct conn c;
	struct response r;
	char path[128];
	long pairs = 0;
	double t0, t;

	if (conn_open(&c) < 0)
		die("connect: %s", strerror(errno));
	create_machine(&c, "rest");
	t0 = now();
	do {
		for (int i = 0; i < 100; i++) {
			long pfn;

			if (request(&c, "POST", "/v1/machines/rest/pages", body, sizeof(body) - 1,
				    &r) < 0 ||
			    r.status != 201)
				die("POST /pages answered %d: %.300s", r.status, r.body);
			pfn = parse_pfn(r.body);
			snprintf(path, sizeof(path), "/v1/machines/rest/pages/%ld", pfn);
			if (request(&c, "DELETE", path, "", 0, &r) < 0 || r.status != 200)
				die("DELETE %s answered %d: %.300s", path, r.status, r.body);
			pairs++;
		}
		t = now() - t0;
	} while (t < seconds);
	printf("REST alloc+free pairs, 1 connection:   %9.0f pairs/s  (%.1f us per pair, "
	       "%ld pairs)\n",
	       (double)pairs / t, t / (double)pairs * 1e6, pairs);
	if (request(&c, "GET", "/v1/machines/rest/check", "", 0, &r) < 0 || r.status != 200)
		die("GET /check answered %d: %.300s", r.status, r.body);
	conn_close(&c);
}

/* ---- (b), (c) batches --------------------------------------------------------------------- */

struct batch_run {
	char name[32];
	long ops;
	double secs;
	double t_alloc, t_free; /* time in alloc and free batches */
};

/* @v in decimal at @p; returns the length. */
static size_t put_long(char *p, long v)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static void *batch_thread(void *arg)
{
	struct batch_run *br = arg;
	size_t cap = (size_t)batch * 64 + 16, off, alloc_len;
	char *body = malloc(cap), *alloc_body = malloc(cap), path[96];
	long *pfns = malloc((size_t)batch * sizeof(*pfns));
	struct conn c;
	struct response r;
	double t0, t1, t;

	if (!body || !alloc_body || !pfns)
		die("out of memory");
	if (conn_open(&c) < 0)
		die("connect: %s", strerror(errno));
	create_machine(&c, br->name);
	snprintf(path, sizeof(path), "/v1/machines/%s/commands", br->name);
	/* the client stays out of the way: the alloc batch is always the same text, the free
	 * batch is written without printf */
	alloc_len = (size_t)snprintf(alloc_body, cap, "[");
	for (int i = 0; i < batch; i++)
		alloc_len += (size_t)snprintf(alloc_body + alloc_len, cap - alloc_len,
					      "%s{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\","
					      "\"cpu\":%d}",
					      i ? "," : "", i & 1);
	alloc_len += (size_t)snprintf(alloc_body + alloc_len, cap - alloc_len, "]");
	t0 = now();
	do {
		const char *p;

		t1 = now();
		if (request(&c, "POST", path, alloc_body, alloc_len, &r) < 0 || r.status != 200)
			die("alloc batch answered %d: %.300s", r.status, r.body);
		br->t_alloc += now() - t1;
		p = r.body;
		for (int i = 0; i < batch; i++) {
			p = strstr(p, "\"pfn\":");
			if (!p)
				die("alloc batch: %d results, not %d", i, batch);
			pfns[i] = strtol(p + 6, (char **)&p, 10);
		}
		off = 0;
		body[off++] = '[';
		for (int i = 0; i < batch; i++) {
			static const char head[] = "{\"op\":\"free_pages\",\"pfn\":";

			if (i)
				body[off++] = ',';
			memcpy(body + off, head, sizeof(head) - 1);
			off += sizeof(head) - 1;
			off += put_long(body + off, pfns[i]);
			memcpy(body + off, i & 1 ? ",\"cpu\":1}" : ",\"cpu\":0}", 9);
			off += 9;
		}
		body[off++] = ']';
		t1 = now();
		if (request(&c, "POST", path, body, off, &r) < 0 || r.status != 200)
			die("free batch answered %d: %.300s", r.status, r.body);
		br->t_free += now() - t1;
		br->ops += 2L * batch;
		t = now() - t0;
	} while (t < seconds);
	br->secs = t;
	snprintf(path, sizeof(path), "/v1/machines/%s/check", br->name);
	if (request(&c, "GET", path, "", 0, &r) < 0 || r.status != 200)
		die("GET /check answered %d: %.300s", r.status, r.body);
	conn_close(&c);
	free(body);
	free(alloc_body);
	free(pfns);
	return NULL;
}

static void bench_batches(int n)
{
	static int round;
	struct batch_run *br = calloc((size_t)n, sizeof(*br));
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	double ops = 0, secs = 0, ta = 0, tf = 0;

	if (!br || !th)
		die("out of memory");
	round++;
	for (int i = 0; i < n; i++) {
		snprintf(br[i].name, sizeof(br[i].name), "batch%d-%d", round, i);
		if (pthread_create(&th[i], NULL, batch_thread, &br[i]))
			die("pthread_create failed");
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		ops += (double)br[i].ops;
		secs = br[i].secs > secs ? br[i].secs : secs;
		ta += br[i].t_alloc;
		tf += br[i].t_free;
	}
	printf("batches of %d, %d connection(s):     %9.0f guest ops/s (alloc batch %.2f ms, "
	       "free batch %.2f ms)\n",
	       batch, n, ops / secs, ta / (ops / 2 / batch) * 1e3, tf / (ops / 2 / batch) * 1e3);
	free(br);
	free(th);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s MM32D [--seconds S] [--batch N] [--connections C]\n",
			argv[0]);
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--batch"))
			batch = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--connections"))
			connections = atoi(argv[i + 1]);
		else
			die("unknown option %s", argv[i]);
	}
	if (seconds <= 0 || batch < 1 || batch > 10000 || connections < 1)
		die("bad option value");
	signal(SIGPIPE, SIG_IGN);
	start_daemon(argv[1]);
	printf("mm32d %s, database in %s, 1 GiB machines (686, 2 CPUs), %.1f s per figure\n",
	       argv[1], tmpdir, seconds);
	bench_rest();
	bench_batches(1);
	if (connections > 1)
		bench_batches(connections);
	cleanup();
	return 0;
}
