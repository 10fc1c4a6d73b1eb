/* SPDX-License-Identifier: MIT */
/*
 * service.c - sd_notify, the watchdog and socket activation (see service.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config.h"

#if HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "problem.h"
#include "service.h"

bool service_supported(void)
{
	return HAVE_SYSTEMD;
}

void service_notify(const char *fmt, ...)
{
#if HAVE_SYSTEMD
	char buf[1024];
	va_list ap;

	if (!getenv("NOTIFY_SOCKET"))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notify(0, buf);
#else
	(void)fmt;
#endif
}

uint64_t service_watchdog_usec(void)
{
#if HAVE_SYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return usec;
#endif
	return 0;
}

int service_listen_fds(struct service_socket *out, size_t max, struct mm_error *err)
{
#if HAVE_SYSTEMD
	/* unset $LISTEN_*: nothing we start may think the sockets are its own */
	int n = sd_listen_fds(1);

	if (n < 0)
		return api_error(err, n, "socket activation: %s", strerror(-n));
	if ((size_t)n > max)
		return api_error(err, -EINVAL, "socket activation: %d sockets, at most %zu", n,
				 max);
	for (int i = 0; i < n; i++) {
		struct service_socket *s = &out[i];

		s->fd = SD_LISTEN_FDS_START + i;
		if (sd_is_socket(s->fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0)
			return api_error(err, -EINVAL,
					 "socket activation: fd %d is not a listening stream "
					 "socket (ListenStream= in the socket unit)",
					 s->fd);
		s->addrlen = sizeof(s->addr);
		if (getsockname(s->fd, (struct sockaddr *)&s->addr, &s->addrlen) < 0)
			return api_error(err, -errno, "socket activation: fd %d: %s", s->fd,
					 strerror(errno));
		switch (s->addr.ss_family) {
		case AF_UNIX:
			s->local = true;
			break;
		case AF_INET:
		case AF_INET6:
			s->local = false;
			break;
		default:
			return api_error(
				err, -EINVAL,
				"socket activation: fd %d is neither TCP nor a UNIX socket", s->fd);
		}
	}
	return n;
#else
	(void)out;
	(void)max;
	(void)err;
	return 0;
#endif
}
