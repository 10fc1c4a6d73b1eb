/* SPDX-License-Identifier: MIT */
/*
 * settings.c - defaults, the ini file (inih), the command line (see settings.h).
 *
 * One table, keys[], describes every setting: its name (the long option and the file's
 * key), how its value is read, where it is stored, whether a reload applies it, and its
 * line of --help. getopt's option array and the usage text are built from it, so the file
 * and the command line cannot drift apart.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ini.h>

#include "config.h"

#include "problem.h"
#include "settings.h"

enum key_type {
	K_LISTEN,
	K_PATH,
	K_SOCKET_PATH,
	K_MODE,
	K_UINT,
	K_SIZE,
	K_BOOL,
	K_LEVEL,
	K_SYNC,
	K_TOKEN,  /* file only: appends a token */
	K_ORIGIN, /* appends an allowed CORS origin */
};

struct key {
	const char *name;
	enum key_type type;
	size_t off;  /* offset in struct settings */
	size_t size; /* of the field, for strings */
	unsigned long long min, max;
	bool reloadable;
	const char *arg;  /* for --help; NULL for a flag */
	const char *help; /* NULL: not on the command line */
};

#define F(field) offsetof(struct settings, field), sizeof(((struct settings *)0)->field)

static const struct key keys[] = {
	{"listen", K_LISTEN, F(listen), 0, 0, false, "ADDR:PORT",
	 "listen here (default 127.0.0.1:8032; IPv6: [::1]:8032)"},
	{"unix-socket", K_SOCKET_PATH, F(unix_socket), 0, 0, false, "PATH",
	 "also listen on this UNIX socket (default: none)"},
	{"unix-socket-mode", K_MODE, F(unix_socket_mode), 0, 0777, false, "MODE",
	 "permissions of the UNIX socket, octal (default 0660)"},
	{"db", K_PATH, F(db), 0, 0, false, "PATH",
	 "SQLite database (default: $STATE_DIRECTORY/mm32.db,\n"
	 "/var/lib/mm32/mm32.db as root, else\n"
	 "${XDG_STATE_HOME:-~/.local/state}/mm32/mm32.db)"},
	{"sync", K_SYNC, F(sync), 0, 0, false, "MODE",
	 "durability of the journal and snapshots: full (default:\n"
	 "synced to disk before the answer) or normal (survives a\n"
	 "crash of mm32d, not a power cut)"},
	{"threads", K_UINT, F(threads), 1, 256, false, "N", "HTTP worker threads (default 2)"},
	{"max-body", K_SIZE, F(max_body), 1, 1ULL << 30, true, "BYTES",
	 "largest request body accepted (default 1M)"},
	{"max-connections", K_UINT, F(max_connections), 0, 1000000, true, "N",
	 "open connections at once (default 256; 0: no limit)"},
	{"max-machines", K_UINT, F(max_machines), 0, 1000000, true, "N",
	 "machines at once (default 1000; 0: no limit)"},
	{"max-host-memory", K_SIZE, F(max_host_memory), 0, 1ULL << 50, true, "BYTES",
	 "host memory the machines may hold, each charged its\n"
	 "mem_map and bookkeeping (default 0: 3/4 of the RAM)"},
	{"max-db-size", K_SIZE, F(max_db_size), 0, 1ULL << 50, true, "BYTES",
	 "largest database file (journals, snapshots); beyond,\n"
	 "writes answer 507 (default 0: the disk is the limit)"},
	{"max-snapshots-per-machine", K_UINT, F(max_snapshots_per_machine), 0, 1000000, true, "N",
	 "snapshots a machine may keep (default 100; 0: no limit)"},
	{"max-session-commands", K_UINT, F(max_session_commands), 0, 1000000000, true, "N",
	 "commands a machine's session (its journal) may hold;\n"
	 "an import too (default 1000000; 0: no limit)"},
	{"max-client-connections", K_UINT, F(max_client_connections), 0, 1000000, true, "N",
	 "open connections per client address (default 64; 0: no\n"
	 "limit)"},
	{"request-timeout", K_UINT, F(request_timeout), 0, 3600, true, "SECONDS",
	 "time a client has to send a request's headers, then its\n"
	 "body, however it trickles them (default 30; 0: none)"},
	{"rate-limit", K_UINT, F(rate_limit), 0, 1000000, true, "N",
	 "requests per second per client (default 0: no limit)"},
	{"rate-burst", K_UINT, F(rate_burst), 1, 1000000, true, "N",
	 "requests a client may make at once (default 100)"},
	{"shutdown-timeout", K_UINT, F(shutdown_timeout), 0, 3600, true, "SECONDS",
	 "how long SIGTERM waits for requests in flight (default 20)"},
	{"no-default-machine", K_BOOL, F(no_default_machine), 0, 1, false, NULL,
	 "do not create the machine \"default\""},
	{"insecure", K_BOOL, F(insecure), 0, 1, false, NULL,
	 "allow a non-loopback --listen without bearer tokens"},
	{"cors-origin", K_ORIGIN, 0, 0, 0, 0, true, "ORIGIN",
	 "let pages of this origin call the API (CORS), e.g.\n"
	 "https://course.example.org or * for any; repeatable;\n"
	 "empty: none (default: none)"},
	{"max-event-streams", K_UINT, F(max_event_streams), 0, 1000000, true, "N",
	 "open event streams (GET .../events) at once (default\n"
	 "64; 0: no limit)"},
	{"max-client-event-streams", K_UINT, F(max_client_event_streams), 0, 1000000, true, "N",
	 "open event streams per client address (default 8; 0:\n"
	 "no limit)"},
	{"event-heartbeat", K_UINT, F(event_heartbeat), 1, 3600, true, "SECONDS",
	 "a comment on every event stream this often (default 15)"},
	{"log-level", K_LEVEL, F(level), 0, 0, true, "LEVEL",
	 "error, warn, info (default) or debug"},
	{"token-file", K_PATH, F(token_file), 0, 0, true, "PATH",
	 "bearer tokens, one per line: TCP clients must send one"},
	{"token", K_TOKEN, 0, 0, 0, 0, true, NULL, NULL},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key *key_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

bool settings_reloadable(const char *name)
{
	const struct key *k = key_find(name);

	return k && k->reloadable;
}

static void settings_defaults(struct settings *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8032");
	c->unix_socket_mode = 0660;
	c->threads = 2;
	c->max_body = 1 << 20;
	c->max_connections = 256;
	c->max_client_connections = 64;
	c->max_machines = 1000;
	c->max_snapshots_per_machine = 100;
	c->max_session_commands = 1000000;
	c->request_timeout = 30;
	c->rate_limit = 0;
	c->rate_burst = 100;
	c->shutdown_timeout = 20;
	c->max_event_streams = 64;
	c->max_client_event_streams = 8;
	c->event_heartbeat = 15;
	c->level = LOG_LEVEL_INFO;
}

void settings_finish(struct settings *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ntokens; i++) {
		/* a token is a secret: do not leave it in freed memory */
		explicit_bzero(c->tokens[i], strlen(c->tokens[i]));
		free(c->tokens[i]);
	}
	free(c->tokens);
	c->tokens = NULL;
	c->ntokens = 0;
}

/* ---- addresses --------------------------------------------------------------------------- */

int settings_parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len)
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
	    strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 || atoi(port) > 65535)
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -EINVAL;
	memcpy(ret, res->ai_addr, res->ai_addrlen);
	*ret_len = res->ai_addrlen;
	freeaddrinfo(res);
	/* An IPv4-mapped IPv6 address ([::ffff:a.b.c.d]) is that IPv4 address: an IPv6 socket
	 * (libmicrohttpd sets IPV6_V6ONLY) cannot bind it, an IPv4 one binds what it means. */
	if (ret->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)ret)->sin6_addr)) {
		struct sockaddr_in6 in6 = *(struct sockaddr_in6 *)ret;
		struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = in6.sin6_port};

		memcpy(&in.sin_addr, &in6.sin6_addr.s6_addr[12], 4);
		memset(ret, 0, sizeof(*ret));
		memcpy(ret, &in, sizeof(in));
		*ret_len = sizeof(in);
	}
	return 0;
}

bool settings_addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

int settings_check_access(const struct settings *c, bool loopback_only, struct mm_error *err)
{
	if (loopback_only || c->ntokens || c->insecure)
		return 0;
	return api_error(err, -EPERM,
			 "refusing to listen on a non-loopback address without bearer tokens: "
			 "give token-file (or token = in the configuration file), or --insecure "
			 "to serve anyone who can reach the address");
}

/* ---- values ------------------------------------------------------------------------------ */

static int parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*ret = true;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* RFC 6750 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "="s. */
static bool token_valid(const char *t)
{
	size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
			     "-._~+/");
	size_t len = strlen(t);

	if (n == 0 || len < SETTINGS_TOKEN_MIN || len > SETTINGS_TOKEN_MAX)
		return false;
	return strspn(t + n, "=") == len - n;
}

static int token_add(struct settings *c, const char *t, struct mm_error *err)
{
	char **v;

	if (!token_valid(t))
		return api_error(err, -EINVAL,
				 "a token must be %d to %d characters of A-Z a-z 0-9 - . _ ~ + / "
				 "(then = for padding)",
				 SETTINGS_TOKEN_MIN, SETTINGS_TOKEN_MAX);
	if (c->ntokens == SETTINGS_TOKENS_MAX)
		return api_error(err, -EINVAL, "more than %d tokens", SETTINGS_TOKENS_MAX);
	v = realloc(c->tokens, (c->ntokens + 1) * sizeof(*v));
	if (!v)
		return api_error(err, -ENOMEM, "out of memory");
	c->tokens = v;
	c->tokens[c->ntokens] = strdup(t);
	if (!c->tokens[c->ntokens])
		return api_error(err, -ENOMEM, "out of memory");
	c->ntokens++;
	return 0;
}

/* An origin as a browser sends it: "*", or scheme://host[:port] of http or https, no path.
 * An empty value clears the list (what `--check-config` prints for none). */
static int origin_add(struct settings *c, const char *v, struct mm_error *err)
{
	if (!v[0]) {
		c->ncors_origins = 0;
		return 0;
	}
	const char *host = !strncmp(v, "https://", 8)  ? v + 8
			   : !strncmp(v, "http://", 7) ? v + 7
						       : NULL;

	if (strcmp(v, "*") &&
	    (!host || !*host || strpbrk(host, "/ \t?#") || strlen(v) >= SETTINGS_ORIGIN_MAX))
		return api_error(err, -EINVAL,
				 "'%.64s' is not an origin: http(s)://host[:port], without a path, "
				 "or *",
				 v);
	if (c->ncors_origins == SETTINGS_ORIGINS_MAX)
		return api_error(err, -EINVAL, "more than %d origins", SETTINGS_ORIGINS_MAX);
	snprintf(c->cors_origins[c->ncors_origins++], SETTINGS_ORIGIN_MAX, "%s", v);
	return 0;
}

/* Set @k from the text @v. The message in @err does not name the key: the caller does. */
static int key_set(struct settings *c, const struct key *k, const char *v, struct mm_error *err)
{
	void *field = (char *)c + k->off;
	unsigned long long x;
	char *end;

	switch (k->type) {
	case K_LISTEN: {
		struct sockaddr_storage ss;
		socklen_t len;

		if (settings_parse_listen(v, &ss, &len) < 0)
			return api_error(err, -EINVAL, "cannot use '%s' (ADDR:PORT or [IPv6]:PORT)",
					 v);
		break;
	}
	case K_SOCKET_PATH:
		if (v[0] && v[0] != '/')
			return api_error(err, -EINVAL, "'%s' is not an absolute path", v);
		break;
	case K_PATH:
		break;
	case K_MODE:
		errno = 0;
		x = strtoull(v, &end, 8);
		if (!*v || *end || errno || x > k->max)
			return api_error(err, -EINVAL, "'%s' is not an octal mode 0..0777", v);
		*(unsigned int *)field = (unsigned int)x;
		return 0;
	case K_UINT:
		errno = 0;
		x = strtoull(v, &end, 10);
		if (!*v || *end || errno || *v == '-' || x < k->min || x > k->max)
			return api_error(err, -EINVAL, "must be %llu..%llu, not '%s'", k->min,
					 k->max, v);
		*(unsigned int *)field = (unsigned int)x;
		return 0;
	case K_SIZE: {
		uint64_t n;

		if (mm_parse_size(v, &n) < 0 || n < k->min || n > k->max)
			return api_error(err, -EINVAL, "must be 1..1G bytes, not '%s'", v);
		*(size_t *)field = (size_t)n;
		return 0;
	}
	case K_BOOL:
		if (parse_bool(v, (bool *)field) < 0)
			return api_error(err, -EINVAL, "'%s' is not true or false", v);
		return 0;
	case K_LEVEL:
		if (log_level_parse(v, (enum log_level *)field) == 0)
			return 0;
		return api_error(err, -EINVAL, "must be error, warn, info or debug, not '%s'", v);
	case K_SYNC:
		if (store_sync_parse(v, (enum store_sync *)field) == 0)
			return 0;
		return api_error(err, -EINVAL, "must be full or normal, not '%s'", v);
	case K_TOKEN:
		return token_add(c, v, err);
	case K_ORIGIN:
		return origin_add(c, v, err);
	}
	/* the string kinds */
	if (snprintf(field, k->size, "%s", v) >= (int)k->size)
		return api_error(err, -EINVAL, "'%.64s...' is too long", v);
	return 0;
}

/* ---- the file ---------------------------------------------------------------------------- */

struct ini_ctx {
	struct settings *c;
	struct mm_error *err;
	bool failed;
};

static int ini_handler_fn(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;
	const struct key *k;
	struct mm_error e = {0};

	if (ctx->failed)
		return 0;
	if (section[0] && strcmp(section, "mm32d")) {
		api_error(ctx->err, -EINVAL, "unknown section [%.64s] (the keys go in [mm32d])",
			  section);
		goto fail;
	}
	k = key_find(name);
	if (!k) {
		api_error(ctx->err, -EINVAL, "unknown key '%.64s'", name);
		goto fail;
	}
	if (key_set(ctx->c, k, value, &e) < 0) {
		api_error(ctx->err, e.code, "%s: %s", name, e.msg);
		goto fail;
	}
	return 1;
fail:
	ctx->failed = true;
	return 0;
}

static int read_file(struct settings *c, const char *path, bool optional, struct mm_error *err)
{
	struct mm_error e = {0};
	struct ini_ctx ctx = {.c = c, .err = &e};
	struct stat st;
	FILE *f = fopen(path, "re");
	int r;

	if (!f) {
		if (optional && errno == ENOENT)
			return 0;
		return api_error(err, -errno, "cannot read the configuration file %s: %s", path,
				 strerror(errno));
	}
	snprintf(c->file, sizeof(c->file), "%s", path);
	r = ini_parse_file(f, ini_handler_fn, &ctx);
	if (r == 0 && c->ntokens && fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH)) {
		fclose(f);
		return api_error(err, -EPERM,
				 "%s holds tokens but every user may read it (chmod o-r %s)", path,
				 path);
	}
	fclose(f);
	if (r == 0)
		return 0;
	if (r < 0)
		return api_error(err, -ENOMEM, "cannot read %s: out of memory", path);
	/* inih goes on after an error and reports the first line that failed */
	if (!ctx.failed)
		return api_error(err, -EINVAL, "%s:%d: not a 'key = value' line or a [section]",
				 path, r);
	return api_error(err, e.code ? e.code : -EINVAL, "%s:%d: %s", path, r, e.msg);
}

static int read_token_file(struct settings *c, struct mm_error *err)
{
	const char *path = c->token_file;
	char line[SETTINGS_TOKEN_MAX + 64];
	struct stat st;
	int lineno = 0, r = 0;
	FILE *f;

	if (!path[0])
		return 0;
	f = fopen(path, "re");
	if (!f)
		return api_error(err, -errno, "cannot read the token file %s: %s", path,
				 strerror(errno));
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH)) {
		fclose(f);
		return api_error(err, -EPERM,
				 "the token file %s may be read by every user (chmod o-r %s)", path,
				 path);
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *e;
		struct mm_error te = {0};

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			r = api_error(err, -EINVAL, "%s:%d: line too long", path, lineno);
			break;
		}
		s += strspn(s, " \t");
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (!*s || *s == '#')
			continue;
		if (token_add(c, s, &te) < 0) {
			r = api_error(err, te.code, "%s:%d: %s", path, lineno, te.msg);
			break;
		}
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return r;
}

int settings_load(const struct settings_args *a, struct settings *ret, struct mm_error *err)
{
	struct settings c;
	const char *path = a->path ? a->path : MM32_CONFIG_FILE;
	int r;

	settings_defaults(&c);
	if (path[0]) {
		r = read_file(&c, path, a->path == NULL, err);
		if (r < 0)
			goto fail;
	}
	for (size_t i = 0, origins = 0; i < a->n; i++) {
		const struct key *k = key_find(a->opt[i].key);
		struct mm_error e = {0};

		/* the command line's origins replace the file's */
		if (k && k->type == K_ORIGIN && !origins++)
			c.ncors_origins = 0;
		r = k ? key_set(&c, k, a->opt[i].value, &e) : -EINVAL;
		if (r < 0) {
			api_error(err, r, "--%s: %s", a->opt[i].key, k ? e.msg : "unknown option");
			goto fail;
		}
	}
	r = read_token_file(&c, err);
	if (r < 0)
		goto fail;
	*ret = c;
	return 0;
fail:
	settings_finish(&c);
	return r;
}

/* ---- the command line -------------------------------------------------------------------- */

enum { OPT_CONFIG = 1000, OPT_CHECK, OPT_HELP, OPT_VERSION };

void settings_usage(FILE *f)
{
	fprintf(f,
		"Usage: mm32d [OPTION]...\n"
		"Host emulated i386 PCs running Linux 6.1's memory manager, over HTTP/JSON.\n\n");
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		char left[64];
		const char *h;

		if (!k->help)
			continue;
		snprintf(left, sizeof(left), "--%s%s%s", k->name, k->arg ? " " : "",
			 k->arg ? k->arg : "");
		fprintf(f, "  %-25s ", left);
		for (h = k->help; *h;) {
			size_t n = strcspn(h, "\n");

			fprintf(f, "%.*s\n", (int)n, h);
			h += n;
			if (*h == '\n') {
				h++;
				fprintf(f, "  %-25s ", "");
			}
		}
	}
	fprintf(f,
		"  %-25s %s\n  %-25s %s\n  %-25s %s\n  %-25s %s\n\n"
		"Every option is also a key of the configuration file (ini, section [mm32d]);\n"
		"the command line wins. SIGHUP reads the file again (log-level, limits, tokens).\n",
		"--config PATH", "configuration file (default " MM32_CONFIG_FILE "; \"\": none)",
		"--check-config", "check the configuration, print it and exit", "--help",
		"show this help and exit", "--version", "show the version and exit");
}

int settings_args_parse(int argc, char **argv, struct settings_args *a)
{
	struct option longopts[NKEYS + 5];
	size_t n = 0;
	int c, idx;

	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < NKEYS; i++) {
		if (!keys[i].help)
			continue;
		longopts[n++] = (struct option){
			keys[i].name, keys[i].arg ? required_argument : no_argument, NULL, (int)i};
	}
	longopts[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
	longopts[n++] = (struct option){"check-config", no_argument, NULL, OPT_CHECK};
	longopts[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
	longopts[n++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	longopts[n] = (struct option){0};

	/* getopt_long() takes any unambiguous prefix of an option: "--token SECRET" would be
	 * --token-file, and the secret would end up in an error message. Whole names only. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const struct option *o = NULL;
		size_t len;

		if (strncmp(argv[i], "--", 2))
			continue;
		len = strcspn(argv[i] + 2, "=");
		for (size_t k = 0; k < n && !o; k++)
			if (strlen(longopts[k].name) == len &&
			    !strncmp(longopts[k].name, argv[i] + 2, len))
				o = &longopts[k];
		if (!o) {
			fprintf(stderr, "mm32d: unknown option '%.*s'\n", (int)len + 2, argv[i]);
			return -EINVAL;
		}
		/* its value, in the next argument, may start with "--" */
		if (o->has_arg == required_argument && !argv[i][2 + len])
			i++;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			a->path = optarg;
			break;
		case OPT_CHECK:
			a->check = true;
			break;
		case OPT_HELP:
			settings_usage(stdout);
			return 1;
		case OPT_VERSION:
			printf("mm32d %s (reference kernel %s)\n", MM32_VERSION, MM_VERSION_KERNEL);
			return 1;
		default:
			if (c < 0 || c >= (int)NKEYS)
				return -EINVAL; /* getopt printed what it did not like */
			if (a->n == SETTINGS_ARGS_MAX) {
				fprintf(stderr, "mm32d: too many options\n");
				return -EINVAL;
			}
			a->opt[a->n].key = keys[c].name;
			a->opt[a->n].value = keys[c].arg ? optarg : "true";
			a->n++;
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mm32d: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* ---- reporting --------------------------------------------------------------------------- */

/* The value of @k in @c as text (tokens: how many). */
static void key_format(const struct settings *c, const struct key *k, char *buf, size_t size)
{
	const void *field = (const char *)c + k->off;

	switch (k->type) {
	case K_MODE:
		snprintf(buf, size, "%04o", *(const unsigned int *)field);
		break;
	case K_UINT:
		snprintf(buf, size, "%u", *(const unsigned int *)field);
		break;
	case K_SIZE:
		snprintf(buf, size, "%zu", *(const size_t *)field);
		break;
	case K_BOOL:
		snprintf(buf, size, "%s", *(const bool *)field ? "true" : "false");
		break;
	case K_LEVEL:
		snprintf(buf, size, "%s", log_level_name(*(const enum log_level *)field));
		break;
	case K_SYNC:
		snprintf(buf, size, "%s", store_sync_name(*(const enum store_sync *)field));
		break;
	case K_TOKEN:
		snprintf(buf, size, "%zu", c->ntokens);
		break;
	case K_ORIGIN: {
		size_t off = 0;

		buf[0] = '\0';
		for (size_t i = 0; i < c->ncors_origins && off < size; i++)
			off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? " " : "",
						c->cors_origins[i]);
		break;
	}
	default:
		snprintf(buf, size, "%s", (const char *)field);
		break;
	}
}

void settings_restart_only_changes(const struct settings *a, const struct settings *b, char *buf,
				   size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NKEYS; i++) {
		char va[4096], vb[4096];

		if (keys[i].reloadable)
			continue;
		key_format(a, &keys[i], va, sizeof(va));
		key_format(b, &keys[i], vb, sizeof(vb));
		if (strcmp(va, vb) && off < size)
			off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? ", " : "",
						keys[i].name);
	}
}

void settings_print(const struct settings *c, FILE *f)
{
	char v[4096];

	fprintf(f, "# mm32d %s: the effective configuration (file: %s)\n[mm32d]\n", MM32_VERSION,
		c->file[0] ? c->file : "none");
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].type == K_TOKEN)
			continue;
		if (keys[i].type == K_ORIGIN) { /* one line per origin, as the file takes them */
			for (size_t k = 0; k < c->ncors_origins; k++)
				fprintf(f, "%s = %s\n", keys[i].name, c->cors_origins[k]);
			if (!c->ncors_origins)
				fprintf(f, "%s = \n", keys[i].name);
			continue;
		}
		key_format(c, &keys[i], v, sizeof(v));
		fprintf(f, "%s = %s\n", keys[i].name, v);
	}
	fprintf(f, "# tokens: %zu\n", c->ntokens);
}
