/* SPDX-License-Identifier: MIT */
/*
 * main.c - mm32d: options, start-up, the signal loop, shutdown.
 *
 * Start-up order: parse options -> block SIGTERM/SIGINT (before any thread exists, so
 * every thread inherits the mask and only the main thread's sigwait() sees them) -> open
 * the store (migrations) -> restore machines (replay) -> the default machine -> start HTTP
 * -> wait for a signal. Shutdown reverses it: stop HTTP (joins its threads, so no request
 * is running), destroy machines, close the store.
 *
 * The main thread does nothing but wait for signals; later additions (sd_notify READY,
 * watchdog pings) belong in that loop.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#include "codec.h"
#include "log.h"
#include "registry.h"
#include "server.h"
#include "store.h"

struct options {
	const char *listen;
	char db[PATH_MAX];
	unsigned int threads;
	size_t max_body;
	bool no_default_machine;
	enum log_level level;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mm32d [OPTION]...\n"
		"Host emulated i386 PCs running Linux 6.1's memory manager, over HTTP/JSON.\n\n"
		"  --listen ADDR:PORT    listen here (default 127.0.0.1:8032; IPv6: [::1]:8032)\n"
		"  --db PATH             SQLite database (default: $STATE_DIRECTORY/mm32.db,\n"
		"                        /var/lib/mm32/mm32.db as root, else\n"
		"                        ${XDG_STATE_HOME:-~/.local/state}/mm32/mm32.db)\n"
		"  --threads N           HTTP worker threads (default 2)\n"
		"  --max-body BYTES      largest request body accepted (default 1M)\n"
		"  --no-default-machine  do not create the machine \"default\"\n"
		"  --log-level LEVEL     error, warn, info (default) or debug\n"
		"  --help                show this help and exit\n"
		"  --version             show the version and exit\n");
}

/* mkdir -p the parent directory of @path. */
static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	char *slash;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return 0;
	*slash = '\0';
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int default_db_path(char *out, size_t size)
{
	const char *dir = getenv("STATE_DIRECTORY"), *home;
	int n;

	if (dir && *dir) {
		/* systemd passes a colon-separated list: the first is ours */
		n = snprintf(out, size, "%.*s/mm32.db", (int)strcspn(dir, ":"), dir);
	} else if (geteuid() == 0) {
		n = snprintf(out, size, "/var/lib/mm32/mm32.db");
	} else if ((dir = getenv("XDG_STATE_HOME")) && *dir == '/') {
		n = snprintf(out, size, "%s/mm32/mm32.db", dir);
	} else {
		home = getenv("HOME");
		if (!home || !*home) {
			struct passwd *pw = getpwuid(geteuid());

			home = pw ? pw->pw_dir : NULL;
		}
		if (!home)
			return -ENOENT;
		n = snprintf(out, size, "%s/.local/state/mm32/mm32.db", home);
	}
	return n < (int)size ? 0 : -ENAMETOOLONG;
}

/* "127.0.0.1:8032", "[::1]:8032", "localhost:8032" -> a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	char host[256];
	const char *port;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res;
	size_t hlen;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		hlen = (size_t)(end - s - 1);
		port = end + 2;
		s++;
		hints.ai_family = AF_INET6;
		hints.ai_flags |= AI_NUMERICHOST;
	} else {
		const char *colon = strrchr(s, ':');

		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || !*port ||
	    strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -EINVAL;
	memcpy(ret, res->ai_addr, res->ai_addrlen);
	*ret_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

enum {
	OPT_LISTEN = 256,
	OPT_DB,
	OPT_THREADS,
	OPT_MAX_BODY,
	OPT_NO_DEFAULT,
	OPT_LOG_LEVEL,
	OPT_HELP,
	OPT_VERSION
};

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"db", required_argument, NULL, OPT_DB},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"max-body", required_argument, NULL, OPT_MAX_BODY},
		{"no-default-machine", no_argument, NULL, OPT_NO_DEFAULT},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"help", no_argument, NULL, OPT_HELP},
		{"version", no_argument, NULL, OPT_VERSION},
		{0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			o->listen = optarg;
			break;
		case OPT_DB:
			if (!*optarg ||
			    snprintf(o->db, sizeof(o->db), "%s", optarg) >= (int)sizeof(o->db)) {
				fprintf(stderr, "mm32d: --db: bad path\n");
				return -EINVAL;
			}
			break;
		case OPT_THREADS: {
			char *end;
			long n = strtol(optarg, &end, 10);

			if (*end || end == optarg || n < 1 || n > 256) {
				fprintf(stderr, "mm32d: --threads must be 1..256\n");
				return -EINVAL;
			}
			o->threads = (unsigned int)n;
			break;
		}
		case OPT_MAX_BODY: {
			uint64_t n;

			if (mm_parse_size(optarg, &n) < 0 || n < 1 || n > (1ULL << 30)) {
				fprintf(stderr, "mm32d: --max-body must be 1..1G bytes\n");
				return -EINVAL;
			}
			o->max_body = (size_t)n;
			break;
		}
		case OPT_NO_DEFAULT:
			o->no_default_machine = true;
			break;
		case OPT_LOG_LEVEL:
			if (log_level_parse(optarg, &o->level) < 0) {
				fprintf(stderr,
					"mm32d: --log-level must be error, warn, info or debug\n");
				return -EINVAL;
			}
			break;
		case OPT_HELP:
			usage(stdout);
			exit(EXIT_SUCCESS);
		case OPT_VERSION:
			printf("mm32d %s (reference kernel %s)\n", MM32_VERSION, MM_VERSION_KERNEL);
			exit(EXIT_SUCCESS);
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mm32d: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static void on_request(void *data, const char *method, const char *url, unsigned int status,
		       double ms)
{
	log_info("%s %s %u %.1fms", method, url, status, ms);
}

static void on_http_error(void *data, const char *msg)
{
	log_warn("http: %s", msg);
}

int main(int argc, char **argv)
{
	struct options o = {.listen = "127.0.0.1:8032",
			    .threads = 2,
			    .max_body = 1 << 20,
			    .level = LOG_LEVEL_INFO};
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct store *st = NULL;
	struct registry *reg = NULL;
	struct api_server *srv = NULL;
	struct api_host host;
	struct mm_error err = {0};
	sigset_t sigs;
	int sig, r, ret = EXIT_FAILURE;

	if (parse_options(argc, argv, &o) < 0) {
		usage(stderr);
		return 2;
	}
	if (parse_listen(o.listen, &addr, &addrlen) < 0) {
		fprintf(stderr, "mm32d: --listen: cannot use '%s' (ADDR:PORT or [IPv6]:PORT)\n",
			o.listen);
		usage(stderr);
		return 2;
	}
	log_init(o.level);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!o.db[0] && default_db_path(o.db, sizeof(o.db)) < 0) {
		log_error("cannot find a place for the database; use --db");
		return EXIT_FAILURE;
	}
	r = mkdir_parents(o.db);
	if (r < 0) {
		log_error("cannot create the directory of %s: %s", o.db, strerror(-r));
		return EXIT_FAILURE;
	}
	if (store_open(o.db, &st, &err) < 0) {
		log_error("%s", err.msg);
		return EXIT_FAILURE;
	}
	log_info("database %s", o.db);
	if (registry_create(st, &reg, &err) < 0 || registry_load(reg, &err) < 0) {
		log_error("%s", err.msg);
		goto out;
	}
	if (!o.no_default_machine && !registry_contains(reg, "default")) {
		struct mm_config *cfg = malloc(sizeof(*cfg));

		if (!cfg)
			goto out;
		mm_config_init(cfg, false);
		cfg->mem = 1ULL << 30;
		cfg->cpus = 1;
		cfg->cmdline[0] = '\0';
		r = registry_add(reg, "default", cfg, &err);
		free(cfg);
		if (r < 0) {
			log_error("cannot create the default machine: %s", err.msg);
			goto out;
		}
	}

	host = registry_host(reg);
	{
		struct api_server_options so = {
			.addr = (const struct sockaddr *)&addr,
			.addrlen = addrlen,
			.listen_fd = -1,
			.threads = o.threads,
			.max_body = o.max_body,
			.on_request = on_request,
			.on_error = on_http_error,
		};

		if (api_server_start(&so, &host, &srv, &err) < 0) {
			log_error("%s (listening on %s)", err.msg, o.listen);
			goto out;
		}
	}
	{
		char hbuf[NI_MAXHOST] = "?";

		getnameinfo((const struct sockaddr *)&addr, addrlen, hbuf, sizeof(hbuf), NULL, 0,
			    NI_NUMERICHOST);
		log_info("mm32d %s listening on %s%s%s:%u", MM32_VERSION,
			 addr.ss_family == AF_INET6 ? "[" : "", hbuf,
			 addr.ss_family == AF_INET6 ? "]" : "", api_server_port(srv));
	}

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	log_info("signal %d: shutting down", sig);
	ret = EXIT_SUCCESS;
out:
	api_server_stop(srv);
	registry_destroy(reg);
	store_close(st);
	return ret;
}
