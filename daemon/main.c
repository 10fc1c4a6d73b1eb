/* SPDX-License-Identifier: MIT */
/*
 * main.c - mm32d: configuration, start-up, the signal loop, shutdown.
 *
 * Start-up order: the command line and the configuration file (settings.c) -> the
 * listeners: the sockets systemd passed (socket activation), else --listen and
 * --unix-socket; the access rule (loopback only unless tokens or --insecure) is checked
 * against them before anything is bound -> block SIGTERM/SIGINT/SIGHUP (before any thread
 * exists, so every thread inherits the mask and only the main thread's sigtimedwait()
 * sees them) -> open the store (migrations) -> restore machines (replay) -> the default
 * machine -> start HTTP -> READY=1 -> wait for signals, pinging the watchdog.
 *
 * SIGHUP reads the configuration again and applies what can change at run time (log level,
 * limits, tokens). SIGTERM/SIGINT: STOPPING=1, stop accepting, let the requests in flight
 * finish (shutdown-timeout), destroy machines, close the store (the last connection
 * checkpoints the WAL into the database file), exit 0.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#include "codec.h"
#include "log.h"
#include "metrics.h"
#include "problem.h"
#include "registry.h"
#include "server.h"
#include "service.h"
#include "settings.h"
#include "store.h"
#include "templates.h"

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

/* ---- listeners ------------------------------------------------------------------------------ */

struct listeners {
	struct api_listener v[API_LISTENERS_MAX];
	struct sockaddr_storage addr[API_LISTENERS_MAX];
	char name[API_LISTENERS_MAX][128]; /* for the log and STATUS= */
	size_t n;
	bool activated;	    /* from systemd */
	bool loopback_only; /* every TCP listener is a loopback address */
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* created by us */
};

static void addr_name(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";

	if (sa->sa_family == AF_UNIX) {
		snprintf(buf, size, "unix:%s", ((const struct sockaddr_un *)sa)->sun_path);
		return;
	}
	getnameinfo(sa,
		    sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					      : sizeof(struct sockaddr_in),
		    host, sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(buf, size, "%s%s%s:%s", sa->sa_family == AF_INET6 ? "[" : "", host,
		 sa->sa_family == AF_INET6 ? "]" : "", serv);
}

/* A UNIX stream socket at @path with mode @mode, listening. A stale socket file left by a
 * process that is gone is replaced; a live one, or another kind of file, is an error. */
static int unix_listen(const char *path, unsigned int mode, int *ret_fd, struct mm_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int fd, r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return api_error(err, -EEXIST, "%s exists and is not a socket", path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return api_error(err, -EADDRINUSE, "%s: another process listens there",
					 path);
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return api_error(err, -errno, "socket: %s", strerror(errno));
	/* never more open than @mode, not even between bind() and chmod() */
	old = umask(~mode & 0777);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(path, mode) < 0 || listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		close(fd);
		return api_error(err, r, "cannot listen on %s: %s", path, strerror(-r));
	}
	*ret_fd = fd;
	return 0;
}

/* Where to listen: what systemd passed, else the configuration; not bound yet for TCP. */
static int listeners_plan(const struct settings *cfg, struct listeners *ls, struct mm_error *err)
{
	struct service_socket ss[SERVICE_SOCKETS_MAX];
	socklen_t len;
	int n = service_listen_fds(ss, SERVICE_SOCKETS_MAX, err);

	if (n < 0)
		return n;
	ls->loopback_only = true;
	if (n > 0) {
		ls->activated = true;
		for (int i = 0; i < n && i < API_LISTENERS_MAX; i++) {
			memcpy(&ls->addr[i], &ss[i].addr, sizeof(ss[i].addr));
			ls->v[i] = (struct api_listener){.fd = ss[i].fd, .local = ss[i].local};
			addr_name((struct sockaddr *)&ss[i].addr, ls->name[i], sizeof(ls->name[i]));
			if (!ss[i].local &&
			    !settings_addr_is_loopback((struct sockaddr *)&ss[i].addr))
				ls->loopback_only = false;
			ls->n++;
		}
		return 0;
	}
	if (settings_parse_listen(cfg->listen, &ls->addr[0], &len) < 0)
		return api_error(err, -EINVAL, "--listen: cannot use '%s'", cfg->listen);
	ls->v[0] = (struct api_listener){
		.fd = -1, .addr = (struct sockaddr *)&ls->addr[0], .addrlen = len};
	addr_name((struct sockaddr *)&ls->addr[0], ls->name[0], sizeof(ls->name[0]));
	ls->loopback_only = settings_addr_is_loopback((struct sockaddr *)&ls->addr[0]);
	ls->n = 1;
	if (cfg->unix_socket[0]) {
		ls->v[1] = (struct api_listener){.fd = -1, .local = true};
		snprintf(ls->name[1], sizeof(ls->name[1]), "unix:%s", cfg->unix_socket);
		ls->n = 2;
	}
	return 0;
}

/* Create the UNIX socket of the configuration (not the ones systemd passes). */
static int listeners_bind_unix(const struct settings *cfg, struct listeners *ls,
			       struct mm_error *err)
{
	for (size_t i = 0; i < ls->n; i++) {
		int r;

		if (!ls->v[i].local || ls->v[i].fd >= 0)
			continue;
		r = unix_listen(cfg->unix_socket, cfg->unix_socket_mode, &ls->v[i].fd, err);
		if (r < 0)
			return r;
		snprintf(ls->unix_path, sizeof(ls->unix_path), "%s", cfg->unix_socket);
	}
	return 0;
}

/* ---- the daemon ----------------------------------------------------------------------------- */

struct daemon {
	struct settings_args args;
	struct settings cfg;
	struct listeners ls;
	struct registry *reg;
	struct api_server *srv;
	struct api_host host;
	char where[512]; /* the listeners, for STATUS= */
};

/* @origins: room for SETTINGS_ORIGINS_MAX pointers to @c's origins */
static struct api_limits limits_of(const struct settings *c, char **origins)
{
	for (size_t i = 0; i < c->ncors_origins; i++)
		origins[i] = (char *)c->cors_origins[i];
	return (struct api_limits){.max_body = c->max_body,
				   .cors_origins = origins,
				   .ncors_origins = c->ncors_origins,
				   .max_event_streams = c->max_event_streams,
				   .max_client_event_streams = c->max_client_event_streams,
				   .event_heartbeat = c->event_heartbeat,
				   .max_connections = c->max_connections,
				   .max_client_connections = c->max_client_connections,
				   .request_timeout = c->request_timeout,
				   .rate_limit = c->rate_limit,
				   .rate_burst = c->rate_burst,
				   .tokens = c->tokens,
				   .ntokens = c->ntokens};
}

/* max-host-memory, with 0 meaning three quarters of the host's RAM. */
static uint64_t host_memory_cap(const struct settings *c)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	if (c->max_host_memory)
		return c->max_host_memory;
	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size / 4 * 3 : 0;
}

static void apply_machine_caps(struct daemon *d, const struct settings *c)
{
	struct mm_error err = {0};

	registry_set_limits(d->reg, c->max_machines, host_memory_cap(c));
	registry_set_machine_limits(d->reg, c->max_snapshots_per_machine, c->max_session_commands);
	if (store_set_max_size(registry_store(d->reg), c->max_db_size, &err) < 0)
		log_error("max-db-size: %s", err.msg);
}

static size_t machine_count(struct daemon *d)
{
	json_t *ids;
	struct mm_error err;
	size_t n;

	if (d->host.ops->machine_ids(d->host.data, &ids, &err) < 0)
		return 0;
	n = json_array_size(ids);
	json_decref(ids);
	return n;
}

static void notify_status(struct daemon *d, const char *prefix)
{
	size_t n = machine_count(d);

	service_notify("%sSTATUS=Serving %zu machine%s on %s%s", prefix, n, n == 1 ? "" : "s",
		       d->where, d->cfg.ntokens ? " (bearer tokens required on TCP)" : "");
}

static uint64_t now_usec(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* SIGHUP: the configuration again; only what may change at run time is applied. */
static void reload(struct daemon *d)
{
	struct settings n;
	struct mm_error err = {0};
	char changed[512];
	struct api_limits lim;
	char *origins[SETTINGS_ORIGINS_MAX];

	service_notify("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)now_usec());
	if (settings_load(&d->args, &n, &err) < 0) {
		log_error("reload: %s; the running configuration stays", err.msg);
		goto out;
	}
	if (settings_check_access(&n, d->ls.loopback_only, &err) < 0) {
		log_error("reload: %s; the running configuration stays", err.msg);
		settings_finish(&n);
		goto out;
	}
	lim = limits_of(&n, origins);
	if (api_server_set_limits(d->srv, &lim) < 0) {
		log_error("reload: out of memory; the running configuration stays");
		settings_finish(&n);
		goto out;
	}
	settings_restart_only_changes(&d->cfg, &n, changed, sizeof(changed));
	if (changed[0])
		log_warn("reload: %s changed, which takes effect at the next start", changed);
	log_set_level(n.level);
	/* the running configuration: the old one, with what a reload may change */
	d->cfg.level = n.level;
	d->cfg.max_body = n.max_body;
	d->cfg.max_connections = n.max_connections;
	d->cfg.max_client_connections = n.max_client_connections;
	d->cfg.request_timeout = n.request_timeout;
	d->cfg.max_machines = n.max_machines;
	d->cfg.max_host_memory = n.max_host_memory;
	d->cfg.max_db_size = n.max_db_size;
	d->cfg.max_snapshots_per_machine = n.max_snapshots_per_machine;
	d->cfg.max_session_commands = n.max_session_commands;
	apply_machine_caps(d, &d->cfg);
	d->cfg.rate_limit = n.rate_limit;
	d->cfg.rate_burst = n.rate_burst;
	d->cfg.shutdown_timeout = n.shutdown_timeout;
	memcpy(d->cfg.cors_origins, n.cors_origins, sizeof(n.cors_origins));
	d->cfg.ncors_origins = n.ncors_origins;
	d->cfg.max_event_streams = n.max_event_streams;
	d->cfg.max_client_event_streams = n.max_client_event_streams;
	d->cfg.event_heartbeat = n.event_heartbeat;
	memcpy(d->cfg.token_file, n.token_file, sizeof(n.token_file));
	settings_finish(&d->cfg);
	d->cfg.tokens = n.tokens;
	d->cfg.ntokens = n.ntokens;
	n.tokens = NULL;
	n.ntokens = 0;
	settings_finish(&n);
	/* at warn: it is seen whatever level the new configuration asks for */
	log_warn("configuration reloaded%s%s: log-level %s, max-body %zu, max-connections %u "
		 "(%u per client), request-timeout %us, rate-limit %u/s (burst %u), "
		 "shutdown-timeout %us, %zu token(s)",
		 d->cfg.file[0] ? " from " : "", d->cfg.file, log_level_name(d->cfg.level),
		 d->cfg.max_body, d->cfg.max_connections, d->cfg.max_client_connections,
		 d->cfg.request_timeout, d->cfg.rate_limit, d->cfg.rate_burst,
		 d->cfg.shutdown_timeout, d->cfg.ntokens);
out:
	notify_status(d, "READY=1\n");
}

/* The machine of a request path "/v1/machines/<id>/...", for the journal's MM32_MACHINE. */
static void path_machine(const char *url, char *buf, size_t size)
{
	static const char prefix[] = "/v1/machines/";
	size_t n;

	buf[0] = '\0';
	if (strncmp(url, prefix, sizeof(prefix) - 1))
		return;
	url += sizeof(prefix) - 1;
	n = strcspn(url, "/");
	if (n && n < size)
		snprintf(buf, size, "%.*s", (int)n, url);
}

static void on_request(void *data, const char *method, const char *url, unsigned int status,
		       double ms)
{
	char st[8], dur[32], machine[API_NAME_MAX];
	const char *fields[] = {
		"MM32_METHOD",	    method, "MM32_PATH",    url,     "MM32_STATUS", st,
		"MM32_DURATION_MS", dur,    "MM32_MACHINE", machine, NULL};

	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	snprintf(st, sizeof(st), "%u", status);
	snprintf(dur, sizeof(dur), "%.3f", ms);
	path_machine(url, machine, sizeof(machine));
	if (!machine[0])
		fields[8] = NULL;
	log_fields(LOG_LEVEL_INFO, fields, "%s %s %u %.1fms", method, url, status, ms);
}

static void on_http_error(void *data, const char *msg)
{
	log_warn("http: %s", msg);
}

static int create_default_machine(struct daemon *d, struct mm_error *err)
{
	struct mm_config *cfg;
	int r;

	if (d->cfg.no_default_machine || registry_contains(d->reg, "default"))
		return 0;
	cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return api_error(err, -ENOMEM, "out of memory");
	mm_config_init(cfg, false);
	cfg->mem = 1ULL << 30;
	cfg->cpus = 1;
	cfg->cmdline[0] = '\0';
	r = registry_add(d->reg, "default", cfg, err);
	free(cfg);
	return r;
}

/* --check-config: the configuration, its access rule, printed; exit 0 or 1. */
static int check_config(struct daemon *d)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct mm_error err = {0};

	if (settings_parse_listen(d->cfg.listen, &ss, &len) < 0) {
		fprintf(stderr, "mm32d: listen: cannot use '%s'\n", d->cfg.listen);
		return EXIT_FAILURE;
	}
	if (settings_check_access(&d->cfg, settings_addr_is_loopback((struct sockaddr *)&ss),
				  &err) < 0) {
		fprintf(stderr, "mm32d: %s\n", err.msg);
		return EXIT_FAILURE;
	}
	settings_print(&d->cfg, stdout);
	if (!settings_addr_is_loopback((struct sockaddr *)&ss) && !d->cfg.ntokens)
		fprintf(stderr,
			"mm32d: warning: --insecure: %s is served to anyone without a "
			"token\n",
			d->cfg.listen);
	printf("# configuration OK\n");
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	static struct daemon d;
	struct store *st = NULL;
	struct api_metrics *metrics = NULL;
	struct mm_error err = {0};
	char db[PATH_MAX];
	uint64_t watchdog, next_ping = 0;
	sigset_t sigs;
	int sig = 0, r, ret = EXIT_FAILURE;

	r = settings_args_parse(argc, argv, &d.args);
	if (r > 0)
		return EXIT_SUCCESS;
	if (r < 0) {
		settings_usage(stderr);
		return 2;
	}
	if (settings_load(&d.args, &d.cfg, &err) < 0) {
		fprintf(stderr, "mm32d: %s\n", err.msg);
		return d.args.check ? EXIT_FAILURE : 2;
	}
	if (d.args.check) {
		ret = check_config(&d);
		settings_finish(&d.cfg);
		return ret;
	}
	log_init(d.cfg.level);
	if (listeners_plan(&d.cfg, &d.ls, &err) < 0 ||
	    settings_check_access(&d.cfg, d.ls.loopback_only, &err) < 0) {
		log_error("%s", err.msg);
		settings_finish(&d.cfg);
		return 2;
	}
	if (d.cfg.insecure && !d.ls.loopback_only && !d.cfg.ntokens)
		log_warn("--insecure: serving a non-loopback address without bearer tokens");

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (d.cfg.db[0])
		snprintf(db, sizeof(db), "%s", d.cfg.db);
	else if (default_db_path(db, sizeof(db)) < 0) {
		log_error("cannot find a place for the database; use --db");
		goto out;
	}
	r = mkdir_parents(db);
	if (r < 0) {
		log_error("cannot create the directory of %s: %s", db, strerror(-r));
		goto out;
	}
	if (store_open(db, &st, &err) < 0 || store_set_sync(st, d.cfg.sync, &err) < 0) {
		log_error("%s", err.msg);
		goto out;
	}
	log_info("database %s (sync %s)", db, store_sync_name(d.cfg.sync));
	if (registry_create(st, &d.reg, &err) < 0) {
		log_error("%s", err.msg);
		goto out;
	}
	apply_machine_caps(&d, &d.cfg);
	log_info("caps: %u machines, %llu MiB of host memory for them", d.cfg.max_machines,
		 (unsigned long long)(host_memory_cap(&d.cfg) >> 20));
	if (registry_load(d.reg, &err) < 0) {
		log_error("%s", err.msg);
		goto out;
	}
	if (create_default_machine(&d, &err) < 0) {
		log_error("cannot create the default machine: %s", err.msg);
		goto out;
	}
	if (api_metrics_create(&metrics) < 0) {
		log_error("out of memory");
		goto out;
	}
	d.host = registry_host(d.reg);
	d.host.metrics = metrics;
	if (listeners_bind_unix(&d.cfg, &d.ls, &err) < 0) {
		log_error("%s", err.msg);
		goto out;
	}
	{
		char *origins[SETTINGS_ORIGINS_MAX];
		struct api_server_options so = {
			.listeners = d.ls.v,
			.nlisteners = d.ls.n,
			.threads = d.cfg.threads,
			.limits = limits_of(&d.cfg, origins),
			.on_request = on_request,
			.on_error = on_http_error,
		};

		if (api_server_start(&so, &d.host, &d.srv, &err) < 0) {
			log_error("%s (listening on %s)", err.msg, d.ls.name[0]);
			goto out;
		}
	}
	for (size_t i = 0, off = 0; i < d.ls.n; i++) {
		/* the port actually bound: --listen may say port 0 */
		if (!d.ls.v[i].local && !d.ls.activated) {
			char *colon = strrchr(d.ls.name[i], ':');

			if (colon)
				snprintf(colon + 1,
					 sizeof(d.ls.name[i]) - (size_t)(colon + 1 - d.ls.name[i]),
					 "%u", api_server_port(d.srv, i));
		}
		log_info("mm32d %s listening on %s%s", MM32_VERSION, d.ls.name[i],
			 d.ls.activated ? " (socket activation)" : "");
		if (off < sizeof(d.where))
			off += (size_t)snprintf(d.where + off, sizeof(d.where) - off, "%s%s",
						i ? ", " : "", d.ls.name[i]);
	}

	/* the listeners are bound and the database is open: ready */
	notify_status(&d, "READY=1\n");
	watchdog = service_watchdog_usec();
	if (watchdog) {
		/* ping at half the interval, as sd_watchdog_enabled(3) recommends */
		watchdog /= 2;
		service_notify("WATCHDOG=1");
		next_ping = now_usec() + watchdog;
	}
	for (;;) {
		struct timespec ts, *timeout = NULL;
		uint64_t now;

		if (watchdog) {
			now = now_usec();
			if (now >= next_ping) {
				service_notify("WATCHDOG=1");
				next_ping = now + watchdog;
			}
			ts.tv_sec = (time_t)((next_ping - now) / 1000000);
			ts.tv_nsec = (long)((next_ping - now) % 1000000) * 1000;
			timeout = &ts;
		}
		sig = sigtimedwait(&sigs, NULL, timeout);
		if (sig < 0)
			continue; /* the watchdog's time, or EINTR */
		if (sig == SIGHUP) {
			reload(&d);
			continue;
		}
		break;
	}
	service_notify("STOPPING=1\nSTATUS=Stopping: finishing %u request(s) in flight",
		       api_server_in_flight(d.srv));
	log_info("signal %d (%s): shutting down", sig, strsignal(sig));
	r = (int)api_server_shutdown(d.srv, d.cfg.shutdown_timeout * 1000);
	d.srv = NULL;
	if (r)
		log_warn("%d request(s) still running after %us were cut", r,
			 d.cfg.shutdown_timeout);
	ret = EXIT_SUCCESS;
out:
	api_server_stop(d.srv);
	if (d.ls.unix_path[0])
		unlink(d.ls.unix_path);
	registry_destroy(d.reg);
	templates_clear();
	/* closing the store checkpoints the WAL: every journal entry is in the database file */
	store_close(st);
	api_metrics_destroy(metrics);
	if (ret == EXIT_SUCCESS && sig)
		log_info("stopped");
	settings_finish(&d.cfg);
	return ret;
}
